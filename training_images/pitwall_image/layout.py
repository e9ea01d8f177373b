"""The ``/opt/ml`` folder layout SageMaker gives a container, rooted at ``$PITWALL_OPT_ML``.

Training job::

    /opt/ml/input/config/hyperparameters.json   every value a string
    /opt/ml/input/config/inputdataconfig.json   the channels (not needed: channels are folders)
    /opt/ml/input/data/<channel>/...            one folder per input channel (File mode)
    /opt/ml/model/                              what SageMaker tars into model.tar.gz
    /opt/ml/output/data/                        extra outputs (output.tar.gz)
    /opt/ml/output/failure                      why the job failed (SageMaker's FailureReason)

Endpoint: ``/opt/ml/model/`` holds the extracted ``model.tar.gz``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "PITWALL_OPT_ML"
DEFAULT_ROOT = "/opt/ml"


@dataclass(frozen=True)
class OptMl:
    """Paths of one ``/opt/ml`` tree."""

    root: Path

    @classmethod
    def from_env(cls) -> OptMl:
        """The tree at ``$PITWALL_OPT_ML`` (default ``/opt/ml``)."""
        return cls(Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT))

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def data(self) -> Path:
        return self.root / "input" / "data"

    def channel(self, name: str) -> Path:
        return self.data / name

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.output / "data"

    @property
    def failure(self) -> Path:
        return self.output / "failure"
