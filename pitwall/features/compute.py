"""Compute the (race, driver) feature frame from ``FeatureInputs``: one function, all moments.

Used by ``FeatureStore.get_features`` when no fresh materialised table exists, and by the
table builder; so both paths produce the same values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from pitwall.features.driver import driver_features
from pitwall.features.inputs import FeatureInputs, race_seq
from pitwall.features.session import session_features
from pitwall.features.spec import FEATURES, GROUPS, KEY_COLUMNS, group_features
from pitwall.features.team import team_features


def feature_columns(groups: Sequence[str] = GROUPS) -> list[str]:
    """Built-in feature columns of the given groups, in spec order."""
    return [name for g in groups for name in group_features(g)]


def prepare_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Target rows in canonical form: key columns typed, ``seq`` added, fresh index."""
    out = pd.DataFrame(
        {
            "season": rows["season"].astype("int64").to_numpy(),
            "round": rows["round"].astype("int64").to_numpy(),
        }
    )
    if "race_id" in rows:
        out["race_id"] = rows["race_id"].astype("string").to_numpy()
    else:
        out["race_id"] = [f"{s}-{r:02d}" for s, r in zip(out["season"], out["round"], strict=True)]
    for col in ("driver_id", "constructor_id", "circuit_id"):
        out[col] = rows[col].astype("string").to_numpy() if col in rows else pd.NA
        out[col] = out[col].astype("string")
    out["seq"] = race_seq(out["season"], out["round"])
    return out


def compute_features(
    inp: FeatureInputs,
    moment: str = "pre_race",
    groups: Sequence[str] = GROUPS,
    rows: pd.DataFrame | None = None,
    seasons: Iterable[int] | None = None,
    min_seq: int | None = None,
) -> pd.DataFrame:
    """Key columns plus every built-in feature of ``groups`` for ``rows`` (default: all entrants).

    ``seasons`` / ``min_seq`` restrict the default row set. Numeric features are float64 (NaN =
    null); ``observed_weather`` is a string (null at every moment: known only after the race).
    """
    if rows is None:
        rows = inp.entrants
        if seasons is not None:
            rows = rows[rows["season"].isin([int(s) for s in seasons])]
        if min_seq is not None:
            rows = rows[rows["seq"] >= min_seq]
    rows = inp.add_keys(prepare_rows(rows))
    parts = [rows[list(KEY_COLUMNS)]]
    if "driver" in groups:
        parts.append(driver_features(inp, rows))
    if "team" in groups:
        parts.append(team_features(inp, rows))
    if "session" in groups:
        parts.append(session_features(inp, rows))
    out = pd.concat(parts, axis=1)
    out = out[list(KEY_COLUMNS) + feature_columns(groups)].reset_index(drop=True)
    return at_moment(out, moment)


def at_moment(frame: pd.DataFrame, moment: str) -> pd.DataFrame:
    """``frame`` with the features a moment cannot see nulled (e.g. ``start_position`` pre_qualifying).

    Every other feature is the same at both moments: history features use races before R only.
    """
    out = frame.copy()
    for name in out.columns:
        spec = FEATURES.get(name)
        if spec is not None and moment not in spec.moments:
            out[name] = out[name].where(pd.Series(False, index=out.index))
    return out
