"""Every template builds its frame, trains, evaluates beside its baseline and predicts, on real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore
from pitwall.templates import TEMPLATES, get_template, prediction_frame
from pitwall.training import _builder, backtest_template, train_template

FAST = {"algorithm": None, "track": False, "register": False, "holdout_races": 3}


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_trains_evaluates_and_predicts(name: str, feature_lake: LocalStore) -> None:
    spec = get_template(name)
    result = train_template(name, seasons=[2022, 2023], store=feature_lake, **FAST)
    # the holdout metrics of the model and of the naive baseline are both reported
    assert result.metrics and result.baseline_metrics
    key = {"ranking": "topk_overlap", "regression": "mae", "classification": "accuracy"}[spec.task]
    assert key in result.metrics and key in result.baseline_metrics
    assert result.model.data_window["last_race"] <= "2023-99"
    # the trained model predicts a race it never saw (2024 round 5), from the pre-race rows
    rows = prediction_frame(name, feature_lake, 2024, 5)
    assert set(rows["race_id"]) == {"2024-05"}
    preds = result.model.predict(rows)
    assert len(preds) == len(rows)
    if spec.task == "regression":
        assert np.isfinite(preds.astype(float)).all()
    if spec.task == "ranking" and spec.top_k is not None:
        assert result.model.predict_proba(rows).sum() == pytest.approx(min(spec.top_k, len(rows)))


def test_race_winner_frame_is_point_in_time(feature_lake: LocalStore) -> None:
    """Scrambling everything from 2023 round 6 on leaves the backtest prediction of round 5 unchanged."""
    from pitwall.ml import walk_forward

    spec = get_template("race_winner")
    data = spec.frame(FeatureStore(feature_lake), [2021, 2022, 2023])
    later = (data["season"] == 2023) & (data["round"] >= 6)
    rng = np.random.default_rng(0)
    scrambled = data.copy()
    for col in ("position", *spec.features):
        values = scrambled.loc[later, col].to_numpy()
        scrambled.loc[later, col] = rng.permutation(values)
    kwargs = dict(season=2023, rounds=[5], min_train_races=10, train_kwargs={"algorithm": "xgboost", "seed": 0})
    a = walk_forward(data, _builder(spec), **kwargs).predictions
    b = walk_forward(scrambled, _builder(spec), **kwargs).predictions
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert a["train_last_race"].iloc[0] == "2023-04"


def test_training_is_reproducible_with_a_fixed_seed(feature_lake: LocalStore) -> None:
    a = train_template("podium", seasons=[2023], store=feature_lake, seed=7, **FAST)
    b = train_template("podium", seasons=[2023], store=feature_lake, seed=7, **FAST)
    rows = prediction_frame("podium", feature_lake, 2024, 3)
    np.testing.assert_array_equal(a.model.predict(rows), b.model.predict(rows))


def test_overrides_change_the_prediction_and_bad_ones_name_the_field(feature_lake: LocalStore) -> None:
    from pitwall.errors import ValidationFailed

    rows = prediction_frame("race_winner", feature_lake, 2024, 8)
    assert rows.loc[rows["driver_id"] == "charles-leclerc", "start_position"].item() == 1
    moved = prediction_frame(
        "race_winner", feature_lake, 2024, 8, overrides={"start_position": {"charles-leclerc": 20}}
    )
    assert moved.loc[moved["driver_id"] == "charles-leclerc", "start_position"].item() == 20
    with pytest.raises(ValidationFailed) as info:
        prediction_frame("race_winner", feature_lake, 2024, 8, overrides={"start_position": {"nobody": 3}})
    assert info.value.field == "start_position"


def test_backtest_writes_one_event_per_race(feature_lake: LocalStore, tmp_path) -> None:
    out = tmp_path / "bt.jsonl"
    report = backtest_template(
        "race_winner", season=2023, train_until=2022, mode="season_start", store=feature_lake, track=False, output=out
    )
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["round"] for e in events] == list(range(1, 23))
    first = events[0]
    assert first["race_id"] == "2023-01" and len(first["ranking"]) == 20
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert first["actual"]["max-verstappen"] == 1
    # model, grid order and the empirical P(win | grid slot) side by side, with paired intervals
    assert {"grid", "grid_slot_rate"} <= set(report.baseline_metrics)
    assert "log_loss" in report.metrics and "winner_nll" in report.baseline_metrics["grid_slot_rate"]
    assert "log_loss" not in report.baseline_metrics["grid"]  # a point rule has no proper score
    assert report.strongest["winner_nll"] == "grid_slot_rate"
    c = report.verdict("top1_accuracy")
    assert c.n_races == 22 and c.low <= c.mean_difference <= c.high and c.verdict in ("win", "tie", "loss")


def test_regression_backtest_rows_have_prediction_and_actual(feature_lake: LocalStore, tmp_path) -> None:
    out = tmp_path / "pit.jsonl"
    backtest_template(
        "pit_stop_duration", season=2023, train_until=2022, rounds=[1, 2], store=feature_lake, track=False, output=out
    )
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["race_id"] for e in events] == ["2023-01", "2023-02"]
    row = events[0]["rows"][0]
    assert {"driver_id", "stop", "prediction", "actual"} <= set(row)
