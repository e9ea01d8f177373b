"""The environment of the processes the benchmarks time: as a user's run them."""

from __future__ import annotations

import os


def use_bytecode_cache() -> None:
    """Let the timed processes (and this one) read and write Python's bytecode cache, as a user's
    do from their second run on: with ``PYTHONDONTWRITEBYTECODE=1`` (set in some sandboxes and CI
    images) every process compiles each Pitwall module from source again, 0.1-0.2 s of a CLI run."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
