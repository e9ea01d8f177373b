"""Job records: submission, idempotency, quota, status transitions, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from pitwall.errors import Conflict, Forbidden, NotFound, QuotaExceeded, ValidationFailed
from pitwall.platform import jobs, models, quotas
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import Principal


def submit(principal: Principal, backend: RecordsBackend, **kw: Any) -> jobs.JobSubmission:
    kw.setdefault("model_name", "winner")
    kw.setdefault("template", "race_winner")
    return jobs.submit_job(principal, backend=backend, **kw)


def test_submitted_job_is_queued_with_tier_runtime(backend: RecordsBackend, free: Principal, noon: datetime) -> None:
    sub = submit(free, backend, params={"max_depth": 4}, experiment="baseline", now=noon)
    assert sub.created
    job = jobs.get_job(free.tenant_id, sub.job.job_id, backend=backend)
    assert job == sub.job
    assert (job.status, job.kind, job.max_runtime_seconds, job.quota_day) == ("queued", "train", 3600, "2026-03-01")
    assert job.params == {"max_depth": 4}
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 1


def test_idempotent_retry_returns_the_same_job_without_new_quota(
    backend: RecordsBackend, free: Principal, noon: datetime
) -> None:
    first = submit(free, backend, idempotency_key="req-123", now=noon)
    retry = submit(free, backend, idempotency_key="req-123", now=noon + timedelta(seconds=3))
    assert (retry.created, retry.job) == (False, first.job)
    assert len(jobs.list_jobs(free.tenant_id, backend=backend)) == 1
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 1
    with pytest.raises(Conflict) as err:
        submit(free, backend, idempotency_key="req-123", model_name="other", now=noon)
    assert err.value.field == "idempotency_key"
    # keys are per tenant
    other = submit(Principal("other", "free"), backend, idempotency_key="req-123", now=noon)
    assert other.created and other.job.job_id != first.job.job_id


def test_concurrent_retries_with_one_key_create_one_job(
    backend: RecordsBackend, pro: Principal, noon: datetime, concurrently: Callable[..., list[Any]]
) -> None:
    results = concurrently(lambda i: submit(pro, backend, idempotency_key="same", now=noon), 16)
    assert len({r.job.job_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(jobs.list_jobs(pro.tenant_id, backend=backend)) == 1
    assert quotas.used_today(pro.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 1


def test_sixth_training_job_of_the_day_is_refused_on_free(
    backend: RecordsBackend, free: Principal, noon: datetime
) -> None:
    for _ in range(5):
        submit(free, backend, now=noon)
    with pytest.raises(QuotaExceeded) as err:
        submit(free, backend, now=noon)
    assert err.value.retry_after_seconds == 12 * 3600
    assert len(jobs.list_jobs(free.tenant_id, backend=backend)) == 5
    # backtests do not use training quota
    assert submit(free, backend, kind="backtest", now=noon).job.quota_day is None


def test_tier_limits_on_runtime_and_gpu(backend: RecordsBackend, free: Principal, pro: Principal) -> None:
    with pytest.raises(ValidationFailed) as err:
        submit(free, backend, max_runtime_seconds=2 * 3600)
    assert (err.value.field, err.value.http_status) == ("max_runtime_seconds", 422)
    with pytest.raises(Forbidden) as ferr:
        submit(free, backend, gpu=True)
    assert ferr.value.field == "gpu"
    job = submit(pro, backend, max_runtime_seconds=8 * 3600, gpu=True).job
    assert (job.max_runtime_seconds, job.gpu) == (8 * 3600, True)
    assert jobs.list_jobs(free.tenant_id, backend=backend) == []


def test_status_transitions_and_finished_jobs_are_final(backend: RecordsBackend, pro: Principal) -> None:
    job = submit(pro, backend).job
    running = jobs.start_job(pro.tenant_id, job.job_id, backend=backend)
    assert running.status == "running"
    assert jobs.start_job(pro.tenant_id, job.job_id, backend=backend) == running  # repeat is a no-op
    done = jobs.complete_job(pro.tenant_id, job.job_id, {"model_version": 3}, backend=backend)
    assert (done.status, done.result) == ("succeeded", {"model_version": 3})
    with pytest.raises(Conflict) as err:
        jobs.cancel_job(pro.tenant_id, job.job_id, backend=backend)
    assert err.value.http_status == 409
    with pytest.raises(Conflict):
        jobs.fail_job(pro.tenant_id, job.job_id, "late failure", backend=backend)
    assert jobs.get_job(pro.tenant_id, job.job_id, backend=backend).status == "succeeded"
    queued = submit(pro, backend).job
    with pytest.raises(Conflict):
        jobs.complete_job(pro.tenant_id, queued.job_id, {}, backend=backend)


def test_failure_records_error_text(backend: RecordsBackend, pro: Principal) -> None:
    job = submit(pro, backend).job
    jobs.start_job(pro.tenant_id, job.job_id, backend=backend)
    failed = jobs.fail_job(pro.tenant_id, job.job_id, "XGBoostError: " + "x" * 5000, backend=backend)
    stored = jobs.get_job(pro.tenant_id, job.job_id, backend=backend)
    assert stored == failed and stored.status == "failed"
    assert stored.error is not None and stored.error.startswith("XGBoostError") and len(stored.error) == 4000


def test_jobs_that_never_ran_give_quota_back(backend: RecordsBackend, free: Principal, noon: datetime) -> None:
    cancelled = submit(free, backend, now=noon).job
    failed_launch = submit(free, backend, now=noon).job
    ran = submit(free, backend, now=noon).job
    jobs.cancel_job(free.tenant_id, cancelled.job_id, backend=backend)
    jobs.fail_job(free.tenant_id, failed_launch.job_id, "could not start workflow", backend=backend)
    jobs.start_job(free.tenant_id, ran.job_id, backend=backend)
    jobs.fail_job(free.tenant_id, ran.job_id, "training crashed", backend=backend)
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 1


def test_concurrent_cancel_and_complete_have_one_winner(
    backend: RecordsBackend, pro: Principal, concurrently: Callable[..., list[Any]]
) -> None:
    job = submit(pro, backend).job
    jobs.start_job(pro.tenant_id, job.job_id, backend=backend)

    def act(i: int) -> str:
        try:
            if i % 2:
                return jobs.cancel_job(pro.tenant_id, job.job_id, backend=backend).status
            return jobs.complete_job(pro.tenant_id, job.job_id, {"i": i}, backend=backend).status
        except Conflict:
            return "conflict"

    outcomes = concurrently(act, 10)
    final = jobs.get_job(pro.tenant_id, job.job_id, backend=backend).status
    assert final in ("cancelled", "succeeded")
    loser = "succeeded" if final == "cancelled" else "cancelled"
    assert loser not in outcomes
    assert outcomes.count("conflict") == 5


def test_jobs_are_tenant_scoped(backend: RecordsBackend, pro: Principal) -> None:
    job = submit(pro, backend).job
    with pytest.raises(NotFound):
        jobs.get_job("rival", job.job_id, backend=backend)
    with pytest.raises(NotFound):
        jobs.cancel_job("rival", job.job_id, backend=backend)
    assert jobs.list_jobs("rival", backend=backend) == []
    assert jobs.get_job(pro.tenant_id, job.job_id, backend=backend).status == "queued"


def test_list_filters_and_experiments(
    backend: RecordsBackend, pro: Principal, noon: datetime, model_kwargs: Callable[..., dict[str, Any]]
) -> None:
    a = submit(pro, backend, experiment="tuning", now=noon).job
    b = submit(pro, backend, experiment="tuning", now=noon + timedelta(minutes=1)).job
    c = submit(pro, backend, now=noon + timedelta(minutes=2)).job
    jobs.start_job(pro.tenant_id, b.job_id, backend=backend)
    assert [j.job_id for j in jobs.list_jobs(pro.tenant_id, backend=backend)] == [a.job_id, b.job_id, c.job_id]
    assert [j.job_id for j in jobs.list_jobs(pro.tenant_id, status="running", backend=backend)] == [b.job_id]
    assert len(jobs.list_jobs(pro.tenant_id, experiment="tuning", backend=backend)) == 2
    with pytest.raises(ValidationFailed):
        jobs.list_jobs(pro.tenant_id, status="done", backend=backend)
    models.register_model(pro.tenant_id, "winner", experiment="tuning", backend=backend, **model_kwargs())
    [exp] = jobs.list_experiments(pro.tenant_id, backend=backend)
    assert (exp.name, exp.job_ids, exp.model_names) == ("tuning", [a.job_id, b.job_id], ["winner"])


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"kind": "mine-bitcoin"}, "kind"),
        ({"model_name": "bad name"}, "model_name"),
        ({"idempotency_key": "has space"}, "idempotency_key"),
        ({"params": {"x": object()}}, "params"),
    ],
)
def test_bad_submissions_name_the_field(
    backend: RecordsBackend, free: Principal, noon: datetime, kw: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        submit(free, backend, now=noon, **kw)
    assert err.value.field == field
    assert quotas.used_today(free.tenant_id, quotas.TRAINING_JOBS, now=noon, backend=backend) == 0
