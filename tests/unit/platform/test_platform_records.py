"""Record documents round-trip; listing tokens and sort order; table declarations."""

from __future__ import annotations

import pytest

from pitwall.errors import ValidationFailed
from pitwall.marketplace import rules as marketplace
from pitwall.platform import jobs
from pitwall.platform.dynamo_tables import MARKETPLACE, TABLES, create_table_request, table_name
from pitwall.platform.records import TERMINAL_JOB_STATUSES, ForkOrigin, JobRecord, Listing, ModelRecord

MODEL = ModelRecord(
    tenant_id="acme",
    name="winner",
    version=2,
    template="race_winner",
    task="classification",
    algorithm="xgboost",
    features=["grid_position"],
    target="is_winner",
    data_window={"seasons": [2018, 2023]},
    metrics={"log_loss": 0.2},
    baseline_metrics={"log_loss": 0.3},
    artifact_uri="file:///m",
    sha256="ab" * 32,
    created_at="2026-03-01T12:00:00.000000+00:00",
    forked_from=ForkOrigin("lst_1", "author", "winner", 1),
)


def test_model_version_doc_round_trip_and_status() -> None:
    doc = MODEL.version_doc()
    assert "status" not in doc and "deployed_version" not in doc
    deployed = ModelRecord.from_version_doc(doc, deployed_version=2, auto_retrain=True)
    assert (deployed.status, deployed.auto_retrain, deployed.forked_from) == ("deployed", True, MODEL.forked_from)
    other = ModelRecord.from_version_doc(doc, deployed_version=1, auto_retrain=False)
    assert other.status == "registered"


def test_job_round_trip() -> None:
    job = JobRecord(
        job_id="job-1",
        tenant_id="acme",
        kind="train",
        model_name="winner",
        template="race_winner",
        status="queued",
        created_at="t0",
        updated_at="t0",
        max_runtime_seconds=3600,
        params={"eta": 0.1},
        idempotency_key="k",
        quota_day="2026-03-01",
    )
    assert JobRecord.from_doc(job.to_doc()) == job
    assert not job.finished and job.with_status("failed", error="boom").finished


def test_job_transitions_end_in_terminal_states() -> None:
    assert all(not jobs.ALLOWED_TRANSITIONS[s] for s in TERMINAL_JOB_STATUSES)
    assert "cancelled" in jobs.ALLOWED_TRANSITIONS["queued"] and "succeeded" not in jobs.ALLOWED_TRANSITIONS["queued"]


def _listing(**kw: object) -> Listing:
    base = {
        "listing_id": "lst_1",
        "author_tenant_id": "author",
        "model_name": "winner",
        "model_version": 1,
        "title": "t",
        "description": "d",
        "template": "race_winner",
        "task": "classification",
        "algorithm": "xgboost",
        "features": ["grid_position"],
        "target": "is_winner",
        "data_window": {},
        "baseline_metrics": {},
        "verified_metrics": {"log_loss": 0.2},
        "reported_metrics": {},
        "artifact_uri": "s3://bucket/author/winner/1",
        "sha256": "ab" * 32,
        "created_at": "2026-03-01T12:00:00.000000+00:00",
        "verified_at": "2026-03-01T12:00:00.000000+00:00",
    }
    return Listing(**(base | kw))  # type: ignore[arg-type]


def test_listing_counters_and_public_view() -> None:
    listing = _listing(rating_sum=7, rating_count=2, downloads=9)
    assert listing.rating_avg == 3.5 and _listing().rating_avg is None
    assert Listing.from_doc(listing.snapshot_doc(), downloads=9, rating_sum=7, rating_count=2) == listing
    public = listing.public_doc()
    assert "artifact_uri" not in public and "rating_sum" not in public
    assert (public["rating_avg"], public["verified"]) == (3.5, True)
    assert listing.source_key == "author#winner#1"


def test_page_tokens_are_bound_to_their_query() -> None:
    fp = marketplace._query_fingerprint("race_winner", None, None, "recent")
    token = marketplace._encode_token(40, fp)
    assert marketplace._decode_token(token, fp) == 40
    other = marketplace._query_fingerprint("podium", None, None, "recent")
    with pytest.raises(ValidationFailed):
        marketplace._decode_token(token, other)
    with pytest.raises(ValidationFailed):
        marketplace._decode_token("not*base64", fp)


def test_recent_sort_puts_newest_first() -> None:
    older = _listing(listing_id="a", created_at="2026-03-01T12:00:00.000000+00:00")
    newer = _listing(listing_id="b", created_at="2026-03-02T09:00:00.000000+00:00")
    assert sorted([older, newer], key=marketplace._sort_key("recent")) == [newer, older]
    rated = _listing(listing_id="c", rating_sum=5, rating_count=1)
    assert sorted([older, rated], key=marketplace._sort_key("rating"))[0] == rated


def test_table_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(TABLES) == {"tenants", "quotas", "models", "jobs", "marketplace"}
    monkeypatch.setenv("PITWALL_MARKETPLACE_TABLE", "prod-market")
    request = create_table_request(MARKETPLACE)
    assert request["TableName"] == table_name(MARKETPLACE) == "prod-market"
    assert {a["AttributeName"] for a in request["AttributeDefinitions"]} == {"pk", "sk", "listings_pk", "listings_sk"}
    assert request["BillingMode"] == "PAY_PER_REQUEST"
