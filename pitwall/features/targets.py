"""Targets (what happened in race R) per (race, driver), kept apart from the feature frames.

Templates join these to feature frames on ``season, round, race_id, driver_id``. Rows are
the same entrants as the feature frames (``FeatureInputs.entrants``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pitwall.features.inputs import FeatureInputs
from pitwall.features.spec import NOT_ENTRANTS

TARGET_COLUMNS: dict[str, str] = {
    "position": "classified finishing position (null = not classified)",
    "position_order": "order in the published classification (1..n), always set for starters",
    "finished": "classified finisher",
    "dnf": "not classified (retired, disqualified, not classified, did not start)",
    "points": "Grand Prix points (all the driver's cars when he shared one)",
    "sprint_points": "sprint points of the weekend (0 without a sprint)",
    "fastest_lap": "set the fastest lap of the race",
    "quali_position": "qualifying position",
    "grid_position": "starting-grid slot (pit-lane start = number of cars on the grid)",
}


def target_frame(inp: FeatureInputs, seasons: Iterable[int] | None = None) -> pd.DataFrame:
    """Targets for every entrant: keys plus ``TARGET_COLUMNS``."""
    rows = inp.entrants
    if seasons is not None:
        rows = rows[rows["season"].isin([int(s) for s in seasons])]
    keys = rows[["season", "round", "race_id", "driver_id"]].reset_index(drop=True)
    res = inp["results"]
    res = res[~res["position_text"].isin(NOT_ENTRANTS)].sort_values(
        ["race_id", "driver_id", "position_order"], kind="stable"
    )
    best = res.drop_duplicates(["race_id", "driver_id"], keep="first")[
        ["race_id", "driver_id", "position", "position_order", "finished"]
    ]
    pts = res.groupby(["race_id", "driver_id"], observed=True)["points"].sum().astype("float64").rename("points")
    spr = inp["sprint_results"].groupby(["race_id", "driver_id"], observed=True)["points"].sum().astype("float64")
    fl = inp["fastest_laps"]
    fastest = fl[fl["position"] == 1][["race_id", "driver_id"]].drop_duplicates().assign(fastest_lap=True)
    q = inp.quali[["race_id", "driver_id", "quali_position"]]
    g = inp.grid[["race_id", "driver_id", "start_position"]].rename(columns={"start_position": "grid_position"})
    out = keys.merge(best.astype({"race_id": "string", "driver_id": "string"}), on=["race_id", "driver_id"], how="left")
    out = out.join(pts, on=["race_id", "driver_id"]).join(spr.rename("sprint_points"), on=["race_id", "driver_id"])
    out = out.merge(
        fastest.astype({"race_id": "string", "driver_id": "string"}), on=["race_id", "driver_id"], how="left"
    )
    out = out.merge(q, on=["race_id", "driver_id"], how="left").merge(g, on=["race_id", "driver_id"], how="left")
    out["position"] = out["position"].astype("Int64")
    out["position_order"] = out["position_order"].astype("Int64")
    out["finished"] = out["finished"].astype("boolean").fillna(False).astype(bool)
    out["dnf"] = ~out["finished"]
    out["points"] = out["points"].fillna(0.0)
    out["sprint_points"] = out["sprint_points"].fillna(0.0)
    out["fastest_lap"] = out["fastest_lap"].astype("boolean").fillna(False).astype(bool)
    out["quali_position"] = out["quali_position"].astype("Int64")
    out["grid_position"] = out["grid_position"].astype("Int64")
    return out[["season", "round", "race_id", "driver_id", *TARGET_COLUMNS]]
