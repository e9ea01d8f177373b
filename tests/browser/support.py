"""What the browser tests share: what must be installed, the CLI in a temporary home, keys, and
``pitwall serve`` started and stopped around a test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.network import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = os.environ.get("PITWALL_CHROMIUM", "/usr/bin/chromium")
DATA = Path(os.environ.get("PITWALL_DATA", ROOT.parent / "shared" / "data"))
CLOUD_VARIABLES = ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI", "PITWALL_CAPTURE_BUCKET", "PITWALL_MONITORING_BUCKET")


def missing() -> str | None:
    """Why the browser tests cannot run here (skipped with it), or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (make test installs Debian's chromium)"
    if not (WEB / "node_modules" / "playwright-core").is_dir() or not (WEB / "node_modules" / "axe-core").is_dir():
        return "web/node_modules is missing (make test runs npm ci in web/)"
    if not (DATA / "f1db").is_dir():
        return f"no F1 data at {DATA}"
    from pitwall.webui import is_built

    if not is_built():
        return "the web UI is not built (make web)"
    return None


def home_env(home: Path) -> dict[str, str]:
    """This process's environment with a temporary local Pitwall home and nothing of the cloud's."""
    env = {
        **os.environ,
        "PITWALL_HOME": str(home),
        "PITWALL_DATA": str(DATA),
        "PITWALL_BACKEND": "local",
        "PYTHONUNBUFFERED": "1",
    }
    for name in CLOUD_VARIABLES:
        env.pop(name, None)
    return env


def pitwall() -> list[str]:
    """The ``pitwall`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("pitwall")
    return [str(exe)] if exe.exists() else [shutil.which("pitwall") or "pitwall"]


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def key(env: dict[str, str], tenant: str) -> str:
    out = run([*pitwall(), "keys", "create", "--tenant", tenant, "--tier", "free"], env)
    return out.strip().splitlines()[-1].strip()


def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise AssertionError(f"pitwall serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("pitwall serve did not become healthy")


@contextmanager
def served(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``pitwall serve`` on a free loopback port for the block; yields its base URL."""
    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*pitwall(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, server)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def run_spec(spec: Path, env: dict[str, str], **variables: str) -> subprocess.CompletedProcess[str]:
    """A ``node --test`` browser spec with Chromium, the web folder and ``variables`` in its environment."""
    return subprocess.run(
        ["node", "--test", "--test-concurrency=1", "--test-reporter=spec", str(spec)],
        env={**env, "WEB_DIR": str(WEB), "CHROMIUM": CHROMIUM, **variables},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
