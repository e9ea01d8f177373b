"""CLI start benchmark: `pitwall --help` as a whole process beside its floor, a bare typer import.

Goal (issue 13): `pitwall --help` <= 2x `python -c 'import typer'`, both best of 9 interleaved rounds in the same run.
Also shown: typer's rich help renderer (`import typer.rich_utils`), which a rich `--help` would pay (ours is plain).
Run:  .venv/bin/python benchmarks/cli_start.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_env import use_bytecode_cache  # benchmarks/ is on the path of a script run from it


def best_of(commands: list[list[str]], n: int = 9) -> list[float]:
    """Each command's best wall time over ``n`` rounds; a round runs every command once, so a
    change in the machine's load reaches the floor and the commands alike."""
    best = [float("inf")] * len(commands)
    for _ in range(n):
        for i, cmd in enumerate(commands):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main() -> None:
    use_bytecode_cache()
    py = sys.executable
    pitwall = shutil.which("pitwall", path=str(Path(py).parent)) or "pitwall"
    t_typer, t_rich, t_import, t_help = best_of(
        [
            [py, "-c", "import typer"],
            [py, "-c", "import typer.rich_utils"],
            [py, "-c", "import pitwall.cli"],
            [pitwall, "--help"],
        ]
    )
    print(f"python -c 'import typer' (floor):    {t_typer:.3f} s")
    print(f"python -c 'import typer.rich_utils': {t_rich:.3f} s ({t_rich / t_typer:.2f}x floor)")
    print(f"python -c 'import pitwall.cli':      {t_import:.3f} s ({t_import / t_typer:.2f}x floor)")
    print(f"pitwall --help:                      {t_help:.3f} s ({t_help / t_typer:.2f}x floor, goal <= 2x)")


if __name__ == "__main__":
    main()
