"""Parallel downloads and ratings through ``pitwall.marketplace`` leave exact counts, on the
embedded backend and on DynamoDB (moto, one request at a time as the real service applies
them; our own multi-request sequences still race)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pitwall import marketplace
from pitwall.errors import QuotaExceeded
from pitwall.marketplace import rules
from pitwall.marketplace.rules import get_listing
from pitwall.marketplace.service import download
from pitwall.platform import keys, quotas
from pitwall.platform.backend import RecordsBackend


def test_fifty_parallel_downloads_and_ratings_leave_exact_counts(
    backend: RecordsBackend, h: Any, market_home: Path, winner_artifact: Path, concurrently: Any
) -> None:
    h.register_artifact("author", "winner", winner_artifact, market_home, backend=backend)
    listing = marketplace.publish("winner", "Popular model", "Downloaded a lot.", tenant="author", backend=backend)
    lid = listing.listing_id
    keys.create_tenant("crowd", "pro", backend=backend)
    crowd = keys.principal_for_tenant("crowd", backend=backend)

    results = concurrently(lambda i: download(lid, tenant=crowd, backend=backend), 50)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert {r.sha256 for r in results} == {listing.sha256}  # type: ignore[union-attr]
    # one tenant's burst counts once a day, on the listing and on its allowance alike
    assert get_listing(lid, backend=backend).downloads == 1
    assert quotas.used_today("crowd", quotas.MARKETPLACE_DOWNLOADS, backend=backend) == 1
    principals = []
    for i in range(50):
        keys.create_tenant(f"crowd-{i}", "pro", backend=backend)
        principals.append(keys.principal_for_tenant(f"crowd-{i}", backend=backend))
    results = concurrently(lambda i: download(lid, tenant=principals[i], backend=backend), 50)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert get_listing(lid, backend=backend).downloads == 51

    stars = [(i % 5) + 1 for i in range(50)]
    results = concurrently(lambda i: marketplace.rate(lid, stars[i], tenant=f"fan-{i}", backend=backend), 50)
    assert [r for r in results if isinstance(r, BaseException)] == []
    rated = get_listing(lid, backend=backend)
    assert (rated.rating_count, rated.rating_sum) == (50, sum(stars))

    # everyone changes their mind at once: still one rating each, sums exact
    restars = [5 - (i % 5) for i in range(50)]
    concurrently(lambda i: marketplace.rate(lid, restars[i], tenant=f"fan-{i}", backend=backend), 50)
    rerated = get_listing(lid, backend=backend)
    assert (rerated.rating_count, rerated.rating_sum) == (50, sum(restars))
    assert rerated.rating_avg == pytest.approx(sum(restars) / 50)

    (entry,) = marketplace.top(backend=backend)
    assert (entry.listing.listing_id, entry.downloads_7d, entry.ratings_7d) == (lid, 51, 50)

    # a free tenant racing past its daily allowance over many listings gets exactly the allowance
    keys.create_tenant("frugal", "free", backend=backend)
    frugal = keys.principal_for_tenant("frugal", backend=backend)
    allowance = frugal.limits.marketplace_downloads_per_day
    assert allowance is not None
    lids = []
    for i in range(allowance + 5):  # the artifact is real; the backtest is a stand-in (tested elsewhere)
        h.register_artifact("author", f"winner-{i}", winner_artifact, market_home, backend=backend)
        extra = rules.publish(
            "author", f"winner-{i}", f"Copy {i}", "d", {}, lambda m: {"log_loss": 0.5}, lambda m: None, backend=backend
        )
        lids.append(extra.listing_id)
    results = concurrently(lambda i: download(lids[i], tenant=frugal, backend=backend), allowance + 5)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 5 and all(isinstance(r, QuotaExceeded) for r in refused)
    assert sum(get_listing(x, backend=backend).downloads for x in lids) == allowance
    assert quotas.used_today("frugal", quotas.MARKETPLACE_DOWNLOADS, backend=backend) == allowance
