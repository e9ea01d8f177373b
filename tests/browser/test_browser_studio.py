"""Pitwall Studio in a real browser: ``studio.spec.mjs`` (playwright-core + Debian's Chromium,
axe-core) against ``pitwall serve`` on real F1 data in a temporary PITWALL_HOME.

``make test`` installs what this needs (``chromium`` with apt-get, ``web/node_modules`` with npm ci);
without them the test is skipped with the reason. Screenshots of every page (1280 and 390 px) go to
``$PITWALL_SCREENSHOTS`` or a temporary folder, printed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.network import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SPEC = Path(__file__).with_name("studio.spec.mjs")
CHROMIUM = os.environ.get("PITWALL_CHROMIUM", "/usr/bin/chromium")
DATA = Path(os.environ.get("PITWALL_DATA", ROOT.parent / "shared" / "data"))
SEASONS = "2019-2024"  # training 2020-2023, Monaco 2024 predicted and scored


def _missing() -> str | None:
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


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _pitwall() -> list[str]:
    """The ``pitwall`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("pitwall")
    return [str(exe)] if exe.exists() else [shutil.which("pitwall") or "pitwall"]


def _key(env: dict[str, str], tenant: str) -> str:
    out = _run([*_pitwall(), "keys", "create", "--tenant", tenant, "--tier", "free"], env)
    return out.strip().splitlines()[-1].strip()


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
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


@pytest.mark.slow
def test_studio_in_chromium(tmp_path: Path) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "PITWALL_HOME": str(home),
        "PITWALL_DATA": str(DATA),
        "PITWALL_BACKEND": "local",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PITWALL_MLFLOW_URI", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    _run([*_pitwall(), "ingest", "f1db", str(DATA / "f1db"), "--seasons", SEASONS], env)
    _run([*_pitwall(), "ingest", "laps", str(DATA / "fastf1-laps")], env)
    _run([*_pitwall(), "features", "build"], env)
    key_a, key_b = _key(env, "studio-a"), _key(env, "studio-b")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*_pitwall(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    shots = Path(os.environ.get("PITWALL_SCREENSHOTS") or tempfile.mkdtemp(prefix="pitwall-studio-shots-"))
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, server)
        done = subprocess.run(
            ["node", "--test", "--test-concurrency=1", "--test-reporter=spec", str(SPEC)],
            env={
                **env,
                "BASE_URL": url,
                "KEY_A": key_a,
                "KEY_B": key_b,
                "SHOT_DIR": str(shots),
                "WEB_DIR": str(WEB),
                "CHROMIUM": CHROMIUM,
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        print(f"screenshots: {shots}")
        assert done.returncode == 0, f"browser suite failed:\n{done.stdout[-12000:]}\n{done.stderr[-4000:]}"
        assert len(list(shots.glob("*-390.png"))) >= 15, "a screenshot of every page at 390 px"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
