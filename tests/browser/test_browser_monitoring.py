"""The monitoring page in a real browser: ``monitoring.spec.mjs`` (playwright-core + Debian's Chromium,
axe-core) against ``pitwall serve`` on real F1 data in a temporary PITWALL_HOME.

A race-winner model trained on 2021-2023 is deployed with ``pitwall deploy --capture 100``; race
predictions for 2024 rounds 1-4 go through the served API (captured by the server, after those races:
never live), one for round 5 is captured before its race day (the same capture rule, its clock set to
the Saturday); then the after-race monitoring job runs for rounds 1-5. Predictions for rounds 6-11 are
served too, so that the captures reach the drift rule's default minimums (10 requests, 200 rows)
and the page has a drift verdict to show. The page shows the drift table of the captured requests,
the live verified record (round 5) beside the backtest, and rounds 1-4 apart as reconstructed.
Another tenant's key gets the API's 404 for that model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from pitwall.monitoring.settings import DEFAULT_MIN_SERVED_REQUESTS
from tests.browser.support import DATA, home_env, key, missing, pitwall, run, run_spec, served

SPEC = Path(__file__).with_name("monitoring.spec.mjs")
TENANT_A, TENANT_B = "monitor-a", "monitor-b"
MODEL = "mon_winner"
SERVED_ROUNDS = [1, 2, 3, 4]  # predicted through the API after the races (captured, not live)
LIVE_ROUND = 5  # captured before its race day: the live verified race
# served after the races, never ingested by the job: the requests (about 20 rows each) that, with the
# others, reach the drift rule's minimums (a drift verdict needs 10 requests and 200 rows by default)
DRIFT_ROUNDS = list(range(6, 6 + DEFAULT_MIN_SERVED_REQUESTS - len(SERVED_ROUNDS)))

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


def _summary(home: Path) -> dict:
    path = home / "monitoring" / "summaries" / f"tenant={TENANT_A}" / f"model={MODEL}.json"
    return dict(json.loads(path.read_text()))


def _captured_requests(home: Path) -> int:
    """Requests the server has written to its capture files so far."""
    import pandas as pd

    folder = home / "monitoring" / "captures" / f"tenant={TENANT_A}" / f"model={MODEL}"
    files = sorted(folder.glob("date=*/*.parquet")) if folder.is_dir() else []
    return len({c for f in files for c in pd.read_parquet(f, columns=["capture_id"])["capture_id"]})


@pytest.mark.slow
def test_monitoring_page_in_chromium(tmp_path: Path) -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    env = home_env(home)
    run([*pitwall(), "ingest", "f1db", str(DATA / "f1db"), "--seasons", "2020-2024"], env)
    run([*pitwall(), "ingest", "laps", str(DATA / "fastf1-laps")], env)
    run([*pitwall(), "features", "build"], env)
    key_a, key_b = key(env, TENANT_A), key(env, TENANT_B)
    train = ["train", "race_winner", "--seasons", "2021-2023", "--algorithm", "logistic", "--name", MODEL]
    run([*pitwall(), *train, "--tenant", TENANT_A], env)
    run([*pitwall(), "deploy", MODEL, "--capture", "100", "--tenant", TENANT_A], env)
    shots = Path(os.environ.get("PITWALL_SCREENSHOTS") or tempfile.mkdtemp(prefix="pitwall-monitoring-shots-"))
    with served(env, tmp_path / "serve.log") as url:
        served_rounds = [*SERVED_ROUNDS, *DRIFT_ROUNDS]
        for rnd in served_rounds:
            assert _predict(url, key_a, f"2024-{rnd:02d}")["predictions"]
        for _ in range(120):  # the server's capture writer batches for about a second
            if _captured_requests(home) >= len(served_rounds):
                break
            time.sleep(0.5)
        assert _captured_requests(home) == len(served_rounds), "the served predictions were not all captured"
        rounds = [str(r) for r in [*SERVED_ROUNDS, LIVE_ROUND]]
        job = run([sys.executable, "-c", JOB, TENANT_A, MODEL, str(LIVE_ROUND), *rounds], env)
        print("monitoring job:", job.strip())
        summary = _summary(home)
        drift = summary["drift"]
        assert drift["status"] in ("ok", "drift"), drift["note"]  # enough captures for a verdict
        # a drift verdict raises the drift alert the page lists (one live race: no record alert yet)
        assert [a["kind"] for a in summary["alerts"]] == (["feature_drift"] if drift["status"] == "drift" else [])
        done = run_spec(
            SPEC,
            env,
            BASE_URL=url,
            KEY_A=key_a,
            KEY_B=key_b,
            MODEL=MODEL,
            LIVE_RACE=f"2024-{LIVE_ROUND:02d}",
            RECONSTRUCTED_RACE=f"2024-{SERVED_ROUNDS[0]:02d}",
            SHOT_DIR=str(shots),
        )
    print(f"screenshots: {shots}")
    assert done.returncode == 0, f"browser suite failed:\n{done.stdout[-12000:]}\n{done.stderr[-4000:]}"
    assert len(list(shots.glob("*-390.png"))) >= 2, "a screenshot of the monitoring page at 390 px"
