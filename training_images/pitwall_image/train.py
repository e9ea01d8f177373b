"""``train``: SageMaker's training contract, implemented with ``pitwall.training.train_template``.

1. Read ``input/config/hyperparameters.json`` (:mod:`pitwall_image.hyperparameters`).
2. Find the data channel holding a Pitwall data lake: a copy of the Store's parquet tree
   (``<dataset>/season=<YYYY>/data.parquet``), put there by the workflow's feature job. The
   channel is ``lake`` by default, the ``channel`` hyper-parameter names another one; without
   either, the only channel that holds a lake is used.
3. Train through pitwall on ``LocalStore(<channel>)``: holdout evaluation against the template's
   naive baseline, refit on all seasons, safe-format artifact. Nothing is registered (the
   workflow's RegisterModel step does that); runs are logged to MLflow when
   ``PITWALL_MLFLOW_URI`` or ``MLFLOW_TRACKING_URI`` is set.
4. Write the artifact folder's files directly into ``/opt/ml/model`` (``metadata.json`` at the
   root of ``model.tar.gz``, checksums verified after the copy), and ``metrics.json`` into
   ``/opt/ml/output/data`` (the artifact folder itself may hold nothing but the artifact: a
   model that fails ``pitwall.ml.artifacts.verify_artifact`` is never served). Metrics are also
   printed as ``pitwall_metric <name>=<value>`` lines for SageMaker metric definitions.

On any error ``/opt/ml/output/failure`` gets one clear message (SageMaker's FailureReason), the
model folder is left empty and the process exits non-zero: 2 for bad input (hyper-parameters,
data channel, seasons without data), 1 for anything else.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitwall.data.store.base import CORE_DATASET, PARTITION_LAYOUT
from pitwall_image.device import training_device
from pitwall_image.hyperparameters import HyperparameterError, TrainingRequest, parse_hyperparameters
from pitwall_image.job import TrainingInputError, clear_failure, empty_folder, entry_point, report_failure, write_json
from pitwall_image.layout import OptMl

log = logging.getLogger("pitwall_image.train")

DEFAULT_CHANNEL = "lake"
LAKE_MARKER = CORE_DATASET  # every template reads the races dataset
METRICS_FILE = "metrics.json"
TRACKING_ENV = ("PITWALL_MLFLOW_URI", "MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class TrainingOutcome:
    """What a successful run wrote."""

    model_dir: Path
    metrics_file: Path
    summary: dict[str, Any]


# --------------------------------------------------------------------------- inputs


def read_hyperparameters(paths: OptMl) -> dict[str, Any]:
    """The hyper-parameters file as a dict (an absent file is an error: ``template`` is required)."""
    where = "input/config/hyperparameters.json"
    if not paths.hyperparameters.is_file():
        raise TrainingInputError(f"{where}: not found under {paths.root}; the template hyper-parameter is required")
    try:
        raw = json.loads(paths.hyperparameters.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrainingInputError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise TrainingInputError(f"{where}: must hold a JSON object of name -> value")
    return raw


def is_lake(folder: Path) -> bool:
    """Whether ``folder`` holds a Store tree (a season partition of ``races``)."""
    from pitwall.data.store import LocalStore

    return folder.is_dir() and bool(LocalStore(folder).seasons(LAKE_MARKER))


def _contents(folder: Path, limit: int = 6) -> str:
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not names:
        return "nothing"
    more = f", ... ({len(names)} entries)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def find_lake(paths: OptMl, channel: str | None) -> Path:
    """The data channel folder to train from (see the module doc)."""
    channels = sorted(p.name for p in paths.data.iterdir() if p.is_dir()) if paths.data.is_dir() else []
    expected = "<channel>/" + PARTITION_LAYOUT.replace("<dataset>", LAKE_MARKER)
    if channel is not None or DEFAULT_CHANNEL in channels:
        name = channel or DEFAULT_CHANNEL
        folder = paths.channel(name)
        if not folder.is_dir():
            raise TrainingInputError(
                f"data channel {name!r}: not found under input/data (channels: {', '.join(channels) or 'none'})"
            )
        if not is_lake(folder):
            raise TrainingInputError(
                f"data channel {name!r}: holds no Pitwall data lake (expected {expected}; found {_contents(folder)})"
            )
        return folder
    lakes = [name for name in channels if is_lake(paths.channel(name))]
    if len(lakes) == 1:
        return paths.channel(lakes[0])
    if not lakes:
        found = "; ".join(f"{c}: {_contents(paths.channel(c))}" for c in channels) or "no channels"
        raise TrainingInputError(
            f"data channel {DEFAULT_CHANNEL!r}: no input channel holds a Pitwall data lake "
            f"(expected {expected}; {found})"
        )
    raise TrainingInputError(
        f"hyperparameters.channel: several channels hold a data lake ({', '.join(lakes)}); name one"
    )


# --------------------------------------------------------------------------- outputs


def tracking_enabled() -> bool:
    return any(os.environ.get(var) for var in TRACKING_ENV)


@contextmanager
def scratch_home() -> Iterator[Path]:
    """A throw-away ``PITWALL_HOME`` for train_template's own files (restored afterwards)."""
    previous = os.environ.get("PITWALL_HOME")
    with tempfile.TemporaryDirectory(prefix="pitwall-home-") as home:
        os.environ["PITWALL_HOME"] = home
        try:
            yield Path(home)
        finally:
            if previous is None:
                os.environ.pop("PITWALL_HOME", None)
            else:
                os.environ["PITWALL_HOME"] = previous


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    }


