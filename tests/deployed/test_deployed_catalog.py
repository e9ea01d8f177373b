"""The catalogue operations through the API Lambda as deployed (asset + layers + the runtime's boto3;
no numpy/pandas), against a lake seeded the way ``pitwall ingest`` seeds it (parquet objects plus the
``_catalog/`` read-model in the lake bucket) and a model whose SageMaker-style ``model.tar.gz`` holds
the report written at training time (AWS behind moto).

Every catalogue operation answers its documented 2xx, none 503, and with the same JSON as the local
path (``pitwall serve`` reading the same lake from disk)."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deployed import support

CATALOG_OPERATIONS = (
    "list_templates",
    "template_notebook",
    "feature_catalog",
    "data_status",
    "list_circuits",
    "list_races",
    "race_result",
    "list_entrants",
    "usage",
    "model_report",
)
MODEL = "winner_report"
TRAINED = [2022, 2023]


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    """F1DB 2022-2024 ingested locally with its catalogue, and race_winner trained on 2022-2023."""
    from pitwall.data import catalog as cat
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore
    from pitwall.training import train_template

    store = LocalStore(tmp_path_factory.mktemp("catalog-lake"))
    ingest_f1db(store, shared_data / "f1db", seasons=[*TRAINED, 2024])
    cat.write_catalog(store)
    result = train_template("race_winner", seasons=TRAINED, store=store, register=False, track=False)
    return {"store": store, "model_dir": Path(result.model_dir), "result": result}


def _tarball(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.add(path, arcname=path.relative_to(folder).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="module")
def seeded(
    local_lake: dict[str, Any], api_function: support.Function, aws: dict[str, Any], tenant_key: dict[str, str]
) -> dict[str, Any]:
    """The local lake's objects in the deployed lake bucket; the model tarball in the models bucket,
    registered for the key's tenant."""
    import boto3

    from pitwall.ml.artifacts import sha256_file
    from pitwall.platform.models import register_model

    env = api_function.environment
    bucket, prefix, models_bucket = (
        env["PITWALL_BUCKET"],
        env.get("PITWALL_PREFIX", "lake"),
        env["PITWALL_MODELS_BUCKET"],
    )
    s3 = boto3.client("s3", region_name=support.REGION)
    root = local_lake["store"].root
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith("."):  # the local ingest state stays local
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{rel}", Body=path.read_bytes())
    key = f"training-output/{tenant_key['tenant']}/job-report/output/model.tar.gz"
    s3.put_object(Bucket=models_bucket, Key=key, Body=_tarball(local_lake["model_dir"]))
    result = local_lake["result"]
    record = register_model(
        tenant_key["tenant"],
        MODEL,
        template="race_winner",
        task="ranking",
        algorithm=result.model.algorithm,
        features=list(result.model.features),
        target="position",
        data_window=result.model.data_window,
        metrics=result.metrics,
        baseline_metrics=result.baseline_metrics,
        artifact_uri=f"s3://{models_bucket}/{key}",
        sha256=sha256_file(local_lake["model_dir"] / "metadata.json"),
    )
    return {"record": record}


@pytest.fixture(scope="module")
def api(
    api_function: support.Function, layers: support.Layers, aws: dict[str, Any], read_only_home: Any
) -> Iterator[support.LambdaProcess]:
    paths = [api_function.asset_dir, *layers.for_function(api_function), layers.runtime]
    process = support.LambdaProcess(api_function, paths, aws["env"], read_only_home)
    yield process
    process.close()


