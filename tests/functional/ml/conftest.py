"""A small real training frame for pitwall.ml tests, built straight from F1DB YAML.

Seasons 2022-2023 (44 races, ~880 driver rows) read from ``../shared/data/f1db`` with
``yaml.CSafeLoader``. Features are computed from earlier races only (no look-ahead):

- ``grid``: starting grid position (NaN for a pit-lane start);
- ``prev_position``: the driver's finishing position in his previous race (NaN if none or
  not classified);
- ``avg_pos_last3``: mean finishing position over his previous 3 races (unclassified = 21);
- ``season_points_before``: his points in the season before this race;
- ``team_prev_best``: the best finish of his constructor in its previous race.

Targets: ``position`` (nullable Int64, null = not classified), ``podium`` (bool),
``finish_group`` (``"win"``, ``"podium"``, ``"points"``, ``"none"``) and ``points`` (float).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pitwall.config import default_data_dir

SEASONS = (2022, 2023)
UNCLASSIFIED = 21.0


def _race_rows(season: int, race_dir: Path) -> list[dict]:
    with open(race_dir / "race.yml", encoding="utf-8") as fh:
        race = yaml.load(fh, Loader=yaml.CSafeLoader)
    with open(race_dir / "race-results.yml", encoding="utf-8") as fh:
        results = yaml.load(fh, Loader=yaml.CSafeLoader) or []
    rows = []
    rnd = int(race["round"])
    for r in results:
        pos = r.get("position")
        grid = r.get("gridPosition")
        rows.append(
            {
                "season": season,
                "round": rnd,
                "race_id": f"{season}-{rnd:02d}",
                "driver_id": r["driverId"],
                "constructor_id": r["constructorId"],
                "position": int(pos) if isinstance(pos, int) else None,
                "grid": float(grid) if isinstance(grid, int) else np.nan,
                "points": float(r.get("points") or 0.0),
            }
        )
    return rows


def build_frame(data_dir: Path, seasons: tuple[int, ...] = SEASONS) -> pd.DataFrame:
    rows: list[dict] = []
    for season in seasons:
        races = sorted((data_dir / "f1db" / "src" / "data" / "seasons" / str(season) / "races").iterdir())
        for race_dir in races:
            if (race_dir / "race-results.yml").is_file():
                rows.extend(_race_rows(season, race_dir))
    df = pd.DataFrame(rows).sort_values(["season", "round", "driver_id"], kind="mergesort").reset_index(drop=True)
    df["position"] = df["position"].astype("Int64")
    finish = df["position"].astype("float64").fillna(UNCLASSIFIED)
    by_driver = df.assign(_finish=finish).groupby("driver_id", sort=False)["_finish"]
    df["prev_position"] = by_driver.shift(1)
    df.loc[df["prev_position"] == UNCLASSIFIED, "prev_position"] = np.nan
    df["avg_pos_last3"] = by_driver.transform(lambda s: s.shift(1).rolling(3, min_periods=1).mean())
    df["season_points_before"] = (
        df.groupby(["season", "driver_id"], sort=False)["points"].transform(lambda s: s.shift(1).cumsum()).fillna(0.0)
    )
    team = (
        df.assign(_finish=finish)
        .groupby(["season", "round", "constructor_id"], as_index=False)["_finish"]
        .min()
        .sort_values(["season", "round"], kind="mergesort")
    )
    team["team_prev_best"] = team.groupby("constructor_id", sort=False)["_finish"].shift(1)
    df = df.merge(team[["season", "round", "constructor_id", "team_prev_best"]], how="left")
    df["podium"] = (df["position"].fillna(99) <= 3).astype(bool)
    pos = df["position"].astype("float64")
    df["finish_group"] = np.select([pos == 1, pos <= 3, pos <= 10], ["win", "podium", "points"], default="none").astype(
        object
    )
    return df


FEATURES = ["grid", "prev_position", "avg_pos_last3", "season_points_before", "team_prev_best"]


@pytest.fixture(scope="session")
def f1_frame() -> pd.DataFrame:
    """Seasons 2022-2023 as a training frame (treat as read-only; copy before changing)."""
    data_dir = default_data_dir()
    if not (data_dir / "f1db").is_dir():
        raise RuntimeError(f"real F1 data not found at {data_dir}: set PITWALL_DATA")
    return build_frame(data_dir)


@pytest.fixture
def frame(f1_frame: pd.DataFrame) -> pd.DataFrame:
    """A private copy of the session frame."""
    return f1_frame.copy()


@pytest.fixture(autouse=True)
def _pitwall_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "pitwall-home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    monkeypatch.delenv("PITWALL_MLFLOW_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


@pytest.fixture
def features() -> list[str]:
    """The feature columns of ``f1_frame``."""
    return list(FEATURES)
