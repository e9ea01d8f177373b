"""The real path end to end: a training job trains the ``race_winner`` template
(``pitwall.training.train_template``) in the server's worker, then the model is deployed and
answers for Monaco 2024 from the template's point-in-time features."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pitwall.api.jobs import LocalJobLauncher, train_with_template
from pitwall.api.server import LocalApiServer
from pitwall.api.services import local_services, set_services
from pitwall.data.store import Store
from pitwall.platform import keys
from pitwall.platform.backend import clear_backend_cache
from pitwall.serving.deploy import LocalServing
from pitwall.serving.invocation import InProcessServing


@pytest.fixture
def template_server(lake: Store) -> Iterator[LocalApiServer]:
    clear_backend_cache()
    launcher = LocalJobLauncher(functools.partial(train_with_template, store=lake))
    services = local_services(serving=LocalServing(InProcessServing(lake)), launcher=launcher)
    with LocalApiServer("127.0.0.1", 0, services=services) as server:
        yield server
    launcher.shutdown()
    set_services(None)


def test_train_deploy_and_predict_monaco_2024_with_the_race_winner_template(
    template_server: LocalApiServer, h: Any
) -> None:
    url = template_server.url
    headers = {"x-api-key": keys.create_key("acme", "pro")}
    body = {"template": "race_winner", "name": "rw", "seasons": [2022, 2023], "cv_folds": 2}
    job = requests.post(f"{url}/api/v1/jobs", json=body, headers=headers, timeout=30).json()
    deadline = time.monotonic() + 240
    while (status := requests.get(f"{url}/api/v1/jobs/{job['job_id']}", headers=headers, timeout=30).json())[
        "status"
    ] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert status["status"] == "succeeded", status
    assert status["result"]["model"] == "rw" and status["result"]["version"] == 1

    described = requests.get(f"{url}/api/v1/models/rw", headers=headers, timeout=30).json()
    assert described["template"] == "race_winner" and "start_position" in described["features"]
    assert described["data_window"]["seasons"] == [2022, 2023]
    assert requests.post(f"{url}/api/v1/models/rw/deploy", headers=headers, timeout=30).status_code == 200

    plain = requests.post(f"{url}/api/v1/predict/rw", json={"race": "monaco_2024"}, headers=headers, timeout=120)
    assert plain.status_code == 200, plain.text
    answer = plain.json()
    assert answer["template"] == "race_winner" and answer["race"]["race_id"] == "2024-08"
    probs = h.winner_probabilities(answer)
    assert len(probs) == 20
    h.assert_probabilities(list(probs.values()), 1.0)

    # Leclerc (pole in Monaco 2024) sent to 15th: his win probability drops
    moved = requests.post(
        f"{url}/api/v1/predict/rw",
        json={"race": "monaco_2024", "grid_positions": {"charles-leclerc": 15}},
        headers=headers,
        timeout=60,
    ).json()
    assert h.winner_probabilities(moved)["charles-leclerc"] < probs["charles-leclerc"]
    h.assert_probabilities(list(h.winner_probabilities(moved).values()), 1.0)

    # race_winner has no weather feature: the override is refused, naming the field
    wet = requests.post(
        f"{url}/api/v1/predict/rw", json={"race": "monaco_2024", "weather": "wet"}, headers=headers, timeout=60
    )
    assert (wet.status_code, wet.json()["error"]["field"]) == (422, "weather")

    forecast = requests.post(
        f"{url}/api/v1/predict/rw/championship",
        json={"season": 2024, "after_round": 21, "simulations": 2000, "seed": 2},
        headers=headers,
        timeout=120,
    ).json()
    assert forecast["simulated_rounds"] == [22, 23, 24]
    h.assert_probabilities([d["title_probability"] for d in forecast["drivers"]], 1.0)
    h.assert_probabilities([c["title_probability"] for c in forecast["constructors"]], 1.0)
