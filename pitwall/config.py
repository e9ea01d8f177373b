"""Where Pitwall keeps its files, and where it finds source data.

Everything is driven by environment variables so that the same code runs on a laptop,
in CI and inside a Lambda / SageMaker container:

- ``PITWALL_HOME``: the local home (default ``~/.pitwall``). Holds the parquet lakehouse
  (``lake/``), materialised features, model artifacts (``models/``), the embedded
  platform database (``platform.db``), the MLflow store (``mlflow.db``) and cached template
  frames (``cache/frames/``, :mod:`pitwall.templates.frame_cache`; ``PITWALL_FRAME_CACHE=0``: off).
- ``PITWALL_DATA``: a folder laid out like ``../shared/data`` (``f1db/`` and
  ``fastf1-laps/``), used by the demo and by ``pitwall ingest`` defaults when offline.
- ``PITWALL_BACKEND``: ``local`` (default) or ``aws``, read by :func:`backend_kind` only; it picks
  every backend of the process at once (lake, platform records, events, serving, marketplace
  bundles), so a process never mixes DynamoDB with a local lake.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

REPO_ROOT = Path(__file__).resolve().parent.parent

LOCAL_TENANT = "local"
"""The tenant that library, SDK and CLI calls act for when none is named (the CLI's ``--tenant``
and ``$PITWALL_TENANT`` name another): experiments, registered models, deployments and
marketplace listings of a single-user home belong to it."""

BACKEND_ENV = "PITWALL_BACKEND"
BackendKind = Literal["local", "aws"]
BACKEND_KINDS: tuple[str, ...] = get_args(BackendKind)


def backend_kind() -> BackendKind:
    """``local`` or ``aws`` from ``PITWALL_BACKEND`` (case and surrounding spaces ignored; unset or
    empty: ``local``). Any other value is a ValueError naming the variable and the accepted values."""
    raw = os.environ.get(BACKEND_ENV, "")
    kind = raw.strip().lower() or "local"
    if kind == "local":
        return "local"
    if kind == "aws":
        return "aws"
    raise ValueError(f"{BACKEND_ENV} must be one of {', '.join(BACKEND_KINDS)}; got {raw!r}")


def pitwall_home() -> Path:
    """The local Pitwall home folder (created on first use)."""
    home = Path(os.environ.get("PITWALL_HOME", Path.home() / ".pitwall")).expanduser()
    if not home.is_dir():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(home, 0o700)  # owner only (mkdir's mode is narrowed by the umask, never widened)
    return home


def default_data_dir() -> Path:
    """Local F1 source data: ``$PITWALL_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("PITWALL_DATA")
    if env:
        return Path(env).expanduser()
    return (REPO_ROOT.parent / "shared" / "data").resolve()
