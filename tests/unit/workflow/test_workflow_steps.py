"""Pure step rules: champion comparison, metric lookup, training-data selection, retrain params."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.errors import ValidationFailed
from pitwall.platform.records import ModelRecord
from pitwall.workflow import steps
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.retrain import parse_race, retrain_params


@pytest.mark.parametrize(
    ("value", "champion", "higher", "expected"),
    [
        (0.5, 0.6, False, True),
        (0.7, 0.6, False, False),
        (0.6, 0.6, False, True),
        (0.8, 0.8, True, True),
        (0.79, 0.8, True, False),
        (0.81, 0.8, True, True),
    ],
)
def test_compare_to_champion(value: float, champion: float, higher: bool, expected: bool) -> None:
    challenger = {"metric": "m", "value": value, "higher_is_better": higher}
    assert steps.compare_to_champion(challenger, champion, has_champion=True)[0] is expected


def test_no_champion_is_not_worse_and_missing_value_is_not_comparable() -> None:
    challenger = {"metric": "log_loss", "value": 9.9, "higher_is_better": False}
    assert steps.compare_to_champion(challenger, None, has_champion=False) == (True, "no deployed champion")
    not_worse, reason = steps.compare_to_champion(challenger, None, has_champion=True)
    assert not_worse is False and "not comparable" in reason


def test_metric_value_prefers_held_out_test_then_cv_then_score() -> None:
    metrics = {"test_log_loss": 0.4, "cv_log_loss": 0.5, "log_loss": 0.6}
    assert steps.metric_value(metrics, "log_loss", 0.9) == 0.4
    assert steps.metric_value({"cv_log_loss": 0.5}, "log_loss", 0.9) == 0.5
    assert steps.metric_value({}, "log_loss", 0.9) == 0.9
    assert steps.metric_value({"test_log_loss": float("nan")}, "log_loss") is None
    assert steps.metric_value({"test_log_loss": True}, "log_loss") is None


def test_challenger_summary_reads_metadata() -> None:
    meta = {"metric": "spearman", "metrics": {"test_spearman": 0.61}, "direction": "maximize"}
    assert steps.challenger_summary(meta) == {"metric": "spearman", "value": 0.61, "higher_is_better": True}
    meta = {"metric": "mae", "metrics": {"cv_mae": 1.5}, "direction": "minimize"}
    assert steps.challenger_summary(meta)["higher_is_better"] is False


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"metrics": {}}, "names no 'metric'"),
        ({"metric": "mae"}, "no 'metrics' object"),
        ({"metric": "mae", "metrics": {"test_rmse": 1.0}}, "no finite value for metric 'mae'"),
        ({"metric": "mae", "metrics": {"mae": 1.0}, "direction": "up"}, "'direction' must be"),
    ],
)
def test_challenger_summary_names_what_is_missing(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(StepFailed, match=message):
        steps.challenger_summary(meta)


LAKE = [
    ("drivers/data.parquet", 10),
    ("races/season=2021/data.parquet", 100),
    ("races/season=2022/data.parquet", 100),
    ("races/season=2023/data.parquet", 100),
    ("results/season=2022/data.parquet", 1000),
    ("results/season=2023/data.parquet", 1000),
    ("features_driver/season=2023/data.parquet", 500),
    ("_staging/abc/races/season=2023/data.parquet", 7),
    ("results/season=2023/notes.txt", 3),
]


def test_select_lake_keeps_history_and_drops_look_ahead() -> None:
    selection = steps.select_lake(LAKE, [2022])
    assert selection.seasons == [2022]
    assert selection.keys == [
        "drivers/data.parquet",
        "races/season=2021/data.parquet",
        "races/season=2022/data.parquet",
        "results/season=2022/data.parquet",
    ]
    assert selection.total_bytes == 10 + 100 + 100 + 1000
    everything = steps.select_lake(LAKE, None)
    assert everything.seasons == [2021, 2022, 2023]
    assert "features_driver/season=2023/data.parquet" in everything.keys
    assert not [k for k in everything.keys if k.startswith("_") or not k.endswith(".parquet")]


def test_select_lake_names_missing_seasons() -> None:
    with pytest.raises(StepFailed, match=r"no data for seasons \[2019, 2024\] \(ingested: 2021-2023\)"):
        steps.select_lake(LAKE, [2019, 2022, 2024])
    with pytest.raises(StepFailed, match="no 'races' partitions"):
        steps.select_lake([("drivers/data.parquet", 1)], None)


def test_parse_race_reads_the_race_id() -> None:
    assert parse_race({"season": 2024, "race_id": "2024-08"}) == (2024, "2024-08")


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ([], "detail"),
        ({"season": 1900, "race_id": "1900-01"}, "detail.season"),
        ({"season": 2024}, "detail.race_id"),
        ({"season": 2024, "race_id": "monaco_2024"}, "detail.race_id"),
        ({"season": 2024, "race_id": "2023-08"}, "detail.race_id"),
        ({"season": 2024, "race_id": "2024-x"}, "detail.race_id"),
    ],
)
def test_parse_race_names_bad_field(detail: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_race(detail)
    assert info.value.field == field


def test_retrain_params_extend_the_model_seasons() -> None:
    model = ModelRecord(
        tenant_id="acme",
        name="winner",
        version=3,
        template="race_winner",
        task="ranking",
        algorithm="xgboost",
        features=["start_position"],
        target="winner",
        data_window={"seasons": [2022, 2023]},
        metrics={},
        baseline_metrics={},
        artifact_uri="s3://b/k",
        sha256="0" * 64,
        created_at="2026-01-01T00:00:00+00:00",
        params={"max_depth": 4},
    )
    params = retrain_params(model, 2024)
    assert params == {
        "algorithm": "xgboost",
        "params": {"max_depth": 4},
        "hyperparameters": {"max_depth": 4},  # the model's own, kept (a search-space parameter of xgboost)
        "retrain_of_version": 3,
        "seasons": [2022, 2023, 2024],
        "features": ["start_position"],
    }
