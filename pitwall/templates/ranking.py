"""Frame builders of the ranking templates (rank the drivers of an event)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pitwall.features import FeatureStore
from pitwall.templates.frames import driver_race, grid_score, practice_score


def race_result_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows with ``position`` (finish; null = not classified) and the grid baseline."""
    df = driver_race(fs, seasons, "pre_race")
    df["position"] = df["position"].astype("float64")
    df["baseline_grid"] = grid_score(df)
    return df


def qualifying_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-qualifying rows with ``quali_position`` and the practice-order baseline."""
    df = driver_race(fs, seasons, "pre_qualifying")
    df["quali_position"] = df["quali_position"].astype("float64")
    df["baseline_practice"] = practice_score(df)
    return df


def fastest_lap_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows; ``fastest_lap_position`` is 1 for the driver who set the race's fastest lap
    (null for everyone else, i.e. 'not in the top 1'); grid-order baseline."""
    df = driver_race(fs, seasons, "pre_race")
    df["fastest_lap_position"] = np.where(df["fastest_lap"].astype(bool), 1.0, np.nan)
    df["baseline_grid"] = grid_score(df)
    # races without a recorded fastest lap cannot be scored
    has = df.groupby("race_id")["fastest_lap"].transform("any").astype(bool)
    return df[has.to_numpy()].reset_index(drop=True)
