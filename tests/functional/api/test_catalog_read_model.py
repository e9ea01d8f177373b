"""The data catalogue on real F1DB data: written at the end of an ingest run (locally and to S3 under
moto, by the same code), and the API's data operations answering the same JSON through the local
path (the Store, ``pitwall serve``) and the lean cloud path (boto3 reads of the documents only)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pitwall.api import catalog as api_catalog
from pitwall.api.http import ApiRequest, handle
from pitwall.api.operations import operation
from pitwall.data import catalog as cat
from pitwall.data.events import RaceIngested
from pitwall.data.store import LocalStore

BUCKET = "pitwall-catalog-lake"
PREFIX = "lake"
SEASONS = [2023, 2024]
DATA_OPERATIONS = ("data_status", "list_circuits", "list_races", "list_entrants")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> LocalStore:
    """F1DB 2023-2024 ingested with the runtime's publisher (the end-of-run point writes the catalogue)."""
    from pitwall.data.ingest import ingest_f1db

    root = tmp_path_factory.mktemp("catalog-home") / "lake"
    store = LocalStore(root)
    ingest_f1db(store, shared_data / "f1db", seasons=SEASONS)
    cat.write_catalog(store)
    return store


def _api(records_dir: Path) -> Callable[..., tuple[int, Any]]:
    from pitwall.api.services import local_services
    from pitwall.platform.keys import create_key
    from pitwall.platform.sqlite_backend import SqliteBackend

    records = SqliteBackend(records_dir / "records.db")
    services = local_services(records=records, enforce_rate_limits=False)
    key = create_key("catalog-tenant", "free", backend=records)

    def call(operation_id: str, query: dict[str, str] | None = None, **params: str) -> tuple[int, Any]:
        op = operation(operation_id)
        answer = handle(op, ApiRequest(op.method, op.path, params, query or {}, {"x-api-key": key}), services)
        return answer.status, json.loads(answer.content)

    return call


def _answers(call: Callable[..., tuple[int, Any]], race_ids: list[str]) -> dict[str, tuple[int, Any]]:
    out = {op: call(op) for op in DATA_OPERATIONS}
    out["list_races?season=2024"] = call("list_races", {"season": "2024"})
    out["list_entrants?since=2024"] = call("list_entrants", {"since": "2024"})
    out["race_result monaco_2024"] = call("race_result", race="monaco_2024")
    out["race_result atlantis_2024"] = call("race_result", race="atlantis_2024")
    for race_id in race_ids:
        out[f"race_result {race_id}"] = call("race_result", race=race_id)
    return out


def _through(
    monkeypatch: pytest.MonkeyPatch, reader: Callable[[], cat.CatalogReader], call: Callable[..., Any], ids: list[str]
) -> dict[str, tuple[int, Any]]:
    monkeypatch.setattr(api_catalog, "catalog_reader", reader)
    return _answers(call, ids)


def _upload(client: Any, root: Path) -> None:
    """The local lake, object for object, in the bucket: the same lake in S3."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("."):
            continue
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}", Body=path.read_bytes())


def test_the_same_lake_answers_the_same_json_locally_and_through_the_lean_s3_path(
    local_lake: LocalStore, aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = _api(tmp_path)
    race_ids = [r["race_id"] for r in cat.CatalogReader(cat.LocalDocuments(local_lake.root)).races()]
    local = _through(
        monkeypatch, lambda: cat.CatalogReader(cat.LocalDocuments(local_lake.root), local_lake), call, race_ids
    )
    _upload(aws, local_lake.root)
    cloud = _through(monkeypatch, lambda: cat.CatalogReader(cat.S3Documents(aws, BUCKET, PREFIX)), call, race_ids)
    assert cloud == local
    assert {k: s for k, (s, _) in local.items() if s != 200} == {"race_result atlantis_2024": 404}
    status = local["data_status"][1]
    assert status["seasons"] == SEASONS and status["last_ingest"]
    assert len(race_ids) == status["races"] == sum(1 for r in local["list_races"][1]["races"] if r["has_results"])


def test_the_lean_path_reads_the_documents_with_boto3_from_the_environment(
    local_lake: LocalStore, aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reader()`` where the Store cannot be imported (the lean Lambda): documents from PITWALL_BUCKET."""
    _upload(aws, local_lake.root)
    monkeypatch.setenv("PITWALL_BACKEND", "aws")
    monkeypatch.setenv("PITWALL_BUCKET", BUCKET)
    monkeypatch.setenv("PITWALL_PREFIX", PREFIX)

    def no_store() -> Any:
        raise ImportError("no module named 'awswrangler'")

    lean = cat.reader(no_store)
    assert lean.store is None and isinstance(lean.documents, cat.S3Documents)
    assert lean.status() == cat.LocalDocuments(local_lake.root).get(cat.STATUS)


