"""Every platform rule test runs against both records backends.

``backend`` is parametrised: ``sqlite`` (a fresh ``platform.db`` in tmp_path) and ``dynamodb``
(the five tables created by ``create_tables`` under moto's ``mock_aws``).

Real DynamoDB applies each item write, and each ``TransactWriteItems`` call, atomically with
respect to every other request. moto evaluates a ``ConditionExpression`` and then applies the
write without any lock, so concurrent threads could interleave inside one request, something
the real service never does. ``_serialised_moto`` gives moto that per-request atomicity (one
lock around each DynamoDB request). It does not make our own multi-request
read-then-write sequences atomic: those still race and must rely on conditional writes,
which is what the concurrency tests check.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from pitwall.platform.backend import RecordsBackend, clear_backend_cache
from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.platform.dynamo_tables import create_tables
from pitwall.platform.records import Principal
from pitwall.platform.sqlite_backend import SqliteBackend


@contextmanager
def _serialised_moto() -> Iterator[None]:
    """Handle one moto DynamoDB request at a time: parse, condition check, write and response
    serialisation together (moto returns live item objects that it serialises after the
    backend call, so locking only the backend would still expose half-applied updates)."""
    lock = threading.RLock()
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region so boto3 never looks for real ones."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, value)


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, aws_env: None) -> Iterator[RecordsBackend]:
    clear_backend_cache()
    if request.param == "sqlite":
        sqlite = SqliteBackend(tmp_path / "platform.db")
        yield sqlite
        sqlite.close()
    else:
        with mock_aws(), _serialised_moto():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_tables(client)
            yield DynamoBackend(client)
    clear_backend_cache()


@pytest.fixture
def free() -> Principal:
    return Principal(tenant_id="free-team", tier="free", key_id="k_free")


@pytest.fixture
def pro() -> Principal:
    return Principal(tenant_id="pro-team", tier="pro", key_id="k_pro")


@pytest.fixture
def noon() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


SHA = "ab" * 32


def model_fields(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``models.register_model`` describing a realistic race-winner model."""
    fields: dict[str, Any] = {
        "template": "race_winner",
        "task": "classification",
        "algorithm": "xgboost",
        "features": ["grid_position", "driver_form_3", "team_points_share"],
        "target": "is_winner",
        "data_window": {"seasons": [2018, 2023], "test_seasons": [2024]},
        "metrics": {"log_loss": 0.21, "top1_accuracy": 0.55},
        "baseline_metrics": {"log_loss": 0.29, "top1_accuracy": 0.41},
        "artifact_uri": "file:///models/winner/model.ubj",
        "sha256": SHA,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def model_kwargs() -> Callable[..., dict[str, Any]]:
    return model_fields


T = TypeVar("T")


def run_concurrently(fn: Callable[[int], T], n: int) -> list[T]:
    """Call ``fn(0..n-1)`` from ``n`` threads released together by a barrier, with a tiny
    interpreter switch interval so that the threads really interleave: a non-atomic
    read-then-write implementation loses updates under this harness."""
    barrier = threading.Barrier(n)

    def call(i: int) -> T:
        barrier.wait()
        return fn(i)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(call, range(n)))
    finally:
        sys.setswitchinterval(previous)


@pytest.fixture
def concurrently() -> Callable[..., list[Any]]:
    return run_concurrently
