"""UTC windows and the tier rules that need no storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pitwall.errors import Forbidden, PayloadTooLarge, QuotaExceeded, ValidationFailed
from pitwall.platform import clock, quotas
from pitwall.platform.tiers import GB, MB, TIERS


def test_utc_day_converts_other_timezones() -> None:
    new_york_evening = datetime(2026, 3, 1, 20, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert clock.utc_day(new_york_evening) == "2026-03-02"
    assert clock.utc_day(datetime(2026, 3, 1, 23, 59, 59)) == "2026-03-01"  # naive = UTC


def test_seconds_until_midnight_rounds_up_and_is_never_zero() -> None:
    assert clock.seconds_until_midnight(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == 86400
    assert clock.seconds_until_midnight(datetime(2026, 3, 1, 23, 59, 59, 500000, tzinfo=UTC)) == 1
    assert clock.seconds_until_midnight(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == 3600
    assert clock.next_midnight(datetime(2024, 2, 28, 5, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)


def test_week_window_and_expiry() -> None:
    assert clock.last_days(datetime(2026, 3, 2, 1, tzinfo=UTC), 3) == ["2026-02-28", "2026-03-01", "2026-03-02"]
    expiry = clock.expiry_after_day("2026-03-01", keep_days=2)
    assert datetime.fromtimestamp(expiry, UTC) == datetime(2026, 3, 4, tzinfo=UTC)


def test_tier_table_matches_the_product_limits() -> None:
    free, pro = TIERS["free"], TIERS["pro"]
    assert (free.training_jobs_per_day, free.max_training_seconds, free.max_dataset_bytes) == (5, 3600, 100 * MB)
    assert (free.max_deployed_models, free.gpu_training) == (3, False)
    assert (pro.training_jobs_per_day, pro.max_training_seconds, pro.max_dataset_bytes) == (None, 8 * 3600, 5 * GB)
    assert (pro.max_deployed_models, pro.gpu_training) == (None, True)


def test_dataset_size_limit_is_inclusive() -> None:
    quotas.check_dataset_size("free", 100 * MB)
    with pytest.raises(PayloadTooLarge) as err:
        quotas.check_dataset_size("free", 100 * MB + 1)
    assert (err.value.http_status, err.value.field) == (413, "dataset")
    quotas.check_dataset_size("pro", 5 * GB)
    with pytest.raises(PayloadTooLarge):
        quotas.check_dataset_size(TIERS["pro"], 5 * GB + 1, field="upload")


def test_training_request_limits() -> None:
    assert quotas.check_training_request("free") == 3600
    assert quotas.check_training_request("free", max_runtime_seconds=3600) == 3600
    assert quotas.max_training_seconds("pro") == 8 * 3600
    with pytest.raises(ValidationFailed) as err:
        quotas.check_training_request("free", max_runtime_seconds=3601)
    assert (err.value.http_status, err.value.field) == (422, "max_runtime_seconds")
    with pytest.raises(ValidationFailed):
        quotas.check_training_request("pro", max_runtime_seconds=0)
    with pytest.raises(Forbidden):
        quotas.check_training_request("free", gpu=True)
    assert quotas.check_training_request("pro", max_runtime_seconds=600, gpu=True) == 600


def test_deployed_limit_error_does_not_suggest_waiting() -> None:
    assert quotas.deployed_models_limit("free") == 3 and quotas.deployed_models_limit("pro") is None
    err = quotas.deployed_limit_error("free")
    assert isinstance(err, QuotaExceeded) and err.retry_after_seconds is None and "3" in err.message
