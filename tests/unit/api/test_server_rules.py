"""Which requests the local server answers on its event loop (``pitwall.api.server.on_event_loop``)."""

from __future__ import annotations

import json

from pitwall.api.server import ROWS_ON_LOOP_MAX_BYTES, on_event_loop

ROWS = json.dumps({"instances": [{"driver_id": "d1", "start_position": 1.0}]}).encode()


def test_explicit_rows_predictions_run_on_the_event_loop() -> None:
    assert on_event_loop("POST", "/api/v1/predict/{model}", ROWS)
    assert on_event_loop("POST", "/api/v1/predict/{model}", b'{ "instances" : []}')


def test_everything_that_may_take_long_runs_on_the_pool() -> None:
    race = json.dumps({"race": "2024-08", "grid": {"max-verstappen": 10}}).encode()
    assert not on_event_loop("POST", "/api/v1/predict/{model}", race)  # a feature look-up in the lake
    assert not on_event_loop("POST", "/api/v1/predict/{model}/championship", ROWS)
    assert not on_event_loop("POST", "/api/v1/predict/{model}", ROWS + b" " * ROWS_ON_LOOP_MAX_BYTES)
    assert not on_event_loop("GET", "/api/v1/predict/{model}", ROWS)
    assert not on_event_loop("POST", "/api/v1/models/{model}/deploy", ROWS)
