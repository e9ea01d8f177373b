"""Tier quotas: the one implementation of every Free/Pro limit, for local and cloud paths.

Limits come from :mod:`pitwall.platform.tiers`; atomicity comes from the backend's
conditional counters. Daily windows are UTC calendar days; a :class:`QuotaExceeded` for a
daily limit carries ``retry_after_seconds`` = seconds until the next UTC midnight.

- training jobs per day: :func:`reserve_training_job` / :func:`release_training_job`
- max training time and GPU: :func:`check_training_request`
- dataset size: :func:`check_dataset_size`
- deployed models: :func:`deployed_models_limit` (enforced atomically by ``models.deploy_model``)
- request rate (per second with burst, token bucket) and per day: :func:`check_request_rate`
- marketplace downloads per day: :func:`reserve_marketplace_download`
- expensive requests (fair shares): size caps :func:`check_expense`, cost-weighted rate
  :func:`charge_expense` (one request-rate token per :data:`~pitwall.platform.tiers.SIMULATIONS_PER_UNIT`
  simulations or :data:`~pitwall.platform.tiers.ROWS_PER_UNIT` rows), and concurrent championship
  forecasts per tenant and per process: :data:`SIMULATION_SLOTS`
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from pitwall.errors import Forbidden, PayloadTooLarge, QuotaExceeded, ValidationFailed
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.clock import as_utc, epoch_seconds, expiry_after_day, seconds_until_midnight, utc_day
from pitwall.platform.records import Principal
from pitwall.platform.tiers import ROWS_PER_UNIT, SIMULATIONS_PER_UNIT, Tier, get_tier

TRAINING_JOBS = "training_jobs"
MARKETPLACE_DOWNLOADS = "marketplace_downloads"
REQUESTS = "requests"

_BUCKET_ATTEMPTS = 100


@dataclass(frozen=True)
class Reservation:
    """One unit taken from a daily counter; pass it back to release it."""

    tenant_id: str
    counter: str
    day: str
    count_after: int
    limit: int | None


def counter_name(tenant_id: str, counter: str) -> str:
    """Storage name of a tenant's counter, e.g. ``acme#training_jobs``."""
    return f"{tenant_id}#{counter}"


def _tier(tier: str | Tier) -> Tier:
    return tier if isinstance(tier, Tier) else get_tier(tier)


def _reserve_daily(
    principal: Principal, counter: str, limit: int | None, what: str, now: datetime | None, b: RecordsBackend
) -> Reservation:
    now = as_utc(now)
    day = utc_day(now)
    count = b.increment_counter(
        counter_name(principal.tenant_id, counter), day, limit=limit, expires_at=expiry_after_day(day)
    )
    if count is None:
        raise QuotaExceeded(
            f"{what} limit of {limit} per day reached for tier {principal.tier!r}; resets at 00:00 UTC",
            retry_after_seconds=seconds_until_midnight(now),
            code=f"{counter}_quota_exceeded",
        )
    return Reservation(principal.tenant_id, counter, day, count, limit)


