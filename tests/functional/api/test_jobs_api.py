"""Training jobs and experiments over HTTP on the local server (SQLite platform records).

The job worker here registers a copy of a real trained artifact (``RecordingTrainer``) so the
tests exercise the API, quota and job state machine without re-training; real template
training through the same worker is in ``test_template_models.py``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from pitwall.api.jobs import LocalJobLauncher
from pitwall.api.server import LocalApiServer
from pitwall.api.services import local_services, set_services
from pitwall.platform import quotas
from pitwall.platform.backend import clear_backend_cache
from pitwall.serving.deploy import LocalServing

JOB = {"template": "race_winner", "name": "rw", "seasons": [2022, 2023], "algorithm": "xgboost"}


def _start(url: str, key: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{url}/api/v1/jobs", json=body or JOB, headers={"x-api-key": key}, timeout=60)


def _job(url: str, key: str, job_id: str) -> dict[str, Any]:
    return requests.get(f"{url}/api/v1/jobs/{job_id}", headers={"x-api-key": key}, timeout=30).json()


def _wait(url: str, key: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(url, key, job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_fifty_parallel_starts_on_free_accept_exactly_five(unthrottled_server: LocalApiServer, free_key: str) -> None:
    url = unthrottled_server.url
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda i: _start(url, free_key, {**JOB, "name": f"rw{i}"}), range(50)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {202: 5, 429: 45}, statuses
    for refused in (a for a in answers if a.status_code == 429):
        assert refused.json()["error"]["code"] == "training_jobs_quota_exceeded"
        assert 1 <= int(refused.headers["Retry-After"]) <= 86400
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 5
    accepted = [a.json()["job_id"] for a in answers if a.status_code == 202]
    for job_id in accepted:
        assert _wait(url, free_key, job_id)["status"] == "succeeded"
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 5  # finished jobs keep their unit
    assert _start(url, free_key).status_code == 429


def test_job_lifecycle_and_experiments(server: LocalApiServer, pro_key: str) -> None:
    url, headers = server.url, {"x-api-key": pro_key}
    first = _start(url, pro_key, {**JOB, "name": "rw", "experiment": "grid-study", "idempotency_key": "k-1"})
    assert first.status_code == 202, first.text
    job = first.json()
    assert (job["status"], job["kind"], job["model_name"], job["template"]) == ("queued", "train", "rw", "race_winner")
    assert job["params"] == {"algorithm": "xgboost", "seasons": [2022, 2023]}  # what the request set
    replay = _start(url, pro_key, {**JOB, "name": "rw", "experiment": "grid-study", "idempotency_key": "k-1"})
    assert replay.json()["job_id"] == job["job_id"]  # idempotent: same job, no new quota unit
    clash = _start(url, pro_key, {**JOB, "name": "other", "idempotency_key": "k-1"})
    assert clash.status_code == 409

    done = _wait(url, pro_key, job["job_id"])
    assert done["status"] == "succeeded" and done["result"] == {"model": "rw", "version": 1}
    tuned = _start(url, pro_key, {**JOB, "name": "rw", "auto_tune": True, "experiment": "grid-study"}).json()
    assert tuned["kind"] == "tune"
    assert _wait(url, pro_key, tuned["job_id"])["result"]["version"] == 2
    listed = requests.get(f"{url}/api/v1/jobs?status=succeeded", headers=headers, timeout=30).json()
    assert [j["job_id"] for j in listed["jobs"]] == [job["job_id"], tuned["job_id"]]
    bad_filter = requests.get(f"{url}/api/v1/jobs?status=nope", headers=headers, timeout=30)
    assert (bad_filter.status_code, bad_filter.json()["error"]["field"]) == (400, "status")

    experiments = requests.get(f"{url}/api/v1/experiments", headers=headers, timeout=30).json()["experiments"]
    assert [e["name"] for e in experiments] == ["grid-study"]
    assert set(experiments[0]["job_ids"]) == {job["job_id"], tuned["job_id"]}
    assert experiments[0]["model_names"] == ["rw"]
    compared = requests.get(f"{url}/api/v1/experiments/grid-study", headers=headers, timeout=30).json()
    assert compared["metric"] == "test_log_loss"
    assert [r["version"] for r in compared["runs"]] == [1, 2]
    by_brier = requests.get(f"{url}/api/v1/experiments/grid-study?metric=nonsense", headers=headers, timeout=30)
    assert (by_brier.status_code, by_brier.json()["error"]["field"]) == (422, "metric")
    missing = requests.get(f"{url}/api/v1/experiments/none-such", headers=headers, timeout=30)
    assert missing.status_code == 404
    finished_cancel = requests.post(f"{url}/api/v1/jobs/{job['job_id']}/cancel", headers=headers, timeout=30)
    assert finished_cancel.status_code == 409
    assert requests.get(f"{url}/api/v1/jobs/job-unknown", headers=headers, timeout=30).status_code == 404


def test_cancelling_a_queued_job_gives_its_quota_back(
    serving: LocalServing, artifacts: dict[str, Path], free_key: str, h: Any, recording_trainer: Any
) -> None:
    gate = threading.Event()
    trainer = recording_trainer(artifacts["winner_v1"], gate)
    launcher = LocalJobLauncher(trainer, max_workers=1)
    clear_backend_cache()
    with LocalApiServer("127.0.0.1", 0, services=local_services(serving=serving, launcher=launcher)) as server:
        url = server.url
        running = _start(url, free_key, {**JOB, "name": "a"}).json()
        queued = _start(url, free_key, {**JOB, "name": "b"}).json()
        assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 2
        cancelled = requests.post(
            f"{url}/api/v1/jobs/{queued['job_id']}/cancel", headers={"x-api-key": free_key}, timeout=30
        )
        assert cancelled.json()["status"] == "cancelled"
        assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 1
        gate.set()
        assert _wait(url, free_key, running["job_id"])["status"] == "succeeded"
        launcher.wait(queued["job_id"], timeout=30)
        assert _job(url, free_key, queued["job_id"])["status"] == "cancelled"
        assert trainer.ran == [running["job_id"]]  # the cancelled job never trained
    launcher.shutdown()
    set_services(None)


def test_gpu_training_is_pro_only(server: LocalApiServer, free_key: str, pro_key: str) -> None:
    refused = _start(server.url, free_key, {**JOB, "gpu": True})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "gpu_not_in_tier")
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 0
    accepted = _start(server.url, pro_key, {**JOB, "gpu": True, "max_runtime_seconds": 8 * 3600})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["max_runtime_seconds"] == 8 * 3600


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"template": "race_winner"}, 400, "name"),
        ({**JOB, "template": "no_such_template"}, 422, "template"),
        ({**JOB, "features": ["start_position", "invented_feature"]}, 422, "features"),
        ({**JOB, "cv_folds": 1}, 422, "cv_folds"),
        ({**JOB, "seasons": [1900]}, 422, "seasons[0]"),
        ({**JOB, "max_runtime_seconds": 7200}, 422, "max_runtime_seconds"),  # Free: at most 1 hour
        ({**JOB, "name": "bad name!"}, 422, "name"),
    ],
)
def test_bad_job_requests_name_the_field_and_take_no_quota(
    server: LocalApiServer, free_key: str, body: dict[str, Any], status: int, field: str
) -> None:
    answer = _start(server.url, free_key, body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field
    assert quotas.used_today("acme", quotas.TRAINING_JOBS) == 0
