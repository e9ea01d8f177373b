"""Pitwall Studio in a real browser: ``studio.spec.mjs`` (playwright-core + Debian's Chromium,
axe-core) against ``pitwall serve`` on real F1 data in a temporary PITWALL_HOME.

``make test`` installs what this needs (``chromium`` with apt-get, ``web/node_modules`` with npm ci);
without them the test is skipped with the reason. Screenshots of every page (1280 and 390 px) go to
``$PITWALL_SCREENSHOTS`` or a temporary folder, printed at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.browser.support import DATA, home_env, key, missing, pitwall, run, run_spec, served

SPEC = Path(__file__).with_name("studio.spec.mjs")
SEASONS = "2019-2024"  # training 2020-2023, Monaco 2024 predicted and scored


@pytest.mark.slow
def test_studio_in_chromium(tmp_path: Path) -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    env = home_env(tmp_path / "home")
    run([*pitwall(), "ingest", "f1db", str(DATA / "f1db"), "--seasons", SEASONS], env)
    run([*pitwall(), "ingest", "laps", str(DATA / "fastf1-laps")], env)
    run([*pitwall(), "features", "build"], env)
    key_a, key_b = key(env, "studio-a"), key(env, "studio-b")
    shots = Path(os.environ.get("PITWALL_SCREENSHOTS") or tempfile.mkdtemp(prefix="pitwall-studio-shots-"))
    with served(env, tmp_path / "serve.log") as url:
        done = run_spec(SPEC, env, BASE_URL=url, KEY_A=key_a, KEY_B=key_b, SHOT_DIR=str(shots))
    print(f"screenshots: {shots}")
    assert done.returncode == 0, f"browser suite failed:\n{done.stdout[-12000:]}\n{done.stderr[-4000:]}"
    assert len(list(shots.glob("*-390.png"))) >= 15, "a screenshot of every page at 390 px"
