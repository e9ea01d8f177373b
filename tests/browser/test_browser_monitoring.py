"""The monitoring page in a real browser: ``monitoring.spec.mjs`` (playwright-core + Debian's Chromium,
axe-core) against ``pitwall serve`` on real F1 data in a temporary PITWALL_HOME.

A race-winner model trained on 2021-2023 is deployed with ``pitwall deploy --capture 100``; race
predictions for 2024 rounds 1-4 go through the served API (captured by the server, after those races:
never live), one for round 5 is captured before its race day (the same capture rule, its clock set to
the Saturday); then the after-race monitoring job runs for rounds 1-5. The page shows the drift table
of the captured requests, the live verified record (round 5) beside the backtest, and rounds 1-4 apart
as reconstructed. Another tenant's key gets the API's 404 for that model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.test_browser_studio import CHROMIUM, DATA, ROOT, WEB, _key, _missing, _pitwall, _run, _wait_healthy
from tests.support.network import free_port

SPEC = Path(__file__).with_name("monitoring.spec.mjs")
TENANT_A, TENANT_B = "monitor-a", "monitor-b"
MODEL = "mon_winner"
SERVED_ROUNDS = [1, 2, 3, 4]  # predicted through the API after the races (captured, not live)
LIVE_ROUND = 5  # captured before its race day: the live verified race

# What the after-race job does, in the server's home: one capture before round 5 (the capture rule
# with its clock on the Saturday), then the RaceIngested handler for rounds 1-5.
JOB = """
import sys
from datetime import timedelta
import pandas as pd
from pitwall.data.store import get_store
from pitwall.monitoring.capture import CaptureRecorder, CapturingServing, LocalCaptureSink, Sampler
from pitwall.monitoring.record import race_cutoff
from pitwall.monitoring.subscriber import on_races_ingested
from pitwall.platform import keys
from pitwall.serving.deploy import DeploymentService, LocalServing

tenant, model, live_round, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(r) for r in sys.argv[4:]]
races = get_store().read("races", [2024])
day = pd.Timestamp(races.loc[races["round"] == live_round, "date"].iloc[0])
saturday = race_cutoff(day) - timedelta(hours=10)
recorder = CaptureRecorder(LocalCaptureSink(), sampler=Sampler(0), clock=lambda: saturday)
service = DeploymentService(CapturingServing(LocalServing(), recorder))
service.invoke(keys.principal_for_tenant(tenant), model, {"race": f"2024-{live_round:02d}"})
outcome = on_races_ingested({"races": [f"2024-{r:02d}" for r in rounds]})
print(len(outcome.scores), [a.kind for a in outcome.alerts])
"""


def _predict(url: str, key: str, race: str) -> dict:
    request = urllib.request.Request(
        f"{url}/api/v1/predict/{MODEL}",
        data=json.dumps({"race": race}).encode(),
        headers={"x-api-key": key, "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200
        return json.loads(response.read())


def _served_captures(home: Path) -> int:
    folder = home / "monitoring" / "captures" / f"tenant={TENANT_A}" / f"model={MODEL}"
    return len(list(folder.glob("date=*/*.parquet"))) if folder.is_dir() else 0


@pytest.mark.slow
def test_monitoring_page_in_chromium(tmp_path: Path) -> None:
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
    for name in ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI", "PITWALL_CAPTURE_BUCKET", "PITWALL_MONITORING_BUCKET"):
        env.pop(name, None)
    _run([*_pitwall(), "ingest", "f1db", str(DATA / "f1db"), "--seasons", "2020-2024"], env)
    _run([*_pitwall(), "ingest", "laps", str(DATA / "fastf1-laps")], env)
    _run([*_pitwall(), "features", "build"], env)
    key_a, key_b = _key(env, TENANT_A), _key(env, TENANT_B)
    train = ["train", "race_winner", "--seasons", "2021-2023", "--algorithm", "logistic", "--name", MODEL]
    _run([*_pitwall(), *train, "--tenant", TENANT_A], env)
    _run([*_pitwall(), "deploy", MODEL, "--capture", "100", "--tenant", TENANT_A], env)

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*_pitwall(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    shots = Path(os.environ.get("PITWALL_SCREENSHOTS") or tempfile.mkdtemp(prefix="pitwall-monitoring-shots-"))
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, server)
        for rnd in SERVED_ROUNDS:
            assert _predict(url, key_a, f"2024-{rnd:02d}")["predictions"]
        for _ in range(120):  # the server's capture writer batches for about a second
            if _served_captures(home) >= 1:
                break
            time.sleep(0.5)
        assert _served_captures(home) >= 1, "the served predictions were not captured"
        rounds = [str(r) for r in [*SERVED_ROUNDS, LIVE_ROUND]]
        job = _run([sys.executable, "-c", JOB, TENANT_A, MODEL, str(LIVE_ROUND), *rounds], env)
        print("monitoring job:", job.strip())
        done = subprocess.run(
            ["node", "--test", "--test-concurrency=1", "--test-reporter=spec", str(SPEC)],
            env={
                **env,
                "BASE_URL": url,
                "KEY_A": key_a,
                "KEY_B": key_b,
                "MODEL": MODEL,
                "LIVE_RACE": f"2024-{LIVE_ROUND:02d}",
                "RECONSTRUCTED_RACE": f"2024-{SERVED_ROUNDS[0]:02d}",
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
        assert len(list(shots.glob("*-390.png"))) >= 2, "a screenshot of the monitoring page at 390 px"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
