"""Fixtures for the marketplace tests: a real model trained once per session on the real lake,
a Pitwall home per test module, the API app (``pitwall.api.app``) served over real HTTP, and
both records backends.

``PITWALL_HOME`` is one folder per test module (this folder's ``_isolated_home`` replaces the
root conftest's per-test home), so each module's listings live in one ``platform.db``; tests
use their own tenants and listings and do not depend on each other. The module home's
``lake`` is a link to the session lake, so the default store (used by the verification
backtest and by serving) holds the real data. Each test starts with no listings.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from pitwall.data.store import Store
from pitwall.ml.artifacts import sha256_file
from pitwall.platform import models
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.records import ModelRecord

TEMPLATE = "race_winner"


@pytest.fixture(scope="session")
def winner_artifact(tmp_path_factory: pytest.TempPathFactory, lake: Store) -> Path:
    """A race-winner model (the template's default algorithm) trained on 2022-2023."""
    from pitwall.training import train_template

    home = tmp_path_factory.mktemp("market-train-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PITWALL_HOME", str(home))
        result = train_template(TEMPLATE, seasons=[2022, 2023], store=lake, track=False, register=False)
    return result.model_dir


@pytest.fixture(scope="module")
def market_home(tmp_path_factory: pytest.TempPathFactory, lake: Any) -> Path:
    home = tmp_path_factory.mktemp("market-home")
    (home / "lake").symlink_to(Path(lake.root), target_is_directory=True)
    return home


@pytest.fixture(autouse=True)
def _isolated_home(market_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """One PITWALL_HOME per module (overrides the root conftest's per-test home)."""
    monkeypatch.setenv("PITWALL_HOME", str(market_home))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("PITWALL_BACKEND", raising=False)
    clear_backend_cache()
    # tests share the module's records but not their listings: several tenants publish copies of the
    # same trained artifact, which a listing by another author makes "not an original"
    from pitwall.platform.backend import get_backend

    records = get_backend()
    for listing in records.list_listings():
        records.delete_listing(listing.listing_id)
    yield market_home
    clear_backend_cache()


def register_artifact(
    tenant: str, name: str, source: Path, home: Path, *, backend: Any = None, artifact_uri: str | None = None
) -> ModelRecord:
    """Copy ``source`` into ``home/models/<tenant>/<name>/<id>`` (or use ``artifact_uri``) and
    register it as the next version of the tenant's model, as training does."""
    meta = json.loads((source / "metadata.json").read_text())
    if artifact_uri is None:
        dest = home / "models" / tenant / name / uuid.uuid4().hex[:12]
        shutil.copytree(source, dest)
        artifact_uri = str(dest)
    return models.register_model(
        tenant,
        name,
        template=meta["template"],
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window=meta["data_window"],
        metrics={k: v for k, v in meta["metrics"].items() if isinstance(v, float)},
        baseline_metrics={},
        artifact_uri=artifact_uri,
        sha256=sha256_file(source / "metadata.json"),
        backend=backend,
    )


class HttpApi:
    """The API on 127.0.0.1:<free port> in a thread: the same server ``pitwall serve`` runs."""

    def __init__(self, services: Any) -> None:
        from pitwall.api.server import LocalApiServer

        self._server = LocalApiServer("127.0.0.1", 0, services=services).start()
        self.url = self._server.url

    def call(self, method: str, path: str, key: str | None, body: Any = None, **params: Any) -> requests.Response:
        headers = {"x-api-key": key} if key else {}
        kwargs: dict[str, Any] = {"headers": headers, "timeout": 120, "params": params or None}
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, self.url + path, **kwargs)

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def http_api(lake: Store) -> Iterator[HttpApi]:
    """The API with local services (records of this module's home, serving on the lake)."""
    from pitwall.api.services import local_services
    from pitwall.serving.deploy import LocalServing, reset_default_service
    from pitwall.serving.invocation import InProcessServing

    reset_default_service()
    api = HttpApi(local_services(serving=LocalServing(InProcessServing(lake)), enforce_rate_limits=False))
    yield api
    api.stop()


class Helpers:
    register_artifact = staticmethod(register_artifact)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh records backend: SQLite, or DynamoDB under moto with one request at a time (as
    the real service applies each request atomically; our own multi-request sequences still
    race, which is what the concurrency tests exercise)."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    from pitwall.platform.dynamo_backend import DynamoBackend
    from pitwall.platform.dynamo_tables import create_tables
    from pitwall.platform.sqlite_backend import SqliteBackend

    if request.param == "sqlite":
        sqlite = SqliteBackend(tmp_path / "platform.db")
        yield sqlite
        sqlite.close()
        return
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(var, "testing")
    lock = threading.RLock()
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def serialised(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    with mock_aws():
        monkeypatch.setattr(DynamoHandler, "call_action", serialised)
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        yield DynamoBackend(client)


def run_concurrently(fn: Callable[[int], Any], n: int) -> list[Any]:
    """``fn(0..n-1)`` from ``n`` threads released together, interleaving finely (a tiny switch
    interval: a non-atomic read-then-write loses updates here); exceptions are returned, not
    raised."""
    barrier = threading.Barrier(n)

    def call(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(call, range(n)))
    finally:
        sys.setswitchinterval(previous)


@pytest.fixture
def concurrently() -> Callable[[Callable[[int], Any], int], list[Any]]:
    return run_concurrently
