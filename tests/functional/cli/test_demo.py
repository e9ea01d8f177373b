"""``pitwall demo`` (what ``make demo`` runs) as a whole process in a fresh home, as a user runs it:
ingest the real data, build the feature tables, train and deploy the race-winner template, serve
a prediction of a real race over HTTP, and print the web UI's address and the demo's API key; the
commands it suggests next then work in that home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pitwall.templates import TEMPLATES

CLI = Path(sys.executable).parent / "pitwall"


def _run(args: list[str], home: Path, data: Path) -> subprocess.CompletedProcess[str]:
    # the test's own home (tests/conftest.py points PITWALL_HOME and MLflow's variables into it)
    env = {**os.environ, "PITWALL_HOME": str(home), "PITWALL_DATA": str(data), "COLUMNS": "200"}
    env.pop("PITWALL_TENANT", None)
    return subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=900)


def test_demo_serves_a_real_race_and_its_suggestions_work(_isolated_home: Path, shared_data: Path) -> None:
    home = _isolated_home
    assert not home.exists()  # a fresh home, as on a new machine
    done = _run(["demo"], home, shared_data)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Traceback" not in out + done.stderr
    seasons = sorted(p.name for p in (shared_data / "f1db/src/data/seasons").iterdir() if p.name.isdigit())
    assert f"(seasons {seasons[0]}-{seasons[-1]})" in out  # every stored season of F1DB ingested
    assert re.search(r"trained race_winner_demo v1 \(\w+\) on 2014-2023", out)
    assert "vs naive baseline" in out  # the model's figures are shown beside the grid's
    card_note = TEMPLATES["race_winner"].card_note  # and the template's verdict beside one season's figures
    assert card_note and f"card: {card_note}" in " ".join(out.split())

    # the answer came over HTTP from the deployed model: five drivers of Monaco 2024, best first
    assert "prediction from race_winner_demo v1 for 2024-08:" in out
    ranked = re.findall(r"^\s+(\d+)\. ([a-z0-9-]+)\s+p\(win\)=(0\.\d+)$", out, flags=re.M)
    assert [int(rank) for rank, _, _ in ranked] == [1, 2, 3, 4, 5]
    p_win = [float(p) for _, _, p in ranked]
    assert p_win == sorted(p_win, reverse=True) and 0 < sum(p_win) <= 1.0 + 1e-9
    assert len({driver for _, driver, _ in ranked}) == 5

    key = re.search(r"open http://127\.0\.0\.1:8000/ with the demo's API key (pw_\S+)", out)
    assert key, out[-1500:]
    assert (home / "lake").is_dir() and (home / "platform.db").is_file()

    # the next step it suggests answers from the same home, and says what it knew
    suggested = re.search(r"Try: (pitwall predict .+?),", out)
    assert suggested, out[-1500:]
    predict = _run(suggested.group(1).split()[1:], home, shared_data)
    assert predict.returncode == 0, predict.stdout[-2000:] + predict.stderr[-2000:]
    assert "max-verstappen" in predict.stdout and "grid not yet known" in predict.stdout
