"""Frame builders shared by the templates: feature-store frames joined to their targets.

Every frame is point-in-time: features come from ``pitwall.features`` (computed as of the
template's moment) and targets from what happened; baselines use only earlier races.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pitwall.features import FeatureStore
from pitwall.features.spec import group_features

COMPOUND_CODES = {"SOFT": 1.0, "MEDIUM": 2.0, "HARD": 3.0, "INTERMEDIATE": 4.0, "WET": 5.0}
CIRCUIT_TYPE_CODES = {"RACE": 0.0, "ROAD": 1.0, "STREET": 2.0}
NO_GRID = 30.0  # grid slot used for a pit-lane start / no grid position in the grid baseline

DRIVER_FEATURES = tuple(group_features("driver"))
TEAM_FEATURES = tuple(group_features("team"))
PRE_RACE_SESSION = ("quali_gap_to_pole", "fp_pace_ranking", "start_position", "tire_deg_rate")
PRE_QUALI_SESSION = ("fp_pace_ranking", "tire_deg_rate")


def encode(series: pd.Series, codes: dict[str, float]) -> pd.Series:
    """Map a categorical column to documented numeric codes (unknown / null -> NaN)."""
    return series.astype("object").map(codes).astype("float64")


def driver_race(fs: FeatureStore, seasons: Sequence[int], moment: str) -> pd.DataFrame:
    """(race, driver) features at ``moment`` joined to the targets of ``pitwall.features.targets``."""
    if not seasons:
        raise ValueError("seasons: no season in range for this template")
    feats = fs.get_features(seasons=list(seasons), moment=moment, include_targets=True)
    return feats


def grid_score(df: pd.DataFrame) -> pd.Series:
    """Grid-order baseline as a ranking score (higher = better): minus the grid slot."""
    return -df["start_position"].astype("float64").fillna(NO_GRID)


def practice_score(df: pd.DataFrame) -> pd.Series:
    """Practice-order baseline: minus the driver's practice pace ranking (unknown = last)."""
    return -df["fp_pace_ranking"].astype("float64").fillna(NO_GRID)


def prior_majority(df: pd.DataFrame, label: str, order: Sequence[str] = ("season", "round")) -> pd.Series:
    """For each row, the most frequent ``label`` over rows of races strictly before it (NaN-free).

    Ties and the first races fall back to the first label in sorted order.
    """
    races = df[["race_id", *order]].drop_duplicates("race_id").sort_values(list(order))
    counts = pd.crosstab(df["race_id"], df[label]).reindex(races["race_id"]).fillna(0)
    prior = counts.cumsum().shift(1).fillna(0)
    labels = sorted(counts.columns.tolist(), key=str)
    prior = prior[labels]
    best = pd.Series(np.asarray(labels, dtype=object)[prior.to_numpy().argmax(axis=1)], index=prior.index)
    return df["race_id"].map(best)


def prior_mean(df: pd.DataFrame, value: str, by: Sequence[str] = ()) -> pd.Series:
    """For each row, the mean of ``value`` over rows of races strictly before its race
    (within the same ``by`` group); NaN when there is no earlier race."""
    keys = [*by, "season", "round", "race_id"]
    per_race = df.groupby(keys, observed=True, dropna=False)[value].agg(["sum", "count"]).reset_index()
    per_race = per_race.sort_values(["season", "round"])
    g = per_race.groupby(list(by), observed=True, dropna=False) if by else None
    csum = (g["sum"].cumsum() if g is not None else per_race["sum"].cumsum()) - per_race["sum"]
    ccount = (g["count"].cumsum() if g is not None else per_race["count"].cumsum()) - per_race["count"]
    per_race["prior"] = (csum / ccount.replace(0, np.nan)).astype("float64")
    out = df[[*by, "race_id"]].merge(per_race[[*by, "race_id", "prior"]], on=[*by, "race_id"], how="left")
    return pd.Series(out["prior"].to_numpy(), index=df.index)
