"""``pitwall keys create``, ``pitwall deploy`` / ``undeploy`` and ``pitwall serve``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from typer.testing import CliRunner

from pitwall.cli import app
from pitwall.config import REPO_ROOT
from pitwall.platform import keys, models
from pitwall.platform.backend import clear_backend_cache
from pitwall.serving.deploy import reset_default_service

runner = CliRunner()


def test_keys_create_prints_one_working_key() -> None:
    done = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--tier", "pro"])
    assert done.exit_code == 0, done.output
    key = done.stdout.strip()
    assert re.fullmatch(r"pw_[A-Za-z0-9_-]{43}", key)
    principal = keys.authenticate(key)
    assert (principal.tenant_id, principal.tier) == ("acme", "pro")

    wrong_tier = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--tier", "free"])
    assert wrong_tier.exit_code == 2 and "tier" in wrong_tier.output  # acme is already on pro
    bad = runner.invoke(app, ["keys", "create", "--tenant", "x", "--tier", "gold"])
    assert bad.exit_code == 2 and "tier must be one of" in bad.output


def test_deploy_and_undeploy_commands(artifacts: dict[str, Path], h: Any) -> None:
    clear_backend_cache()
    reset_default_service()
    keys.create_tenant("local", "free")
    h.register("local", "rw", artifacts["winner_v1"])
    h.register("local", "rw", artifacts["winner_v2"])
    done = runner.invoke(app, ["deploy", "rw", "--version", "1"])
    assert done.exit_code == 0, done.output
    assert "deployed rw version 1 (local)" in done.output
    assert models.get_model("local", "rw").deployed_version == 1
    assert runner.invoke(app, ["deploy", "rw"]).exit_code == 0
    assert models.get_model("local", "rw").deployed_version == 2

    undone = runner.invoke(app, ["undeploy", "rw"])
    assert undone.exit_code == 0 and "undeployed rw" in undone.output
    assert models.get_model("local", "rw").deployed_version is None
    missing = runner.invoke(app, ["deploy", "nope"])
    assert missing.exit_code == 2 and "not found" in missing.output
    other_tenant = runner.invoke(app, ["deploy", "rw", "--tenant", "someone-else"])
    assert other_tenant.exit_code == 2 and "not found" in other_tenant.output
    reset_default_service()


def test_serve_runs_the_api_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PITWALL_HOME": str(tmp_path / "home"), "PITWALL_BACKEND": "local"}
    key = subprocess.run(
        [sys.executable, "-c", "from pitwall.cli import main; main()", "keys", "create", "--tenant", "t1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from pitwall.cli import main; main()", "serve", "--port", "0"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        assert requests.get(url[0] + "/api/v1/health", timeout=10).json()["status"] == "ok"
        listed = requests.get(url[0] + "/api/v1/models", headers={"x-api-key": key}, timeout=10)
        assert listed.json() == {"models": []}
        assert requests.get(url[0] + "/api/v1/models", timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_serve_reports_a_busy_port() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = runner.invoke(app, ["serve", "--port", str(port)])
    assert done.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in done.output
