"""Quota enforcement through the backends: daily windows, releases, rates, concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pitwall.errors import QuotaExceeded
from pitwall.platform import quotas
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import Principal


def test_free_tier_gets_five_training_jobs_per_utc_day(
    backend: RecordsBackend, free: Principal, noon: datetime
) -> None:
    counts = [quotas.reserve_training_job(free, now=noon, backend=backend).count_after for _ in range(5)]
    assert counts == [1, 2, 3, 4, 5]
    late = datetime(2026, 3, 1, 23, 59, 30, 250000, tzinfo=UTC)
    with pytest.raises(QuotaExceeded) as err:
        quotas.reserve_training_job(free, now=late, backend=backend)
    assert err.value.http_status == 429
    assert err.value.retry_after_seconds == 30  # 29.75 s to midnight, rounded up
    assert err.value.to_dict()["error"]["retry_after_seconds"] == 30
    next_day = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
    assert quotas.reserve_training_job(free, now=next_day, backend=backend).count_after == 1
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 5


def test_released_reservation_can_be_taken_again(backend: RecordsBackend, free: Principal, noon: datetime) -> None:
    reservations = [quotas.reserve_training_job(free, now=noon, backend=backend) for _ in range(5)]
    assert quotas.release(reservations[-1], backend=backend) == 4
    assert quotas.reserve_training_job(free, now=noon, backend=backend).count_after == 5
    with pytest.raises(QuotaExceeded):
        quotas.reserve_training_job(free, now=noon, backend=backend)
    # releasing never goes below zero
    other_day = "2026-02-01"
    assert quotas.release_training_job(free.tenant_id, other_day, backend=backend) == 0


def test_pro_tier_has_no_daily_training_limit(backend: RecordsBackend, pro: Principal, noon: datetime) -> None:
    last = None
    for _ in range(12):
        last = quotas.reserve_training_job(pro, now=noon, backend=backend)
    assert last is not None and last.count_after == 12 and last.limit is None


def test_quotas_are_per_tenant(backend: RecordsBackend, free: Principal, noon: datetime) -> None:
    other = Principal("other-team", "free")
    for _ in range(5):
        quotas.reserve_training_job(free, now=noon, backend=backend)
    assert quotas.reserve_training_job(other, now=noon, backend=backend).count_after == 1


def test_fifty_threads_reserving_on_free_tier_get_exactly_five(
    backend: RecordsBackend, free: Principal, noon: datetime, concurrently: Callable[..., list[Any]]
) -> None:
    def attempt(_: int) -> str:
        try:
            quotas.reserve_training_job(free, now=noon, backend=backend)
            return "accepted"
        except QuotaExceeded:
            return "rejected"

    outcomes = concurrently(attempt, 50)
    assert outcomes.count("accepted") == 5
    assert outcomes.count("rejected") == 45
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 5


def test_request_rate_allows_the_burst_then_refills_at_the_tier_rate(
    backend: RecordsBackend, free: Principal, noon: datetime
) -> None:
    tier = free.limits  # 5 requests/s, burst 10
    for _ in range(tier.burst):
        quotas.check_request_rate(free, now=noon, backend=backend)
    with pytest.raises(QuotaExceeded) as err:
        quotas.check_request_rate(free, now=noon, backend=backend)
    assert err.value.code == "rate_limited" and err.value.retry_after_seconds == 1
    one_second_later = noon + timedelta(seconds=1)
    for _ in range(tier.requests_per_second):
        quotas.check_request_rate(free, now=one_second_later, backend=backend)
    with pytest.raises(QuotaExceeded):
        quotas.check_request_rate(free, now=one_second_later, backend=backend)
    # rejected requests are not counted against the day
    counted = quotas.used_today(free.tenant_id, quotas.REQUESTS, now=noon, backend=backend)
    assert counted == tier.burst + tier.requests_per_second


def test_requests_per_day_limit_resets_at_midnight(backend: RecordsBackend, free: Principal) -> None:
    limit = free.limits.requests_per_day
    start = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)
    name = quotas.counter_name(free.tenant_id, quotas.REQUESTS)
    for _ in range(limit - 3):  # earlier traffic today
        backend.increment_counter(name, "2026-03-01", limit=None, expires_at=1_900_000_000)
    # one request per second never touches the rate limit, only the daily count
    for i in range(3):
        quotas.check_request_rate(free, now=start + timedelta(seconds=i), backend=backend)
    at = start + timedelta(seconds=limit)
    with pytest.raises(QuotaExceeded) as err:
        quotas.check_request_rate(free, now=at, backend=backend)
    assert err.value.code == "requests_quota_exceeded"
    assert err.value.retry_after_seconds == 86400 - limit
    quotas.check_request_rate(free, now=datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC), backend=backend)


def test_concurrent_requests_take_exactly_the_burst(
    backend: RecordsBackend, free: Principal, noon: datetime, concurrently: Callable[..., list[Any]]
) -> None:
    def attempt(_: int) -> bool:
        try:
            quotas.check_request_rate(free, now=noon, backend=backend)
            return True
        except QuotaExceeded:
            return False

    allowed = sum(concurrently(attempt, 30))
    assert allowed == free.limits.burst


def test_marketplace_downloads_per_day(
    backend: RecordsBackend, free: Principal, pro: Principal, noon: datetime
) -> None:
    limit = free.limits.marketplace_downloads_per_day
    assert limit is not None
    for _ in range(limit):
        quotas.reserve_marketplace_download(free, now=noon, backend=backend)
    with pytest.raises(QuotaExceeded) as err:
        quotas.reserve_marketplace_download(free, now=noon, backend=backend)
    assert err.value.retry_after_seconds == 12 * 3600
    for _ in range(limit + 5):
        quotas.reserve_marketplace_download(pro, now=noon, backend=backend)


def test_usage_reports_counters_and_limits(backend: RecordsBackend, free: Principal, noon: datetime) -> None:
    quotas.reserve_training_job(free, now=noon, backend=backend)
    quotas.reserve_training_job(free, now=noon, backend=backend)
    quotas.check_request_rate(free, now=noon, backend=backend)
    usage = quotas.usage(free, now=noon, backend=backend)
    assert (usage.training_jobs_today, usage.training_jobs_per_day) == (2, 5)
    assert (usage.requests_today, usage.deployed_models, usage.max_deployed_models) == (1, 0, 3)
