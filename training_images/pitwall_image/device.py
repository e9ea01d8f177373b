"""Where a training job computes: ``cpu`` or ``cuda`` (the GPU image, Pro jobs that ask for a GPU).

The GPU image (``Dockerfile.gpu``) sets ``PITWALL_TRAINING_DEVICE=cuda``; a ``device``
hyper-parameter overrides it. On ``cuda`` XGBoost trains with ``device="cuda"`` (its ``hist``
method on the GPU). LightGBM's PyPI wheel has no CUDA build, so it stays on the CPU.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager

DEVICE_ENV = "PITWALL_TRAINING_DEVICE"
DEVICES = ("cpu", "cuda")
GPU_ALGORITHMS = {"xgboost": {"device": "cuda"}}
"""Estimator parameters each algorithm gets on ``cuda``."""


def default_device() -> str:
    """The image's device: ``$PITWALL_TRAINING_DEVICE`` (``cpu`` when unset)."""
    return os.environ.get(DEVICE_ENV, "").strip().lower() or "cpu"


@contextmanager
def training_device(device: str) -> Iterator[None]:
    """Train on ``device`` inside the block: on ``cuda`` the GPU algorithms' defaults get their GPU
    parameters (restored afterwards)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}; got {device!r}")
    if device == "cpu":
        yield
        return
    from pitwall.ml import algorithms

    saved = {name: algorithms.ALGORITHMS[name] for name in GPU_ALGORITHMS}
    try:
        for name, params in GPU_ALGORITHMS.items():
            algorithm = saved[name]
            algorithms.ALGORITHMS[name] = dataclasses.replace(algorithm, defaults={**algorithm.defaults, **params})
        yield
    finally:
        algorithms.ALGORITHMS.update(saved)