# --------------------------------------------------------------------------- the job


def train(paths: OptMl, request: TrainingRequest, lake: Path) -> TrainingOutcome:
    """Train ``request`` on the lake and write the model and metrics (see the module doc)."""
    from pitwall.data.store import LocalStore
    from pitwall.ml.artifacts import METADATA_FILE, sha256_file, verify_artifact
    from pitwall.training import train_template

    empty_folder(paths.model)
    start = time.perf_counter()
    track = tracking_enabled()
    with scratch_home(), training_device(request.device):
        result = train_template(
            request.template, **request.train_kwargs(), store=LocalStore(lake), register=False, track=track
        )
        shutil.copytree(result.model_dir, paths.model, dirs_exist_ok=True)
    metadata = verify_artifact(paths.model)
    summary: dict[str, Any] = {
        "template": result.template,
        "model_name": result.name,
        "task": metadata.get("task"),
        "algorithm": result.model.algorithm,
        "metric": metadata.get("metric"),
        "direction": metadata.get("direction"),
        "data_window": metadata.get("data_window"),
        "holdout_metrics": result.metrics,
        "baseline_metrics": result.baseline_metrics,
        "model_metrics": _finite(dict(result.model.metrics)),
        "metadata_sha256": sha256_file(paths.model / METADATA_FILE),
        "mlflow_run_id": result.run_id,
        "tenant_id": request.tenant_id,
        "job_id": request.job_id,
        "training_seconds": round(time.perf_counter() - start, 3),
    }
    metrics_file = write_json(paths.output_data / METRICS_FILE, summary, indent=2)
    for name, value in sorted(result.metrics.items()):
        print(f"pitwall_metric holdout_{name}={value!r}", flush=True)
    for name, value in sorted(result.baseline_metrics.items()):
        print(f"pitwall_metric baseline_{name}={value!r}", flush=True)
    return TrainingOutcome(model_dir=paths.model, metrics_file=metrics_file, summary=summary)


def _input_errors() -> tuple[type[BaseException], ...]:
    from pitwall.errors import PitwallError
    from pitwall.ml.errors import MLInputError

    return (HyperparameterError, TrainingInputError, PitwallError, MLInputError)


def run(paths: OptMl) -> int:
    """Run one training job under ``paths``; returns the process exit status."""
    clear_failure(paths)
    started = False
    try:
        request = parse_hyperparameters(read_hyperparameters(paths))
        for note in request.notes:
            log.warning("note: %s", note)
        lake = find_lake(paths, request.channel)
        log.info(
            "training template %s as %r from %s (seasons %s, algorithm %s)",
            request.template,
            request.model_name,
            lake,
            request.seasons or "default window",
            request.algorithm or "template default",
        )
        started = True
        outcome = train(paths, request, lake)
    except Exception as exc:  # every failure is reported through SageMaker's failure file
        status = report_failure(paths, exc, bad_input=isinstance(exc, _input_errors()), log=log, what="training")
        if started:
            empty_folder(paths.model)
        return status
    log.info("model written to %s; metrics in %s", outcome.model_dir, outcome.metrics_file)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``train`` (no arguments): run the job under ``$PITWALL_OPT_ML`` (default ``/opt/ml``)."""
    return entry_point("train", argv, run)


if __name__ == "__main__":
    raise SystemExit(main())