def _requests() -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(operation id, path parameters, query) of the catalogue requests checked."""
    return [
        ("list_templates", {}, {}),
        ("template_notebook", {"template": "race_winner"}, {}),
        ("feature_catalog", {}, {}),
        ("data_status", {}, {}),
        ("list_circuits", {}, {}),
        ("list_races", {}, {}),
        ("list_races", {}, {"season": "2024"}),
        ("race_result", {"race": "monaco_2024"}, {}),
        ("race_result", {"race": "2023-22"}, {}),
        ("list_entrants", {}, {}),
        ("list_entrants", {}, {"since": "2024"}),
        ("usage", {}, {}),
        ("model_report", {"model": MODEL}, {}),
    ]


def _local_answers(
    local_lake: dict[str, Any], seeded: dict[str, Any], tenant_key: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The same requests through the local path: the API's handler reading the lake from disk."""
    from pitwall.api import catalog as api_catalog
    from pitwall.api.http import ApiRequest, handle
    from pitwall.api.operations import operation
    from pitwall.api.services import aws_services
    from pitwall.data import catalog as cat

    store = local_lake["store"]
    monkeypatch.setattr(api_catalog, "catalog_reader", lambda: cat.CatalogReader(cat.LocalDocuments(store.root), store))
    # the same record, its artifact the local folder the tarball was made of
    local_record = dataclasses.replace(seeded["record"], artifact_uri=str(local_lake["model_dir"]))
    monkeypatch.setattr("pitwall.platform.models.get_model", lambda tenant, name, backend=None: local_record)
    services = aws_services()
    out = {}
    for op_id, params, query in _requests():
        if op_id == "usage":
            continue  # today's counters change with every request: not a catalogue answer
        op = operation(op_id)
        answer = handle(op, ApiRequest(op.method, op.path, params, query, {"x-api-key": tenant_key["key"]}), services)
        out[f"{op_id} {params} {query}"] = (answer.status, json.loads(answer.content))
    return out


def test_every_catalogue_operation_answers_2xx_in_the_lean_lambda_as_it_does_locally(
    api: support.LambdaProcess,
    synth: support.Synth,
    aws: dict[str, Any],
    tenant_key: dict[str, str],
    seeded: dict[str, Any],
    local_lake: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    methods = support.api_methods(synth)
    api_id = aws["deployed"].rest_api_id
    status, doc = support.response_of(
        api.invoke(support.rest_event(methods[("/api/v1/openapi.json", "GET")], {}, api_id=api_id))
    )
    assert status == 200
    by_id = {
        op["operationId"]: (path, verb.upper(), op) for path, item in doc["paths"].items() for verb, op in item.items()
    }
    assert set(CATALOG_OPERATIONS) <= set(by_id)
    cloud, unavailable, failures = {}, [], []
    for op_id, params, query in _requests():
        path, verb, op = by_id[op_id]
        event = support.rest_event(
            methods[(path, verb)],
            params,
            api_id=api_id,
            api_key=tenant_key["key"],
            api_key_id=tenant_key["key_id"],
            query=query,
        )
        status, answer = support.response_of(api.invoke(event))
        documented_2xx = {int(c) for c in op["responses"] if str(c).startswith("2")}
        line = f"{verb} {path} {query} ({op_id}) -> {status} {json.dumps(answer)[:300]}"
        if status == 503:
            unavailable.append(line)
        elif status not in documented_2xx:
            failures.append(line)
        cloud[f"{op_id} {params} {query}"] = (status, answer)
    if failures or unavailable:
        print("handler log:\n" + api.log_tail())
    assert unavailable == [], "catalogue operations answering 503 in the lean Lambda:\n" + "\n".join(unavailable)
    assert failures == [], "\n".join(failures)

    status, answer = cloud[f"model_report {{'model': '{MODEL}'}} {{}}"]
    stored = json.loads((local_lake["model_dir"] / "report.json").read_text())
    assert answer == {"model": MODEL, "version": seeded["record"].version, "template": "race_winner", **stored}
    assert cloud["data_status {} {}"][1]["seasons"] == [*TRAINED, 2024]
    assert [r["driver_id"] for r in cloud["race_result {'race': 'monaco_2024'} {}"][1]["results"][:3]]

    local = _local_answers(local_lake, seeded, tenant_key, monkeypatch)
    assert {k: v for k, v in cloud.items() if k in local} == local
