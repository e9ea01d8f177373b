"""Wiring for this process: which store, event publisher and subscribers are in use.

Locally, ``event_publisher()`` is an in-process bus; subscribers (feature rebuild, retraining)
register themselves here. With ``PITWALL_BACKEND=aws`` events go to EventBridge.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pitwall.data.events import EventBridgePublisher, LocalEventBus, Publisher


@lru_cache(maxsize=1)
def local_bus() -> LocalEventBus:
    return LocalEventBus()


def event_publisher() -> Publisher:
    if os.environ.get("PITWALL_BACKEND", "local") == "aws":
        return EventBridgePublisher(bus_name=os.environ.get("PITWALL_EVENT_BUS", "default"))
    return local_bus()
