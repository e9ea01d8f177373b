"""CatBoost on real F1 data (2022-2023): trains for every task, saves as .cbm (no pickle), loads back
with identical predictions, tunes with Optuna, and is one of AutoML's algorithms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, holdout_split, load_model, tune
from pitwall.ml.artifacts import PICKLE_SUFFIXES
from pitwall.ml.metrics import default_metric

SMALL = {"iterations": 60}


@pytest.fixture
def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = holdout_split(frame, last_n_races=4)
    return frame.iloc[train], frame.iloc[test]


@pytest.mark.parametrize(
    ("task", "target", "top_k"),
    [("ranking", "position", 3), ("classification", "finish_group", None), ("regression", "points", None)],
)
def test_catboost_round_trip_gives_identical_predictions(
    split: tuple[pd.DataFrame, pd.DataFrame],
    features: list[str],
    tmp_path: Path,
    task: str,
    target: str,
    top_k: int | None,
) -> None:
    train, test = split
    model = ModelBuilder(task, target, features=features, top_k=top_k).train(train, "catboost", params=SMALL)
    path = model.save(tmp_path / "cb")
    files = sorted(p.name for p in path.rglob("*") if p.is_file())
    assert files == ["metadata.json", "model.cbm"]
    assert (path / "model.cbm").read_bytes()[:4] == b"CBM1"  # CatBoost's own format, not a pickle
    assert not any(Path(f).suffix in PICKLE_SUFFIXES for f in files)
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["algorithm"] == "catboost" and meta["model_format"] == "catboost-cbm"
    assert meta["params"]["iterations"] == 60 and meta["params"]["thread_count"] == 1
    loaded = load_model(path)
    assert np.array_equal(loaded.raw_output(test), model.raw_output(test))
    assert np.array_equal(loaded.predict(test), model.predict(test))
    assert loaded.feature_importance() == model.feature_importance()
    assert set(model.feature_importance()) == set(features) and sum(model.feature_importance().values()) > 0.99


def test_catboost_learns_more_than_the_base_rate(split: tuple[pd.DataFrame, pd.DataFrame], features: list[str]) -> None:
    train, test = split
    model = ModelBuilder("ranking", "position", features=features, top_k=3).train(train, "catboost", params=SMALL)
    metrics = model.evaluate(test, record=False).metrics
    base_rate = float((test["position"].astype("float64") <= 3).mean())
    climatology = -(base_rate * np.log(base_rate) + (1 - base_rate) * np.log(1 - base_rate))
    assert metrics["log_loss"] < climatology  # better than predicting every driver's podium base rate


def test_the_same_seed_gives_the_same_catboost_model(
    split: tuple[pd.DataFrame, pd.DataFrame], features: list[str]
) -> None:
    train, test = split
    builder = ModelBuilder("regression", "points", features=features)
    first = builder.train(train, "catboost", params=SMALL, seed=3)
    second = builder.train(train, "catboost", params=SMALL, seed=3)
    assert np.array_equal(first.predict(test), second.predict(test))


def test_catboost_tuning_searches_its_space(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    result = tune(
        builder,
        frame,
        "catboost",
        strategy="random",
        n_trials=3,
        cv_folds=2,
        base_params={"iterations": 40},
        prune=False,
    )
    assert result.n_trials == 3 and result.n_complete == 3
    assert result.metric == default_metric("ranking", 1)
    tried = [t["params"] for t in result.summary()["trials"]]
    assert all(t["iterations"] == 40 for t in tried)  # fixed outside the search
    assert len({(t["depth"], round(t["learning_rate"], 9)) for t in tried}) == 3
    assert all(2 <= t["depth"] <= 8 for t in tried)
    assert result.best_params["iterations"] == 40 and result.best_params["thread_count"] == 1


def test_builder_auto_tune_with_catboost_refits_the_best_trial(frame: pd.DataFrame, features: list[str]) -> None:
    model = ModelBuilder("regression", "points", features=features).train(
        frame, "catboost", params={"iterations": 30}, auto_tune=True, tuning="grid", n_trials=2, cv_folds=2
    )
    assert model.algorithm == "catboost" and model.metric == "mae"
    assert model.tuning is not None and model.tuning["n_trials"] == 2 and model.tuning["strategy"] == "grid"
    assert model.metrics["cv_mae"] == model.score


def test_a_template_trains_with_catboost_from_the_training_request(feature_lake: Any, tmp_path: Path) -> None:
    """``algorithm="catboost"`` through the one training request (as the API, SDK and image send it)."""
    from pitwall.ml.artifacts import save_model
    from pitwall.training import train_template
    from pitwall.workflow.request import TrainingRequest

    request = TrainingRequest("race_winner", "winner_cb", algorithm="catboost", seasons=(2022, 2023), cv_folds=2)
    kwargs = request.train_kwargs(tenant_id="local")
    result = train_template("race_winner", **kwargs, store=feature_lake, register=False, track=False)
    assert result.model.algorithm == "catboost"
    assert result.model.data_window["seasons"] == [2022, 2023]
    assert result.metrics and all(np.isfinite(v) for v in result.metrics.values() if isinstance(v, float))
    assert result.baseline_metrics  # compared with the template's naive baselines on the same rows
    saved = save_model(result.model, tmp_path / kwargs["name"])
    assert (saved / "model.cbm").is_file() and load_model(saved).algorithm == "catboost"
