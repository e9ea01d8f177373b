"""Jobs survive their server: a server killed mid-job leaves no job ``running`` after the next
start, queued jobs run, and the quota follows the one rule (a job that started counts, one that
never ran is given back). Local jobs stop at their max runtime.

The killed server is a real child process (SIGKILL while its job trains); the next start is a
real ``LocalApiServer`` over the same Pitwall home.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pitwall.api.server import LocalApiServer, ServerLimits
from pitwall.api.services import local_services
from pitwall.platform import jobs, keys, quotas
from pitwall.platform.backend import clear_backend_cache, get_backend
from pitwall.workflow import launchers
from pitwall.workflow.launchers import LocalJobLauncher, WorkflowJobLauncher
from pitwall.workflow.request import TrainingRequest

# The first server: takes two jobs, starts training the first (blocked forever), then is killed.
FIRST_SERVER = textwrap.dedent(
    """
    import sys, threading
    from pitwall.platform import jobs, keys
    from pitwall.workflow.launchers import LocalJobLauncher

    started = threading.Event()

    def trainer(job):
        started.set()
        threading.Event().wait()  # trains until the process is killed

    keys.create_tenant("acme", "free")
    principal = keys.principal_for_tenant("acme")
    launcher = LocalJobLauncher(trainer, max_workers=1)
    ids = []
    for name in ("first", "second"):
        job = jobs.submit_job(principal, model_name=name, template="race_winner", params={}).job
        launcher.launch(principal, job)
        ids.append(job.job_id)
    started.wait()
    print(" ".join(ids), flush=True)
    threading.Event().wait()
    """
)


def _kill_first_server(home: Path) -> list[str]:
    env = {**os.environ, "PITWALL_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", FIRST_SERVER], env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, "the first server did not start its job"
        ids = line.split()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    return ids


def test_a_killed_server_leaves_no_job_running_and_its_queue_runs(pitwall_home: Path) -> None:
    first, second = _kill_first_server(pitwall_home)
    clear_backend_cache()
    records = get_backend()
    assert [jobs.get_job("acme", j, backend=records).status for j in (first, second)] == ["running", "queued"]
    assert quotas.used_today("acme", quotas.TRAINING_JOBS, backend=records) == 2  # both reserved

    ran: list[str] = []

    def trainer(job: Any) -> dict[str, Any]:
        ran.append(job.job_id)
        return {"model": job.model_name}

    launcher = LocalJobLauncher(trainer, max_workers=1, records=records)
    services = local_services(records=records, launcher=launcher, enforce_rate_limits=False)
    with LocalApiServer(port=0, services=services, limits=ServerLimits()):
        launcher.wait(second, timeout=60)

    interrupted = jobs.get_job("acme", first, backend=records)
    assert interrupted.status == "failed"
    assert "interrupted" in (interrupted.error or "") and "quota unit counts" in (interrupted.error or "")
    assert jobs.get_job("acme", second, backend=records).status == "succeeded"
    assert ran == [second]  # the interrupted job is not run again; the queued one is
    assert not [j for j in jobs.list_jobs("acme", backend=records) if j.status in ("queued", "running")]
    # one rule: both jobs started, so both count; nothing was refunded or taken twice
    assert quotas.used_today("acme", quotas.TRAINING_JOBS, backend=records) == 2
    assert not list((pitwall_home / "jobs" / "owners").glob("*.json"))  # no owner left behind


def test_a_queued_job_that_cannot_resume_is_failed_and_refunded(pitwall_home: Path) -> None:
    keys.create_tenant("gone", "free")
    job = jobs.submit_job(keys.principal_for_tenant("gone"), model_name="m", template="race_winner", params={}).job
    assert quotas.used_today("gone", quotas.TRAINING_JOBS) == 1
    records = get_backend()
    records_conn = records._conn()  # the tenant disappears (an operator removed it)
    records_conn.execute("DELETE FROM tenants WHERE tenant_id = ?", ("gone",))
    records_conn.commit()
    outcome = launchers.recover_local_jobs(LocalJobLauncher(lambda j: {}), records)
    assert outcome == {job.job_id: "failed"}
    assert jobs.get_job("gone", job.job_id, backend=records).error == "its tenant no longer exists"
    assert quotas.used_today("gone", quotas.TRAINING_JOBS, backend=records) == 0  # never ran: given back


def test_a_job_whose_owner_is_alive_is_left_alone(pitwall_home: Path) -> None:
    keys.create_tenant("busy", "free")
    principal = keys.principal_for_tenant("busy")
    job = jobs.submit_job(principal, model_name="m", template="race_winner", params={}).job
    jobs.start_job("busy", job.job_id)
    launchers._claim(job.job_id)  # this (live) process owns it
    assert launchers.recover_local_jobs(LocalJobLauncher(lambda j: {}), get_backend()) == {}
    assert jobs.get_job("busy", job.job_id).status == "running"
    launchers._release(job.job_id)


def test_an_in_thread_job_fails_at_its_max_runtime_and_counts(pitwall_home: Path) -> None:
    import threading

    keys.create_tenant("slow", "free")
    principal = keys.principal_for_tenant("slow")
    job = jobs.submit_job(principal, model_name="m", template="race_winner", params={}, max_runtime_seconds=1).job
    release = threading.Event()
    failed_seen = threading.Event()

    def trainer(j: Any) -> dict[str, Any]:
        while jobs.get_job("slow", j.job_id).status != "failed":
            release.wait(0.05)
        failed_seen.set()
        return {"model": "m"}  # discarded: the job already ended

    launcher = LocalJobLauncher(trainer)
    launcher.launch(principal, job)
    launcher.wait(job.job_id, timeout=120)
    record = jobs.get_job("slow", job.job_id)
    assert failed_seen.is_set() and record.status == "failed"
    assert "exceeded its max runtime of 1 s" in (record.error or "")
    assert quotas.used_today("slow", quotas.TRAINING_JOBS) == 1  # it ran: counted


@pytest.fixture
def pitwall_home(tmp_path: Path) -> Path:
    clear_backend_cache()
    home = Path(os.environ["PITWALL_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    yield home
    clear_backend_cache()


def test_a_free_workflow_job_is_killed_at_its_max_runtime(pitwall_home: Path, lake: Any) -> None:
    """A long tuning run on the Free tier with ``max_runtime_seconds=5``: the child process that
    trains is killed at the limit, the job ends failed saying why, and its unit counts."""
    (pitwall_home / "lake").symlink_to(Path(lake.root), target_is_directory=True)
    keys.create_tenant("free-user", "free")
    principal = keys.principal_for_tenant("free-user")
    request = TrainingRequest(template="race_winner", model_name="tuned", auto_tune=True, n_trials=10_000)
    job = jobs.submit_job(
        principal,
        model_name="tuned",
        template="race_winner",
        kind=request.kind,
        params=request.to_params(),
        max_runtime_seconds=5,
    ).job
    launcher = WorkflowJobLauncher()
    assert launcher.isolated()
    launcher.launch(principal, job)
    launcher.wait(job.job_id, timeout=300)
    record = jobs.get_job("free-user", job.job_id)
    assert record.status == "failed"
    assert "exceeded its max runtime of 5 s" in (record.error or ""), record.error
    assert quotas.used_today("free-user", quotas.TRAINING_JOBS) == 1
    log = (pitwall_home / "jobs" / "logs" / f"{job.job_id}.log").read_text()
    assert "ended SUCCEEDED" not in log
    assert json.loads(json.dumps(record.to_doc()))["status"] == "failed"
