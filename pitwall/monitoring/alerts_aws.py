"""Monitoring alerts on EventBridge (source ``pitwall.monitoring``, detail-type ``ModelAlert``)."""

from __future__ import annotations

import json
from typing import Any

from pitwall.monitoring.alerts import ALERT_SOURCE, MODEL_ALERT, Alert


class EventBridgeAlertPublisher:
    def __init__(self, client: Any = None, bus_name: str = "default") -> None:
        if client is None:
            import boto3

            client = boto3.client("events")
        self.client = client
        self.bus_name = bus_name

    def publish(self, alert: Alert) -> None:
        resp = self.client.put_events(
            Entries=[
                {
                    "Source": ALERT_SOURCE,
                    "DetailType": MODEL_ALERT,
                    "Detail": json.dumps(alert.to_detail()),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected the alert: {resp['Entries']}")
