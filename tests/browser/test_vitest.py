"""The web UI's unit tests (Vitest: API client, wizard form state, error mapping), run from pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_vitest_unit_tests() -> None:
    if shutil.which("node") is None or not (WEB / "node_modules" / "vitest").is_dir():
        pytest.skip("web/node_modules is missing (make test runs npm ci in web/)")
    done = subprocess.run(
        ["node", "node_modules/vitest/vitest.mjs", "run", "--reporter=dot"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "passed" in done.stdout