def test_an_ingest_run_writes_the_catalogue_to_s3_as_it_does_locally(
    local_lake: LocalStore, aws: Any, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pitwall ingest`` on the AWS backend: the run's end (after the feature refresh) writes the
    documents to the lake's bucket; the answers equal the local lake's, but for the write time."""
    from pitwall import runtime
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store.aws import AwsStore

    session = boto3.Session(region_name="us-east-1")
    store = AwsStore(BUCKET, PREFIX, "pitwall_catalog_test", boto3_session=session)
    monkeypatch.setenv("PITWALL_BACKEND", "aws")
    monkeypatch.setenv("PITWALL_BUCKET", BUCKET)
    monkeypatch.setenv("PITWALL_PREFIX", PREFIX)
    monkeypatch.setenv("PITWALL_GLUE_DATABASE", "pitwall_catalog_test")
    monkeypatch.setattr("pitwall.features.race_ingested_handler", lambda store: lambda event: None)
    monkeypatch.setattr(runtime.EventBridgePublisher, "publish", lambda self, event: None)
    events = session.client("events")
    ingest_f1db(store, shared_data / "f1db", seasons=SEASONS, publisher=runtime.FeaturesFirst(events))
    on_s3 = cat.S3Documents(aws, BUCKET, PREFIX)
    local = cat.LocalDocuments(local_lake.root)
    assert on_s3.get(cat.STATUS) is not None, "the ingest run wrote no catalogue"
    for name in (cat.RACES, cat.CIRCUITS, cat.ENTRANTS, *(cat.results_name(s) for s in SEASONS)):
        assert on_s3.get(name) == local.get(name), name
    cloud_status, local_status = on_s3.get(cat.STATUS) or {}, local.get(cat.STATUS) or {}
    ignore = ("fingerprint", "last_ingest")  # S3 ETags vs file tokens; the time of each run
    assert {k: v for k, v in cloud_status.items() if k not in ignore} == {
        k: v for k, v in local_status.items() if k not in ignore
    }
    assert cloud_status["fingerprint"] == cat.fingerprint(cat.lake_versions(store))


def test_the_local_ingest_run_writes_the_catalogue_after_the_feature_refresh(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pitwall import runtime
    from pitwall.data.ingest import ingest_f1db

    order: list[str] = []
    monkeypatch.setattr("pitwall.features.race_ingested_handler", lambda store: lambda event: order.append("features"))
    monkeypatch.setattr(cat, "write_catalog", lambda store: order.append("catalogue") or [])
    bus = runtime.LocalEventBus()
    bus.subscribe(runtime._refresh_logged)
    heard: list[RaceIngested] = []
    bus.subscribe(heard.append)
    store = LocalStore(Path(os.environ["PITWALL_HOME"]) / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[8], publisher=bus)
    assert order == ["features", "catalogue"] and len(heard) == 1


def test_a_lake_written_without_an_ingest_run_is_read_fresh(local_lake: LocalStore, tmp_path: Path) -> None:
    """A stale or missing catalogue (the lake changed outside an ingest run) is rebuilt in memory by
    a reader holding the Store, and equals what writing it would give."""
    import shutil

    root = tmp_path / "lake"
    shutil.copytree(local_lake.root, root, ignore=shutil.ignore_patterns(cat.CATALOG_PREFIX))
    store = LocalStore(root)
    reader = cat.CatalogReader(cat.LocalDocuments(root), store)
    rebuilt = (reader.races(), reader.circuits(), reader.entrants(), reader.results(2024, "2024-08"))
    assert not (root / cat.CATALOG_PREFIX).exists()  # reading never writes
    cat.write_catalog(store)
    written = cat.CatalogReader(cat.LocalDocuments(root))
    assert rebuilt == (written.races(), written.circuits(), written.entrants(), written.results(2024, "2024-08"))
    assert reader.status()["datasets"] == written.status()["datasets"]
