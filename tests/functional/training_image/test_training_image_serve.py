"""``serve``: SageMaker's inference contract, answered like the SDK and the local API.

The models come from the ``train`` entry point (session fixtures); ``serve`` runs as a subprocess
on a free local port. Rows are real feature rows of 2023 built by the templates from the lake.
Error-path tests that need a special model folder run the same server in a thread.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from pitwall_image.serve import ModelIdentity, ModelService, make_server

from pitwall.data.store import LocalStore
from pitwall.features import FeatureStore
from pitwall.ml.artifacts import load_model
from pitwall.serving.invocation import predict_instances
from pitwall.serving.predictor import Predictor
from pitwall.templates import get_template


def _instances(frame: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    """Feature rows as JSON instances (NaN -> null), keyed by driver and race."""
    rows = []
    for rec in frame.to_dict("records"):
        row: dict[str, Any] = {f: None if pd.isna(rec[f]) else float(rec[f]) for f in features}
        row["driver_id"] = str(rec["driver_id"])
        row["race_id"] = str(rec["race_id"])
        rows.append(row)
    return rows


def _sdk_frame(instances: list[dict[str, Any]], features: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{f: math.nan if r[f] is None else r[f] for f in features} for r in instances])
    frame["driver_id"] = [r["driver_id"] for r in instances]
    frame["race_id"] = [r["race_id"] for r in instances]
    return frame


def _rows(job, template: str, season: int = 2023) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    store = LocalStore(job.root / "input" / "data" / "lake")
    return get_template(template).frame(FeatureStore(store), [season])


@pytest.fixture(scope="module")
def winner_race(winner_job) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = _rows(winner_job, "race_winner")
    last = frame[frame["race_id"] == frame["race_id"].iloc[-1]].reset_index(drop=True)
    assert len(last) == 20
    return last


@pytest.fixture(scope="module")
def stops(pit_stop_job) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = _rows(pit_stop_job, "pit_stop_duration")
    return frame.tail(40).reset_index(drop=True)


# --------------------------------------------------------------------------- ping + answers


def test_ping_reports_the_loaded_model(winner_server) -> None:  # type: ignore[no-untyped-def]
    answer = requests.get(f"{winner_server.url}/ping", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "model": "winner",
        "version": 3,
        "template": "race_winner",
        "kind": "ranking",
    }


def test_ranking_invocations_equal_the_sdk_and_the_local_api(winner_server, winner_job, winner_race) -> None:  # type: ignore[no-untyped-def]
    model = load_model(winner_job.model_dir)
    features = list(model.input_columns)
    instances = _instances(winner_race, features)
    answer = winner_server.post({"instances": instances})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["template"], body["kind"], body["top_k"], body["race"]) == ("race_winner", "ranking", 1, None)

    sdk = model.rank(_sdk_frame(instances, features))
    by_driver = {p["driver_id"]: p for p in body["predictions"]}
    assert len(by_driver) == len(instances) == len(sdk)
    for rec in sdk.to_dict("records"):
        got = by_driver[rec["driver_id"]]
        assert got["rank"] == int(rec["rank"])
        assert got["score"] == pytest.approx(float(rec["score"]), rel=0, abs=1e-12)
        assert got["probability"] == pytest.approx(float(rec["probability"]), rel=0, abs=1e-12)
    assert [p["rank"] for p in body["predictions"]] == list(range(1, 21))
    assert math.isclose(sum(p["probability"] for p in body["predictions"]), 1.0, abs_tol=1e-9)

    # the local API's in-process serving answers the same JSON for the same payload
    local = Predictor(tenant_id="acme", name="winner", version=3, template="race_winner", model=model)
    assert body == json.loads(json.dumps(predict_instances(local, {"instances": instances})))


def test_regression_invocations_equal_predict_frame(pit_stop_server, pit_stop_job, stops) -> None:  # type: ignore[no-untyped-def]
    model = load_model(pit_stop_job.model_dir)
    features = list(model.input_columns)
    instances = _instances(stops, features)
    assert any(v is None for row in instances for v in row.values())  # real rows have missing values
    answer = pit_stop_server.post({"instances": instances})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["template"], body["kind"]) == ("pit_stop_duration", "regression")
    expected = model.predict_frame(_sdk_frame(instances, features))["prediction"].tolist()
    values = [p["value"] for p in body["predictions"]]
    assert values == pytest.approx(expected, rel=0, abs=1e-9)
    assert [p["driver_id"] for p in body["predictions"]] == [r["driver_id"] for r in instances]
    assert min(values) > 10 and max(values) < 60  # pit-lane times in seconds

    # text/csv with a header row, and headerless rows in the model's feature order, answer alike
    header = ",".join(["driver_id", "race_id", *features])
    lines = [
        ",".join([r["driver_id"], r["race_id"], *("" if r[f] is None else repr(r[f]) for f in features)])
        for r in instances
    ]
    csv_answer = pit_stop_server.post("\n".join([header, *lines]) + "\n", content_type="text/csv")
    assert csv_answer.status_code == 200, csv_answer.text
    assert csv_answer.json() == body
    bare = "\n".join(",".join("" if r[f] is None else repr(r[f]) for f in features) for r in instances)
    bare_answer = pit_stop_server.post(bare, content_type="text/csv; charset=utf-8")
    assert bare_answer.status_code == 200, bare_answer.text
    assert [p["value"] for p in bare_answer.json()["predictions"]] == values


def test_concurrent_requests_get_identical_answers(pit_stop_server, pit_stop_job, stops) -> None:  # type: ignore[no-untyped-def]
    features = list(load_model(pit_stop_job.model_dir).features)
    payloads = [{"instances": _instances(stops.iloc[i : i + 5], features)} for i in range(0, 40, 5)]
    first = [pit_stop_server.post(p).json() for p in payloads]
    with ThreadPoolExecutor(max_workers=8) as pool:
        again = list(pool.map(lambda p: pit_stop_server.post(p).json(), payloads * 3))
    assert again == first * 3


# --------------------------------------------------------------------------- bad input


def _error(answer: requests.Response, status: int, code: str, field: str | None, message_part: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert message_part in error["message"]


def test_bad_invocation_bodies_get_4xx_json_naming_the_problem(pit_stop_server, pit_stop_job, stops) -> None:  # type: ignore[no-untyped-def]
    features = list(load_model(pit_stop_job.model_dir).features)
    row = _instances(stops.head(1), features)[0]
    post = pit_stop_server.post
    _error(post(b"{not json"), 400, "malformed_json", "body", "malformed JSON")
    _error(post(b""), 400, "malformed_json", "body", "the request body is empty")
    _error(post([1, 2]), 400, "validation_failed", None, "body:")
    _error(post({"instances": []}), 422, "validation_failed", "instances", "at least 1 item")
    _error(post({"rows": [row]}), 400, "validation_failed", "race", "field required")
    _error(
        post({"instances": [{**row, "horsepower": 900}]}),
        422,
        "validation_failed",
        "instances[0].horsepower",
        "unknown feature",
    )
    missing = {k: v for k, v in row.items() if k != features[0]}
    _error(post({"instances": [missing]}), 422, "validation_failed", f"instances[0].{features[0]}", "missing feature")
    _error(
        post({"instances": [{**row, features[1]: "fast"}]}),
        400,
        "validation_failed",
        f"instances[0].{features[1]}",
        "must be a number",
    )
    _error(post({"instances": [row], "extra": 1}), 400, "validation_failed", "extra", "unknown field")
    _error(post({"championship": {"season": 1900}}), 422, "validation_failed", "championship.season", "greater than")
    _error(post("a,b\n1", content_type="text/csv"), 400, "validation_failed", "instances[0]", "CSV row has 2 values")
    _error(
        post(f"{features[0]}\nfast", content_type="text/csv"),
        400,
        "validation_failed",
        f"instances[0].{features[0]}",
        "must be a number",
    )
    _error(
        post(b"<xml/>", content_type="application/xml"), 415, "unsupported_media_type", "content-type", "not supported"
    )


def test_routes_and_methods(pit_stop_server) -> None:  # type: ignore[no-untyped-def]
    url = pit_stop_server.url
    _error(requests.get(f"{url}/invocations", timeout=10), 405, "method_not_allowed", None, "POST /invocations")
    _error(requests.get(f"{url}/models", timeout=10), 404, "not_found", None, "/models")
    _error(requests.put(f"{url}/invocations", data=b"{}", timeout=10), 405, "method_not_allowed", None, "GET /ping")
    params = requests.get(f"{url}/execution-parameters", timeout=10)
    assert params.status_code == 200 and params.json()["MaxPayloadInMB"] == 6


# --------------------------------------------------------------------------- model loading (in-thread server)


@contextmanager
def _thread_server(model_dir: Path, identity: ModelIdentity, max_body_bytes: int | None = None) -> Iterator[str]:
    service = ModelService(model_dir, identity)
    service.load()
    server = make_server(service, "127.0.0.1", 0, max_body_bytes)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_tampered_or_unregistered_artifacts_are_not_served(pit_stop_job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model_dir = tmp_path / "model"
    shutil.copytree(pit_stop_job.model_dir, model_dir)
    with _thread_server(model_dir, ModelIdentity(sha256="0" * 64)) as url:
        _error(requests.get(f"{url}/ping", timeout=10), 503, "model_not_loaded", None, "not the registered version")
        _error(
            requests.post(f"{url}/invocations", json={"instances": [{}]}, timeout=10),
            503,
            "model_not_loaded",
            None,
            "PITWALL_MODEL_SHA256",
        )
    with _thread_server(model_dir, ModelIdentity(template="race_winner")) as url:
        _error(requests.get(f"{url}/ping", timeout=10), 503, "model_not_loaded", None, "trained for template")

    with (model_dir / "model.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n")  # one byte changed: the checksum no longer matches
    with _thread_server(model_dir, ModelIdentity()) as url:
        _error(requests.get(f"{url}/ping", timeout=10), 503, "model_not_loaded", None, "sha256 mismatch")
    with _thread_server(tmp_path / "empty", ModelIdentity()) as url:
        _error(requests.get(f"{url}/ping", timeout=10), 503, "model_not_loaded", None, "no metadata.json")


def test_oversized_bodies_are_refused_before_reading(pit_stop_job) -> None:  # type: ignore[no-untyped-def]
    with _thread_server(pit_stop_job.model_dir, ModelIdentity(), max_body_bytes=1024) as url:
        assert requests.get(f"{url}/ping", timeout=10).status_code == 200
        answer = requests.post(
            f"{url}/invocations", data=b"x" * 4096, headers={"Content-Type": "application/json"}, timeout=10
        )
        _error(answer, 413, "payload_too_large", "body", "at most 1024")


def test_race_payloads_read_the_environment_lake_like_the_local_api(  # type: ignore[no-untyped-def]
    winner_job, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{"race": ...}`` bodies look features up in get_store() and answer as InProcessServing does."""
    from pitwall.serving.invocation import InProcessServing

    home = tmp_path / "endpoint-home"
    shutil.copytree(winner_job.root / "input" / "data" / "lake", home / "lake")
    monkeypatch.setenv("PITWALL_HOME", str(home))
    monkeypatch.setenv("PITWALL_BACKEND", "local")
    model = load_model(winner_job.model_dir)
    local = InProcessServing(LocalStore(home / "lake"))
    predictor = Predictor(tenant_id="sagemaker", name="race_winner", version=0, template="race_winner", model=model)
    with _thread_server(winner_job.model_dir, ModelIdentity()) as url:
        for payload in ({"race": "2023-22"}, {"race": "abu-dhabi_2023", "grid_positions": {"max-verstappen": 5}}):
            answer = requests.post(f"{url}/invocations", json=payload, timeout=30)
            assert answer.status_code == 200, answer.text
            expected = json.loads(json.dumps(local.invoke(predictor, payload)))
            assert answer.json() == expected
            assert answer.json()["race"]["race_id"] == "2023-22"
        unknown = requests.post(f"{url}/invocations", json={"race": "monaco_2030"}, timeout=30)
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "race"
