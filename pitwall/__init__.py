"""Pitwall: an ML playground for Formula 1 data.

``import pitwall as pw`` is cheap (nothing heavy is imported until used, which keeps the API
Lambda lean). The notebook API::

    pw.FeatureStore, pw.FeatureEngineer          # pitwall.features
    pw.ModelBuilder, pw.AutoMLTrainer            # pitwall.ml
    pw.train, pw.load, pw.backtest, pw.ingest    # pitwall.sdk
    pw.race_features, pw.templates, pw.marketplace
"""

from __future__ import annotations

from importlib import import_module
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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return import_module(f"pitwall.{name}")
    raise AttributeError(f"module 'pitwall' has no attribute {name!r}")


__all__ = sorted([*_EXPORTS, *_MODULES])
