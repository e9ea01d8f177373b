"""What every SageMaker training job of the image writes, whatever it runs (``train``, ``verify``).

- :func:`entry_point`: the command takes no arguments (a job is configured by
  ``input/config/hyperparameters.json``); logging set up, then the job runs under ``$PITWALL_OPT_ML``.
- :func:`write_json`: a result file (``metrics.json``, ``verification.json``) as one JSON document.
- :func:`report_failure`: ``/opt/ml/output/failure`` (SageMaker's FailureReason) says why the job
  stopped, and the exit status says what kind of failure it was: :data:`EXIT_BAD_INPUT` for bad
  input (the message is the input error's), :data:`EXIT_INTERNAL` for anything else (``internal
  error: <type>: <message>``, with the traceback on stderr).
- :func:`empty_folder`: the model folder is emptied before a job writes it (and after a failure).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pitwall_image.layout import OptMl

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TrainingInputError(Exception):
    """The job's inputs (files, channels) cannot be used; the message says which and why."""


def empty_folder(folder: Path) -> None:
    """Remove everything inside ``folder`` (which may be a mount point, so it stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def write_json(path: Path, doc: Mapping[str, Any], *, indent: int | None = None) -> Path:
    """``doc`` as JSON (sorted keys, no NaN) in ``path``, its folder created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(doc), indent=indent, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def clear_failure(paths: OptMl) -> None:
    """Remove an earlier run's failure file (a job that now succeeds reports none)."""
    if paths.failure.exists():
        paths.failure.unlink()


def write_failure(paths: OptMl, message: str) -> None:
    paths.output.mkdir(parents=True, exist_ok=True)
    paths.failure.write_text(message.rstrip() + "\n", encoding="utf-8")


def failure_message(exc: BaseException) -> str:
    """The error's own message (``exc.message`` when it has one), else its type's name."""
    return str(getattr(exc, "message", None) or exc) or type(exc).__name__


def report_failure(paths: OptMl, exc: BaseException, *, bad_input: bool, log: logging.Logger, what: str) -> int:
    """Write why ``what`` (``training``, ``verification``) failed; returns the job's exit status."""
    message = failure_message(exc)
    if not bad_input:
        traceback.print_exception(exc, file=sys.stderr)
        message = f"internal error: {type(exc).__name__}: {message}"
    log.error("%s failed: %s", what, message)
    write_failure(paths, message)
    return EXIT_BAD_INPUT if bad_input else EXIT_INTERNAL


def entry_point(command: str, argv: Sequence[str] | None, run: Callable[[OptMl], int]) -> int:
    """``command`` (no arguments): ``run`` the job under ``$PITWALL_OPT_ML`` (default ``/opt/ml``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = OptMl.from_env()
    if args:
        message = f"{command}: takes no arguments (got {' '.join(args)}); configure it with hyperparameters.json"
        write_failure(paths, message)
        print(message, file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return run(paths)
