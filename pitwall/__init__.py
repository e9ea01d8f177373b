"""Pitwall: an ML playground for Formula 1 data.

``import pitwall as pw`` is cheap (nothing heavy is imported until used, which keeps the API
Lambda lean). The notebook API::

    pw.FeatureStore, pw.FeatureEngineer          # pitwall.features
    pw.ModelBuilder, pw.AutoMLTrainer            # pitwall.ml
    pw.train, pw.load, pw.backtest, pw.ingest    # pitwall.sdk
    pw.race_features, pw.templates, pw.marketplace
    pw.mlflow_tracking()                         # plain `mlflow` calls write to Pitwall's store

Importing pitwall points plain ``mlflow`` calls at Pitwall's tracking store (see
``mlflow_tracking``) unless ``MLFLOW_TRACKING_URI`` is already set by the user.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "FeatureStore": "pitwall.features",
    "FeatureEngineer": "pitwall.features",
    "ModelBuilder": "pitwall.ml",
    "AutoMLTrainer": "pitwall.ml",
    "load_model": "pitwall.ml",
    "Model": "pitwall.sdk",
    "train": "pitwall.sdk",
    "load": "pitwall.sdk",
    "backtest": "pitwall.sdk",
    "ingest": "pitwall.sdk",
    "race_features": "pitwall.sdk",
    "get_template": "pitwall.templates",
    "TEMPLATES": "pitwall.templates",
}
_MODULES = {"templates", "marketplace", "features", "ml", "data", "platform", "serving"}


MLFLOW_DEFAULT_MARK = "PITWALL_MLFLOW_DEFAULT"  # the MLFLOW_TRACKING_URI value Pitwall itself set
MLFLOW_ARTIFACT_ROOT_ENV = "_MLFLOW_SERVER_ARTIFACT_ROOT"  # mlflow's default root for a new store's Default experiment


def mlflow_tracking() -> str:
    """Point plain ``mlflow`` calls (``mlflow.start_run``, ``mlflow.log_metrics``...) at Pitwall's
    tracking store and return its URI: ``$PITWALL_MLFLOW_URI``, else
    ``sqlite:///<PITWALL_HOME>/mlflow.db`` (runs of a new store's Default experiment keep their
    artifacts under ``<PITWALL_HOME>/mlruns``, not ``./mlruns``). A ``MLFLOW_TRACKING_URI`` the
    user set is kept. Called on ``import pitwall``; call it again after changing ``PITWALL_HOME``
    (Pitwall's own tracking follows the home by itself)."""
    current = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    explicit = os.environ.get("PITWALL_MLFLOW_URI", "").strip()
    if current and current != os.environ.get(MLFLOW_DEFAULT_MARK) and not explicit:
        return current
    home = Path(os.environ.get("PITWALL_HOME", Path.home() / ".pitwall")).expanduser()
    uri = explicit or f"sqlite:///{(home / 'mlflow.db').as_posix()}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ[MLFLOW_DEFAULT_MARK] = uri
    if not explicit:
        os.environ[MLFLOW_ARTIFACT_ROOT_ENV] = (home / "mlruns").as_uri()
    return uri


mlflow_tracking()


UPWARD_HOOKS = {"pitwall.sdk", "pitwall.templates", "pitwall.monitoring.capture", "pitwall.monitoring.settings"}
"""The few modules a lower layer calls upward: the ML layer's model actions (``pitwall.sdk``) and
template targets (``pitwall.templates``), serving's capture wrapper and capture rate
(``pitwall.monitoring``)."""


def assembled(module: str) -> Any:
    """One of :data:`UPWARD_HOOKS`. The package root assembles the layers: a lower layer reaches
    the layer above it through here, at call time, and never imports it."""
    if module not in UPWARD_HOOKS:
        raise ValueError(f"module: {module!r} is not an upward hook ({', '.join(sorted(UPWARD_HOOKS))})")
    return import_module(module)


def model_actions() -> Any:
    """The SDK's actions on a trained ``pitwall.ml`` model (``deploy_trained``, ``forecast_season``,
    ``stream_trained`` in ``pitwall.sdk``)."""
    return assembled("pitwall.sdk")


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return import_module(f"pitwall.{name}")
    raise AttributeError(f"module 'pitwall' has no attribute {name!r}")


__all__ = sorted([*_EXPORTS, *_MODULES, "mlflow_tracking", "model_actions", "assembled"])
