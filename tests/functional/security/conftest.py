"""A small real model for the security tests: an XGBoost podium classifier on 2022-2023 races.

Rows come straight from F1DB's race-results YAML in ``$PITWALL_DATA`` (grid slot and points
before the race), so the artifact is a real one written by ``save_model``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pitwall.config import default_data_dir

FEATURES = ["grid", "points_before"]


def podium_frame(seasons: tuple[int, ...] = (2022, 2023)) -> pd.DataFrame:
    """One row per driver and race: grid slot, season points before the race, podium (bool)."""
    rows = []
    root = default_data_dir() / "f1db" / "src" / "data" / "seasons"
    for season in seasons:
        for race_dir in sorted((root / str(season) / "races").iterdir()):
            results = race_dir / "race-results.yml"
            if not results.is_file():
                continue
            with open(race_dir / "race.yml", encoding="utf-8") as fh:
                rnd = int(yaml.load(fh, Loader=yaml.CSafeLoader)["round"])
            with open(results, encoding="utf-8") as fh:
                for r in yaml.load(fh, Loader=yaml.CSafeLoader) or []:
                    grid, pos = r.get("gridPosition"), r.get("position")
                    rows.append(
                        {
                            "season": season,
                            "round": rnd,
                            "race_id": f"{season}-{rnd:02d}",
                            "driver_id": r["driverId"],
                            "grid": float(grid) if isinstance(grid, int) else np.nan,
                            "points": float(r.get("points") or 0.0),
                            "podium": isinstance(pos, int) and pos <= 3,
                        }
                    )
    df = pd.DataFrame(rows).sort_values(["season", "round", "driver_id"], kind="mergesort").reset_index(drop=True)
    df["points_before"] = (
        df.groupby(["season", "driver_id"], sort=False)["points"].transform(lambda s: s.shift(1).cumsum()).fillna(0.0)
    )
    return df


@pytest.fixture(scope="session")
def podium_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved XGBoost podium classifier (treat as read-only)."""
    from pitwall.ml.builder import ModelBuilder

    frame = podium_frame()
    model = ModelBuilder("classification", "podium", features=FEATURES).train(
        frame, "xgboost", params={"n_estimators": 20, "max_depth": 3}
    )
    return model.save(tmp_path_factory.mktemp("security-model") / "podium")
