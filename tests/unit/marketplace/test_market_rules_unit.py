"""The marketplace rules of issue 18 on an in-memory stand-in for the records backend (no I/O): a
download counts once per tenant per listing per UTC day (listing counters and allowance alike), an
author's own downloads never count, a fork cannot be published as an original; and the verification
workflow's definition and its local wiring agree."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pitwall.errors import QuotaExceeded, ValidationFailed
from pitwall.marketplace import jobs, rules
from pitwall.platform.records import ForkOrigin, Listing, ModelRecord, Principal
from pitwall.workflow import verification
from pitwall.workflow.definition import validate_definition

NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


class MemoryBackend:
    """Just the primitives the download and originality rules use."""

    def __init__(self, listings: list[Listing]) -> None:
        self.listings = {x.listing_id: x for x in listings}
        self.counters: dict[tuple[str, str], int] = {}
        self.activity: dict[tuple[str, str], int] = {}

    def increment_counter(self, name: str, period: str, *, limit: int | None, expires_at: int) -> int | None:
        value = self.counters.get((name, period), 0)
        if limit is not None and value >= limit:
            return None
        self.counters[(name, period)] = value + 1
        return value + 1

    def decrement_counter(self, name: str, period: str) -> int:
        self.counters[(name, period)] = max(0, self.counters.get((name, period), 0) - 1)
        return self.counters[(name, period)]

    def add_download(self, listing_id: str, day: str, expires_at: int) -> bool:
        if listing_id not in self.listings:
            return False
        x = self.listings[listing_id]
        self.listings[listing_id] = replace(x, downloads=x.downloads + 1)
        self.activity[(listing_id, day)] = self.activity.get((listing_id, day), 0) + 1
        return True

    def list_listings(self) -> list[Listing]:
        return list(self.listings.values())


def _listing(listing_id: str = "lst_0000000000000001", author: str = "author", sha: str = "ab" * 32) -> Listing:
    return Listing(
        listing_id=listing_id,
        author_tenant_id=author,
        model_name="winner",
        model_version=1,
        title="t",
        description="d",
        template="race_winner",
        task="classification",
        algorithm="xgboost",
        features=["grid_position"],
        target="is_winner",
        data_window={},
        baseline_metrics={},
        verified_metrics={"log_loss": 0.3},
        reported_metrics={},
        artifact_uri="file:///m",
        sha256=sha,
        created_at="2026-03-01T00:00:00+00:00",
        verified_at="2026-03-01T00:00:00+00:00",
    )


def _model(tenant: str = "fan", sha: str = "cd" * 32, forked_from: ForkOrigin | None = None) -> ModelRecord:
    return ModelRecord(
        tenant_id=tenant,
        name="mine",
        version=1,
        template="race_winner",
        task="classification",
        algorithm="xgboost",
        features=["grid_position"],
        target="is_winner",
        data_window={},
        metrics={},
        baseline_metrics={},
        artifact_uri="file:///mine",
        sha256=sha,
        created_at="2026-03-01T00:00:00+00:00",
        forked_from=forked_from,
    )


def test_a_burst_by_one_tenant_counts_once_a_day() -> None:
    listing = _listing()
    b = MemoryBackend([listing])
    fan = Principal("fan", "free")
    taken = [rules.take_download(fan, listing, now=NOON, backend=b) for _ in range(50)]  # type: ignore[arg-type]
    assert [t.reservation is not None for t in taken].count(True) == 1
    assert b.listings[listing.listing_id].downloads == 1
    assert b.counters[("fan#marketplace_downloads", "2026-03-01")] == 1
    rules.take_download(fan, listing, now=NOON + timedelta(days=1), backend=b)  # type: ignore[arg-type]
    assert b.listings[listing.listing_id].downloads == 2


def test_the_authors_own_downloads_never_count() -> None:
    listing = _listing()
    b = MemoryBackend([listing])
    for day in range(3):
        taken = rules.take_download(Principal("author", "pro"), listing, now=NOON + timedelta(days=day), backend=b)  # type: ignore[arg-type]
        assert taken.counted is False
    assert b.listings[listing.listing_id].downloads == 0 and b.activity == {}


def test_a_refused_download_leaves_nothing_taken() -> None:
    listings = [_listing(f"lst_{i:016x}") for i in range(21)]
    b = MemoryBackend(listings)
    fan = Principal("fan", "free")
    for x in listings[:20]:
        rules.take_download(fan, x, now=NOON, backend=b)  # type: ignore[arg-type]
    with pytest.raises(QuotaExceeded):
        rules.take_download(fan, listings[20], now=NOON, backend=b)  # type: ignore[arg-type]
    assert b.listings[listings[20].listing_id].downloads == 0
    # the refused listing was not marked as seen today: a download after the reset counts
    assert b.counters.get((f"fan#{rules.SEEN_COUNTER}#{listings[20].listing_id}", "2026-03-01"), 0) == 0
    # a delivery that failed gives the unit and the day's mark back
    other = _listing("lst_00000000000000ff")
    b.listings[other.listing_id] = other
    pro = Principal("pro-fan", "pro")
    taken = rules.take_download(pro, other, record=False, now=NOON, backend=b)  # type: ignore[arg-type]
    rules.give_back_download(pro, other, taken, backend=b)  # type: ignore[arg-type]
    assert b.counters[("pro-fan#marketplace_downloads", "2026-03-01")] == 0
    assert b.listings[other.listing_id].downloads == 0


def test_a_fork_is_not_an_original() -> None:
    listing = _listing()
    b = MemoryBackend([listing])
    origin = ForkOrigin(listing_id=listing.listing_id, tenant_id="author", model_name="winner", version=1)
    with pytest.raises(ValidationFailed) as err:
        rules.check_original(_model(forked_from=origin), backend=b)  # type: ignore[arg-type]
    assert (err.value.code, err.value.field, err.value.http_status) == ("fork_not_original", "model_name", 422)
    with pytest.raises(ValidationFailed) as err:  # lineage dropped, checksum kept: still the author's model
        rules.check_original(_model(sha=listing.sha256), backend=b)  # type: ignore[arg-type]
    assert err.value.code == "fork_not_original" and listing.listing_id in err.value.message
    rules.check_original(_model(), backend=b)  # type: ignore[arg-type]  # an original of one's own
    rules.check_original(_model(tenant="author", sha=listing.sha256), backend=b)  # type: ignore[arg-type]


def test_the_verification_definition_and_its_local_wiring_agree() -> None:
    validate_definition(verification.VERIFICATION_WORKFLOW)
    tasks = [s for s in verification.VERIFICATION_WORKFLOW if s.kind == "task"]
    assert {s.implementation for s in tasks} == set(verification.IMPLEMENTATION_NAMES)
    (verify,) = [s for s in tasks if s.resource == "sagemaker_training"]
    assert (verify.name, verify.result_key) == ("VerifyModel", "training")  # read like TrainModel's result
    assert all(
        c.next == verification.FAILURE_HANDLER for s in tasks if s.name != verification.FAILURE_HANDLER for c in s.catch
    )
    # a listing's request fits one SageMaker hyper-parameter and reads back as the image reads it
    from pitwall.marketplace.verify import VerificationRequest

    params = jobs.verification_request(_listing())
    assert VerificationRequest.from_params(params).to_params() == params
    with pytest.raises(ValidationFailed) as err:
        VerificationRequest.from_params({"listing_id": "x"})
    assert err.value.field == "params"


def test_listing_status_is_kept_in_the_snapshot_document() -> None:
    pending = replace(_listing(), status=rules.VERIFYING, verified_metrics={})
    doc: dict[str, Any] = pending.snapshot_doc()
    assert doc["status"] == "verifying" and Listing.from_doc(doc).status == "verifying"
    assert pending.public_doc()["verified"] is False and "snapshot" not in pending.public_doc()
    legacy = {k: v for k, v in _listing().snapshot_doc().items() if k not in ("status", "rejection", "snapshot")}
    assert Listing.from_doc(legacy).status == "listed"  # listings stored before verification jobs
