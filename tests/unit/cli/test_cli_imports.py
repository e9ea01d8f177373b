"""The CLI starts cheap: importing ``pitwall.cli`` (what every command, ``--help`` included, pays
before it runs) loads none of the heavy data/ML libraries; they are imported inside the commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "mlflow", "sklearn", "xgboost", "duckdb", "yaml", "boto3")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import pitwall.cli")
    assert "typer" in loaded  # the probe sees real imports
    assert not loaded & set(HEAVY), f"pitwall.cli imports heavy libraries at start: {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize("argv", [["--help"], ["ingest", "--help"], ["features", "--help"], ["data", "--help"]])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import sys\nfrom pitwall.cli import app\n"
        f"sys.argv = ['pitwall', *{argv!r}]\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    assert not loaded & set(HEAVY), f"pitwall {' '.join(argv)} imports {sorted(loaded & set(HEAVY))}"
    # help is click's plain text: rich (2x a bare typer import with typer's renderer) loads in commands
    assert "rich" not in loaded, f"pitwall {' '.join(argv)} imports rich"
