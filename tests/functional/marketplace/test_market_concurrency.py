"""Parallel downloads and ratings through the marketplace glue leave exact counts, on the
embedded backend and on DynamoDB (moto, one request at a time as the real service applies
them; our own multi-request sequences still race)."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from pitwall import market_service
from pitwall.errors import QuotaExceeded
from pitwall.platform import keys, quotas
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.platform.dynamo_tables import create_tables
from pitwall.platform.marketplace import get_listing
from pitwall.platform.sqlite_backend import SqliteBackend

T = TypeVar("T")


def run_concurrently(fn: Callable[[int], T], n: int) -> list[T | BaseException]:
    """``fn(0..n-1)`` from ``n`` threads released together, interleaving finely; exceptions
    are returned, not raised."""
    barrier = threading.Barrier(n)

    def call(i: int) -> T | BaseException:
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


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
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


def test_fifty_parallel_downloads_and_ratings_leave_exact_counts(
    backend: RecordsBackend, h: Any, market_home: Path, winner_artifact: Path
) -> None:
    h.register_artifact("author", "winner", winner_artifact, market_home, backend=backend)
    listing = market_service.publish("author", "winner", "Popular model", "Downloaded a lot.", backend=backend)
    lid = listing.listing_id
    keys.create_tenant("crowd", "pro", backend=backend)
    crowd = keys.principal_for_tenant("crowd", backend=backend)

    results = run_concurrently(lambda i: market_service.download(crowd, lid, backend=backend), 50)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert {r.sha256 for r in results} == {listing.sha256}  # type: ignore[union-attr]
    assert get_listing(lid, backend=backend).downloads == 50
    assert quotas.used_today("crowd", quotas.MARKETPLACE_DOWNLOADS, backend=backend) == 50

    stars = [(i % 5) + 1 for i in range(50)]
    results = run_concurrently(lambda i: market_service.rate(f"fan-{i}", lid, stars[i], backend=backend), 50)
    assert [r for r in results if isinstance(r, BaseException)] == []
    rated = get_listing(lid, backend=backend)
    assert (rated.rating_count, rated.rating_sum) == (50, sum(stars))

    # everyone changes their mind at once: still one rating each, sums exact
    restars = [5 - (i % 5) for i in range(50)]
    run_concurrently(lambda i: market_service.rate(f"fan-{i}", lid, restars[i], backend=backend), 50)
    rerated = get_listing(lid, backend=backend)
    assert (rerated.rating_count, rerated.rating_sum) == (50, sum(restars))
    assert rerated.rating_avg == pytest.approx(sum(restars) / 50)

    (entry,) = market_service.top(backend=backend)
    assert (entry.listing.listing_id, entry.downloads_7d, entry.ratings_7d) == (lid, 50, 50)

    # a free tenant racing past its daily allowance gets exactly the allowance
    keys.create_tenant("frugal", "free", backend=backend)
    frugal = keys.principal_for_tenant("frugal", backend=backend)
    allowance = frugal.limits.marketplace_downloads_per_day
    assert allowance is not None
    results = run_concurrently(lambda i: market_service.download(frugal, lid, backend=backend), allowance + 5)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 5 and all(isinstance(r, QuotaExceeded) for r in refused)
    assert get_listing(lid, backend=backend).downloads == 50 + allowance
