"""A deployed model with auto-features predicts: the serving path, the weekend-moment path and the
title forecast rebuild its generated columns (``pitwall.templates.predict.template_frame``)."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.ml import load_model
from pitwall.serving.invocation import InProcessServing
from pitwall.serving.predictor import Predictor
from pitwall.serving.upcoming import predict_race_at
from pitwall.templates import prediction_frame
from pitwall.training import train_template

AUTO = {"base": ["start_position", "position"], "lags": [1], "windows": [3], "relative": []}
GRID = {"base": ["start_position"], "lags": [1], "windows": [3], "relative": ["field"]}


@pytest.fixture(scope="module")
def model(feature_lake):
    result = train_template(
        "race_winner",
        seasons=[2023, 2024],
        algorithm="xgboost",
        auto_features=AUTO,
        store=feature_lake,
        register=False,
        track=False,
    )
    return load_model(result.model_dir)


def test_served_predictions_use_the_rebuilt_auto_features(model, feature_lake) -> None:
    predictor = Predictor("local", "rw_auto", 1, "race_winner", model)
    serving = InProcessServing(feature_lake)
    answer = serving.invoke(predictor, {"race": "2024-08"})
    served = {r["driver_id"]: r["probability"] for r in answer["predictions"]}
    expected = model.rank(prediction_frame("race_winner", feature_lake, 2024, 8, auto_features=model.auto_features))
    for driver, p in zip(expected["driver_id"], expected["probability"], strict=True):
        assert served[driver] == pytest.approx(p, rel=1e-9)
    moved = serving.invoke(predictor, {"race": "2024-08", "grid_positions": {"lando-norris": 1}})
    assert len(moved["predictions"]) == len(answer["predictions"])
    forecast = serving.invoke(predictor, {"championship": {"season": 2024, "after_round": 20, "simulations": 200}})
    assert forecast["drivers"] and np.isclose(sum(d["title_probability"] for d in forecast["drivers"]), 1.0)


def test_a_weekend_moment_prediction_rebuilds_them(model, feature_lake) -> None:
    answer = predict_race_at(model, "2024-08", "pre_race", store=feature_lake)
    assert len(answer.predictions) == 20
    assert "position_lag1" not in answer.unknown_inputs


def test_a_served_grid_override_moves_the_field_difference(feature_lake) -> None:
    result = train_template(
        "race_winner",
        seasons=[2024],
        algorithm="xgboost",
        auto_features=GRID,
        store=feature_lake,
        register=False,
        track=False,
    )
    model = load_model(result.model_dir)
    predictor = Predictor("local", "rw_grid", 1, "race_winner", model)
    serving = InProcessServing(feature_lake)
    grid = {"lando-norris": 1, "max-verstappen": 2}
    served = serving.invoke(predictor, {"race": "2024-08", "grid_positions": grid})
    rows = prediction_frame("race_winner", feature_lake, 2024, 8, {"start_position": grid}, auto_features=GRID)
    expected = model.rank(rows)
    got = {r["driver_id"]: r["probability"] for r in served["predictions"]}
    for driver, p in zip(expected["driver_id"], expected["probability"], strict=True):
        assert got[driver] == pytest.approx(p, rel=1e-9)
