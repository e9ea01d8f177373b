"""`pitwall serve`'s default job launcher runs the training workflow definition (the same steps as
Step Functions in the cloud) on the local lake: a job started over HTTP trains, is evaluated
against the (absent) champion, registered, and its record says so."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pitwall.api.jobs import WorkflowJobLauncher
from pitwall.api.server import LocalApiServer
from pitwall.api.services import local_services, set_services
from pitwall.data.store import LocalStore
from pitwall.platform import keys
from pitwall.platform.backend import clear_backend_cache


@pytest.fixture
def server(feature_lake: LocalStore, _isolated_home: Path) -> Iterator[LocalApiServer]:
    shutil.copytree(feature_lake.root, _isolated_home / "lake")
    clear_backend_cache()
    services = local_services()
    assert isinstance(services.launcher, WorkflowJobLauncher)
    with LocalApiServer("127.0.0.1", 0, services=services) as srv:
        yield srv
    services.launcher.shutdown()
    set_services(None)


def test_a_job_started_over_http_runs_the_workflow(server: LocalApiServer) -> None:
    headers = {"x-api-key": keys.create_key("acme", "free")}
    body = {"template": "safety_car", "name": "sc", "seasons": [2021, 2022, 2023]}
    job = requests.post(f"{server.url}/api/v1/jobs", json=body, headers=headers, timeout=30)
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    deadline = time.monotonic() + 240
    while (status := requests.get(f"{server.url}/api/v1/jobs/{job_id}", headers=headers, timeout=30).json())[
        "status"
    ] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert status["status"] == "succeeded", status
    result = status["result"]
    assert (result["model_name"], result["version"]) == ("sc", 1)
    assert result["not_worse_than_champion"] is True  # no champion yet
    model = requests.get(f"{server.url}/api/v1/models/sc", headers=headers, timeout=30).json()
    assert model["template"] == "safety_car" and model["data_window"]["seasons"] == [2021, 2022, 2023]
