"""Live race mode: per-lap in-race state from OpenF1 or a replay, and per-lap predictions.

- ``pitwall.live.state``: ``LapState`` (what every source yields, once per completed lap).
- ``pitwall.live.sources.openf1`` / ``pitwall.live.sources.replay``: the two sources.
- ``pitwall.live.template``: the live race-result template (train, save, load, predict).
- ``pitwall.live.stream``: ``connect_to_stream(model, source=..., update_frequency='per_lap')``.
- ``pitwall.live.lap_models``: lap-level template models' next-lap predictions on each update.
- ``pitwall.live.feed``: the published lap updates and the one snapshot rule (the API's live routes);
  ``pitwall.live.aws``: its DynamoDB table and the live models in S3.
- ``pitwall.live.predictors``: the prediction step without numpy/LightGBM; ``pitwall.live.poller``:
  the cloud poller (EventBridge Scheduler -> ``functions/live_poller``).

Names are imported lazily so ``import pitwall.live`` stays cheap (no pandas, no LightGBM).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "LapState": "pitwall.live.state",
    "DriverState": "pitwall.live.state",
    "LiveModel": "pitwall.live.template",
    "train_live_model": "pitwall.live.template",
    "load_live_model": "pitwall.live.template",
    "connect_to_stream": "pitwall.live.stream",
    "LiveUpdate": "pitwall.live.stream",
    "ReplaySource": "pitwall.live.sources.replay",
    "OpenF1Source": "pitwall.live.sources.openf1",
    "OpenF1Client": "pitwall.live.sources.openf1",
    "LeanLiveModel": "pitwall.live.predictors",
    "NextLapPredictor": "pitwall.live.lap_models",
    "LocalFeed": "pitwall.live.feed",
    "latest_snapshot": "pitwall.live.feed",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pitwall.live' has no attribute {name!r}")
