"""Capture rows pair inputs with answers; the alert rules; settings validation (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from pitwall.errors import ValidationFailed
from pitwall.monitoring import alerts
from pitwall.monitoring.capture import capture_frame, capture_table, decode_features, matrix_rows
from pitwall.monitoring.drift import ColumnDrift, DriftReport
from pitwall.monitoring.record import live_capture, race_cutoff
from pitwall.monitoring.settings import MonitoringSettings

AT = datetime(2024, 5, 25, 12, 0, tzinfo=UTC)


def _ranking_answer() -> dict:
    # answered best first: the pairing must go by (race, driver), not by position
    return {
        "kind": "ranking",
        "race": {"race_id": "2024-08"},
        "predictions": [
            {"driver_id": "b", "race_id": "2024-08", "rank": 1, "score": 0.7, "probability": 0.7},
            {"driver_id": "a", "race_id": "2024-08", "rank": 2, "score": 0.3, "probability": 0.3},
        ],
    }


def test_ranking_capture_pairs_rows_by_driver() -> None:
    rows = matrix_rows(["start_position"], [[2.0], [1.0]], ["2024-08", "2024-08"], ["a", "b"])
    df = capture_frame(
        tenant_id="t1",
        model="m",
        version=3,
        template="race_winner",
        payload={"race": "monaco_2024"},
        answer=_ranking_answer(),
        features=rows,
        captured_at=AT,
    )
    assert list(df["entity"]) == ["a", "b"]
    assert list(df["rank"]) == [2, 1]
    assert list(df["probability"]) == [0.3, 0.7]
    assert df["paired"].all() and not df["scenario"].any()
    assert list(df[["season", "round"]].iloc[0]) == [2024, 8]
    assert decode_features(df)["start_position"].tolist() == [2.0, 1.0]
    assert df["captured_at"].iloc[0].startswith("2024-05-25T12:00:00")


def test_overrides_mark_a_scenario_and_unmatched_rows_stay_unpaired() -> None:
    rows = matrix_rows(["start_position"], [[1.0], [float("nan")]], ["2024-08", "2024-08"], ["a", None])
    df = capture_frame(
        tenant_id="t1",
        model="m",
        version=1,
        template="race_winner",
        payload={"race": "2024-08", "grid_positions": {"a": 1}},
        answer=_ranking_answer(),
        features=rows,
        captured_at=AT,
    )
    assert df["scenario"].all()
    # the row without a driver id cannot be matched to an answer row: features kept, no prediction
    assert list(df["paired"]) == [True, False]
    assert df["probability"].iloc[0] == 0.3 and pd.isna(df["probability"].iloc[1])
    assert json.loads(df["features"].iloc[1]) == {"start_position": None}


def test_regression_capture_keeps_input_order() -> None:
    rows = matrix_rows(["x"], [[1.0], [2.0]], ["instances", "instances"], [None, None])
    answer = {"kind": "regression", "race": None, "predictions": [{"value": 10.0}, {"value": 20.0}]}
    df = capture_frame(
        tenant_id="t",
        model="m",
        version=1,
        template="lap_time",
        payload={"instances": []},
        answer=answer,
        features=rows,
        captured_at=AT,
    )
    assert list(df["value"]) == [10.0, 20.0] and df["request_kind"].iloc[0] == "instances"
    assert df["season"].isna().all()


def test_capture_numbers_missing_unless_finite_across_a_batch() -> None:
    def job(values: list) -> dict:
        rows = matrix_rows(
            ["x"], [[float(i)] for i in range(len(values))], ["2024-08"] * len(values), [None] * len(values)
        )
        answer = {"kind": "regression", "race": None, "predictions": [{"value": v, "score": 1} for v in values]}
        payload = {"instances": []}
        return dict(tenant_id="t", model="m", version=1, template="lap_time", payload=payload, answer=answer,
                    features=rows, captured_at=AT)  # fmt: skip

    plain = capture_table([job([1.5, float("inf"), None]), job([float("nan"), 2])])
    assert plain["value"].to_pylist() == [1.5, None, None, None, 2.0]
    assert plain["score"].to_pylist() == [1.0] * 5
    # a value that is not a number anywhere in the batch: the same rule, row by row
    mixed = capture_table([job([1.5, "fast"]), job(["2.5", float("-inf")])])
    assert mixed["value"].to_pylist() == [1.5, None, 2.5, None]
    assert mixed["row"].to_pylist() == [0, 1, 0, 1] and mixed["season"].to_pylist() == [2024] * 4


def test_live_capture_is_the_latest_plain_request_before_race_day() -> None:
    cutoff = race_cutoff(pd.Timestamp("2024-05-26"))
    assert cutoff == datetime(2024, 5, 26, tzinfo=UTC)
    caps = pd.DataFrame(
        {
            "capture_id": ["early", "late", "whatif", "after"],
            "captured_at": [
                "2024-05-20T10:00:00.000000+00:00",
                "2024-05-25T23:59:00.000000+00:00",
                "2024-05-25T23:59:30.000000+00:00",
                "2024-05-26T00:00:00.000000+00:00",
            ],
            "race_id": ["2024-08"] * 4,
            "request_kind": ["race"] * 4,
            "scenario": [False, False, True, False],
            "row": [0, 0, 0, 0],
        }
    )
    assert list(live_capture(caps, "2024-08", cutoff)["capture_id"]) == ["late"]
    assert live_capture(caps, "2024-09", cutoff).empty


def _report(psi: float, n_served: int = 250, n_requests: int = 12) -> DriftReport:
    feature = ColumnDrift("start_position", psi, 0.5, 0.0, 0.0, 0.0, 1000, n_served, 0.6, True)
    other = ColumnDrift("minor", 9.9, 0.9, 0.0, 0.0, 0.0, 1000, n_served, 0.01, False)
    return DriftReport(
        "t", "m", 1, "race_winner", [2022, 2023], 1000, n_served, n_requests, 0.2, 200, [feature, other], None, "now",
        min_served_requests=10,
    )  # fmt: skip


def test_drift_alert_only_on_a_top_feature_above_threshold_with_enough_rows() -> None:
    raised = alerts.drift_alerts(_report(0.35), "now")
    assert [a.kind for a in raised] == [alerts.FEATURE_DRIFT] and "start_position: PSI 0.350" in raised[0].message
    assert raised[0].details["window"] == "2022-2023" and "training window 2022-2023" in raised[0].message
    assert alerts.drift_alerts(_report(0.15), "now") == []  # the non-top feature's 9.9 does not count
    assert alerts.drift_alerts(_report(0.35, n_served=199), "now") == []
    assert _report(0.35, n_served=199).status == "insufficient_data"
    assert _report(0.35).note is None and _report(0.35).to_dict()["note"] is None


def test_no_drift_verdict_on_rows_from_too_few_requests() -> None:
    few = _report(0.35, n_served=250, n_requests=5)  # five race requests: plenty of rows, five races
    assert few.status == "insufficient_data" and few.drifted_features == []
    assert alerts.drift_alerts(few, "now") == []
    assert few.note == (
        "not enough data: 5 of 10 requests, 250 of 200 rows captured; no drift verdict until both are reached"
    )
    assert few.to_dict()["note"] == few.note
    assert _report(0.35, n_served=250, n_requests=10).status == "drift"


def test_an_open_drift_is_not_alerted_again() -> None:
    assert alerts.drift_alerts(_report(0.35), "now", already_open={"start_position"}) == []
    assert alerts.drift_alerts(_report(0.35), "now", already_open={"other"})


def _record(values: list[float], baselines: list[float], direction: str = "maximize") -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "race_id": [f"2024-{i + 1:02d}" for i in range(n)],
            "version": [1] * n,
            "metric": ["top1_accuracy"] * n,
            "direction": [direction] * n,
            "value": values,
            "baseline": baselines,
        }
    )


def test_record_alert_over_the_last_n_races() -> None:
    s = MonitoringSettings("t", "m", record_window=3)
    assert alerts.record_alerts(_record([1, 0, 0, 0], [0, 1, 1, 0]), s, "now")[0].kind == alerts.LIVE_BELOW_BASELINE
    assert alerts.record_alerts(_record([0, 1, 1, 1], [1, 1, 1, 0]), s, "now") == []
    assert alerts.record_alerts(_record([0, 0], [1, 1]), s, "now") == []  # fewer races than the window
    # for a metric to minimise, a higher model value is the worse one
    assert alerts.record_alerts(_record([3, 3, 3], [2, 2, 2], "minimize"), s, "now")


@pytest.mark.parametrize(
    "field,value",
    [
        ("capture_percent", 101),
        ("capture_percent", -1),
        ("psi_threshold", 0),
        ("record_window", 0),
        ("min_served_requests", 0),
        ("min_served_rows", 1.5),
        ("model", "a/b"),
    ],
)
def test_settings_refuse_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as err:
        MonitoringSettings(**{"tenant_id": "t", "model": "m", field: value})
    assert err.value.field == field


def test_a_top_feature_that_went_missing_counts_as_drift() -> None:
    gone = ColumnDrift("team_race_pace", None, None, None, 0.0, 1.0, 1000, 100, 0.5, True)
    report = DriftReport("t", "m", 1, "race_winner", [2023], 1000, 300, 20, 0.2, 200, [gone], None, "now")
    assert report.drifted_features == ["team_race_pace"]
    assert "missing 100% served vs 0% in training" in alerts.drift_alerts(report, "now")[0].message