def reserve_training_job(
    principal: Principal, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> Reservation:
    """Take one training job from today's allowance (atomic). QuotaExceeded when none left."""
    limit = _tier(principal.tier).training_jobs_per_day
    return _reserve_daily(principal, TRAINING_JOBS, limit, "training jobs", now, backend or get_backend())


def release_training_job(tenant_id: str, day: str, *, backend: RecordsBackend | None = None) -> int:
    """Give back one training job reserved on ``day`` (e.g. the job never started). Returns the
    day's new count."""
    return (backend or get_backend()).decrement_counter(counter_name(tenant_id, TRAINING_JOBS), day)


def release(reservation: Reservation, *, backend: RecordsBackend | None = None) -> int:
    """Give back a :class:`Reservation` of any counter."""
    b = backend or get_backend()
    return b.decrement_counter(counter_name(reservation.tenant_id, reservation.counter), reservation.day)


def used_today(
    tenant_id: str, counter: str, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> int:
    """Today's (UTC) value of a tenant's daily counter."""
    return (backend or get_backend()).get_counter(counter_name(tenant_id, counter), utc_day(as_utc(now)))


def check_dataset_size(tier: str | Tier, size_bytes: int, *, field: str = "dataset") -> None:
    """PayloadTooLarge when a dataset of ``size_bytes`` exceeds the tier's limit."""
    limit = _tier(tier).max_dataset_bytes
    if size_bytes > limit:
        raise PayloadTooLarge(
            f"{field} is {size_bytes} bytes; tier {_tier(tier).name!r} allows at most {limit} bytes",
            field=field,
        )


def max_training_seconds(tier: str | Tier) -> int:
    """The longest a training job of this tier may run (SageMaker stopping condition)."""
    return _tier(tier).max_training_seconds


def check_training_request(tier: str | Tier, *, max_runtime_seconds: int | None = None, gpu: bool = False) -> int:
    """Validate a training job's requested runtime and GPU use against the tier.

    Returns the runtime limit to apply (the tier maximum when none was requested).
    ValidationFailed (422) for a runtime above the tier maximum; Forbidden for GPU on a tier
    without GPU training.
    """
    t = _tier(tier)
    if gpu and not t.gpu_training:
        raise Forbidden(f"GPU training is not available on tier {t.name!r}", field="gpu", code="gpu_not_in_tier")
    if max_runtime_seconds is None:
        return t.max_training_seconds
    if isinstance(max_runtime_seconds, bool) or not isinstance(max_runtime_seconds, int) or max_runtime_seconds < 1:
        raise ValidationFailed("max_runtime_seconds must be a positive integer", field="max_runtime_seconds")
    if max_runtime_seconds > t.max_training_seconds:
        raise ValidationFailed(
            f"max_runtime_seconds is {max_runtime_seconds}; tier {t.name!r} allows at most {t.max_training_seconds}",
            field="max_runtime_seconds",
            unprocessable=True,
        )
    return max_runtime_seconds


def deployed_models_limit(tier: str | Tier) -> int | None:
    """How many models a tenant of this tier may have deployed at once (None: unlimited)."""
    return _tier(tier).max_deployed_models


def deployed_limit_error(tier: str | Tier) -> QuotaExceeded:
    """The error for a deploy beyond the tier's deployed-models limit (waiting will not help)."""
    t = _tier(tier)
    return QuotaExceeded(
        f"tier {t.name!r} allows {t.max_deployed_models} deployed models; undeploy one or upgrade",
        code="deployed_models_limit",
        field="name",
    )


def _take_token(name: str, rate: float, burst: int, now_s: float, b: RecordsBackend, cost: float = 1.0) -> float:
    """Take ``cost`` tokens (at most ``burst``) from a bucket (refilling ``rate``/s up to
    ``burst``); returns 0 when taken, else the seconds until they are available.
    Compare-and-set loop, so it is atomic."""
    cost = min(float(burst), max(0.0, cost))
    for _ in range(_BUCKET_ATTEMPTS):
        state = b.get_bucket(name)
        if state is None:
            tokens, version = float(burst), None
        else:
            elapsed = max(0.0, now_s - state.updated_at)
            tokens, version = min(float(burst), state.tokens + elapsed * rate), state.version
        if tokens < cost:
            return (cost - tokens) / rate
        updated_at = now_s if state is None else max(now_s, state.updated_at)
        if b.put_bucket(name, tokens - cost, updated_at, version):
            return 0.0
    raise RuntimeError(f"rate-limit bucket {name!r} too contended")


def check_request_rate(
    principal: Principal, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> None:
    """Count one API request: token bucket (``requests_per_second`` refill, ``burst`` capacity),
    then the per-day count. QuotaExceeded with Retry-After when either is exhausted.

    The local app calls this per request; in the cloud API Gateway usage plans enforce the
    same tier numbers.
    """
    b = backend or get_backend()
    now = as_utc(now)
    t = _tier(principal.tier)
    wait = _take_token(
        counter_name(principal.tenant_id, "rate"), float(t.requests_per_second), t.burst, epoch_seconds(now), b
    )
    if wait > 0:
        raise QuotaExceeded(
            f"rate limit of {t.requests_per_second} requests/second (burst {t.burst}) exceeded",
            retry_after_seconds=max(1, math.ceil(wait)),
            code="rate_limited",
        )
    _reserve_daily(principal, REQUESTS, t.requests_per_day, "requests", now, b)


@dataclass(frozen=True)
class Expense:
    """What an expensive request asks for: Monte Carlo simulations, explicit feature rows."""

    simulations: int = 0
    rows: int = 0

    @property
    def units(self) -> int:
        """Request-rate tokens it costs (a plain request costs 1)."""
        return max(1, math.ceil(self.simulations / SIMULATIONS_PER_UNIT), math.ceil(self.rows / ROWS_PER_UNIT))


def check_expense(principal: Principal, expense: Expense) -> None:
    """ValidationFailed (422, field named) when a request is larger than the tier allows."""
    t = _tier(principal.tier)
    if expense.simulations > t.max_simulations:
        raise ValidationFailed(
            f"simulations is {expense.simulations}; tier {t.name!r} allows at most {t.max_simulations}",
            field="simulations",
            unprocessable=True,
        )
    if expense.rows > t.max_batch_rows:
        raise ValidationFailed(
            f"instances has {expense.rows} rows; tier {t.name!r} allows at most {t.max_batch_rows} per request",
            field="instances",
            unprocessable=True,
        )


def charge_expense(
    principal: Principal, expense: Expense, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> None:
    """Take the request's extra rate tokens (``units - 1``: :func:`check_request_rate` took one)
    from the tenant's bucket; QuotaExceeded with Retry-After when the bucket cannot pay."""
    extra = expense.units - 1
    if extra <= 0:
        return
    t = _tier(principal.tier)
    wait = _take_token(
        counter_name(principal.tenant_id, "rate"),
        float(t.requests_per_second),
        t.burst,
        epoch_seconds(as_utc(now)),
        backend or get_backend(),
        cost=float(extra),
    )
    if wait > 0:
        raise QuotaExceeded(
            f"this request costs {expense.units} request units; the rate limit of {t.requests_per_second} "
            f"units/second (burst {t.burst}) is used up",
            retry_after_seconds=max(1, math.ceil(wait)),
            code="rate_limited",
        )


class ServerBusy(QuotaExceeded):
    """The process runs as much expensive work as it is sized for (503, retry shortly)."""

    code = "server_busy"
    http_status = 503


class ConcurrencySlots:
    """Per-process bound on concurrent expensive requests: ``per_tenant(tier)`` each, ``total``
    for the whole process. Beyond a tenant's share: 429; beyond the process bound: 503."""

    def __init__(self, what: str, total: int) -> None:
        self.what = what
        self.total = total
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    def running(self, tenant_id: str | None = None) -> int:
        with self._lock:
            return sum(self._running.values()) if tenant_id is None else self._running.get(tenant_id, 0)

    @contextmanager
    def slot(self, principal: Principal) -> Iterator[None]:
        limit = _tier(principal.tier).concurrent_simulations
        tenant = principal.tenant_id
        with self._lock:
            mine = self._running.get(tenant, 0)
            if mine >= limit:
                raise QuotaExceeded(
                    f"tier {principal.tier!r} runs at most {limit} {self.what} at once; wait for yours to finish",
                    retry_after_seconds=1,
                    code="concurrency_limited",
                )
            if sum(self._running.values()) >= self.total:
                raise ServerBusy(
                    f"the server is running {self.total} {self.what} already; retry shortly", retry_after_seconds=1
                )
            self._running[tenant] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._running[tenant] - 1
                if left:
                    self._running[tenant] = left
                else:
                    del self._running[tenant]


SIMULATION_SLOTS = ConcurrencySlots("championship forecasts", total=8)
"""Championship forecasts running in this process (their Monte Carlo runs on
``pitwall.serving.championship``'s process pool, off the request threads)."""


def reserve_marketplace_download(
    principal: Principal, *, now: datetime | None = None, backend: RecordsBackend | None = None
) -> Reservation:
    """Take one marketplace download (or fork) from today's allowance."""
    limit = _tier(principal.tier).marketplace_downloads_per_day
    return _reserve_daily(
        principal, MARKETPLACE_DOWNLOADS, limit, "marketplace downloads", now, backend or get_backend()
    )


@dataclass(frozen=True)
class Usage:
    """A tenant's current usage against its tier (for a ``GET /usage`` style endpoint)."""

    tier: str
    day: str
    training_jobs_today: int
    training_jobs_per_day: int | None
    deployed_models: int
    max_deployed_models: int | None
    marketplace_downloads_today: int
    marketplace_downloads_per_day: int | None
    requests_today: int
    requests_per_day: int


def usage(principal: Principal, *, now: datetime | None = None, backend: RecordsBackend | None = None) -> Usage:
    """Today's counters and the tier's limits for ``principal``."""
    b = backend or get_backend()
    t = _tier(principal.tier)
    day = utc_day(as_utc(now))

    def count(counter: str) -> int:
        return b.get_counter(counter_name(principal.tenant_id, counter), day)

    return Usage(
        tier=t.name,
        day=day,
        training_jobs_today=count(TRAINING_JOBS),
        training_jobs_per_day=t.training_jobs_per_day,
        deployed_models=b.count_deployed(principal.tenant_id),
        max_deployed_models=t.max_deployed_models,
        marketplace_downloads_today=count(MARKETPLACE_DOWNLOADS),
        marketplace_downloads_per_day=t.marketplace_downloads_per_day,
        requests_today=count(REQUESTS),
        requests_per_day=t.requests_per_day,
    )
