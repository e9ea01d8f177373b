"""``pitwall serve`` needs only the installed package: the API app is built inside ``pitwall``,
not loaded from the repository's ``functions/api`` folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pitwall.config import REPO_ROOT

SCRIPT = r"""
import json, sys, urllib.request
sys.path.insert(0, sys.argv[1])  # the copied package, ahead of the checkout's
import pitwall
from pitwall.api.server import LocalApiServer

server = LocalApiServer("127.0.0.1", 0).start()
try:
    with urllib.request.urlopen(server.url + "/api/v1/openapi.json", timeout=30) as answer:
        document = json.load(answer)
    with urllib.request.urlopen(server.url + "/api/v1/health", timeout=30) as answer:
        health = answer.status
finally:
    server.stop()
loaded = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
print(json.dumps({
    "package": pitwall.__file__,
    "health": health,
    "operations": sum(len(v) for v in document["paths"].values()),
    "from_checkout_functions": [f for f in loaded if "/functions/" in f],
}))
"""


def test_the_server_runs_from_a_copy_of_the_package_alone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(REPO_ROOT / "pitwall", site / "pitwall", ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PITWALL_HOME": str(tmp_path / "home"), "PITWALL_BACKEND": "local"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(site)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["package"].startswith(str(site))
    assert result["health"] == 200
    from pitwall.api.operations import OPERATIONS

    assert result["operations"] == len(OPERATIONS)
    assert result["from_checkout_functions"] == []
