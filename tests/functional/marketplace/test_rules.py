"""``pitwall.marketplace.rules`` on both records backends: publish, list, top, show, download
counts, rate, fork, unpublish (the artifact checks are stand-ins here; see the other tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pitwall.errors import Conflict, Forbidden, NotFound, QuotaExceeded, ValidationFailed
from pitwall.marketplace import rules as marketplace
from pitwall.platform import models, quotas
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import Listing, ModelRecord, Principal

Fields = Callable[..., dict[str, Any]]
AUTHOR = Principal("author-team", "pro")
SHA = "ab" * 32


@pytest.fixture
def model_kwargs() -> Fields:
    """Keyword arguments for ``models.register_model`` describing a realistic race-winner model."""

    def fields(**overrides: Any) -> dict[str, Any]:
        return {
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
            **overrides,
        }

    return fields


@pytest.fixture
def free() -> Principal:
    return Principal(tenant_id="free-team", tier="free", key_id="k_free")


@pytest.fixture
def noon() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def backtest(model: ModelRecord) -> dict[str, float]:
    """Stand-in for Pitwall's backtest: derives verified figures from the model record."""
    return {"log_loss": model.metrics["log_loss"] + 0.01, "n_races": float(len(model.features) * 10)}


def artifact_ok(model: ModelRecord) -> None:
    if not model.artifact_uri.startswith("file:///"):
        raise ValueError(f"unreadable artifact {model.artifact_uri}")


def publish(
    backend: RecordsBackend, model_kwargs: Fields, name: str = "winner", title: str = "Race winner v1", **kw: Any
) -> Listing:
    model_overrides = kw.pop("model", {})
    models.register_model(AUTHOR.tenant_id, name, backend=backend, **model_kwargs(**model_overrides))
    return marketplace.publish(
        AUTHOR.tenant_id,
        name,
        title,
        kw.pop("description", "Gradient boosted winner model trained on 2018-2023."),
        kw.pop("reported_metrics", {"log_loss": 0.18}),
        backtest,
        artifact_ok,
        backend=backend,
        **kw,
    )


def test_publish_snapshots_the_model_with_verified_metrics(
    backend: RecordsBackend, model_kwargs: Fields, noon: datetime
) -> None:
    listing = publish(backend, model_kwargs, feature_importance={"grid_position": 0.6}, now=noon)
    stored = marketplace.get_listing(listing.listing_id, backend=backend)
    assert stored == listing
    assert stored.verified_metrics == {"log_loss": pytest.approx(0.22), "n_races": 30.0}
    assert stored.reported_metrics == {"log_loss": 0.18}
    assert (stored.template, stored.algorithm, stored.model_version) == ("race_winner", "xgboost", 1)
    assert stored.features == ["grid_position", "driver_form_3", "team_points_share"]
    assert stored.data_window == {"seasons": [2018, 2023], "test_seasons": [2024]}
    assert (stored.downloads, stored.rating_avg, stored.rating_count) == (0, None, 0)
    public = stored.public_doc()
    assert "artifact_uri" not in public and public["verified"] is True
    card = marketplace.show(listing.listing_id, backend=backend)
    assert card.verified_metrics == stored.verified_metrics and card.feature_importance == {"grid_position": 0.6}
    assert "artifact_uri" not in card.to_dict()
    with pytest.raises(Conflict):
        marketplace.publish(AUTHOR.tenant_id, "winner", "Again", "dup", {}, backtest, artifact_ok, backend=backend)


def test_text_is_stored_as_is_but_validated(backend: RecordsBackend, model_kwargs: Fields) -> None:
    html = '<script>alert("x")</script> & <b>fast</b>'
    listing = publish(backend, model_kwargs, title=html, description="line one\nline two\t<i>ok</i>")
    stored = marketplace.get_listing(listing.listing_id, backend=backend)
    assert stored.title == html and stored.description == "line one\nline two\t<i>ok</i>"
    for title, field in [("x" * 101, "title"), ("bad\x00title", "title"), ("evil\u202etxt", "title"), ("  ", "title")]:
        with pytest.raises(ValidationFailed) as err:
            marketplace.publish(AUTHOR.tenant_id, "winner", title, "d", {}, backtest, artifact_ok, backend=backend)
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        marketplace.publish(AUTHOR.tenant_id, "winner", "t", "d" * 2001, {}, backtest, artifact_ok, backend=backend)
    assert err.value.field == "description"
    with pytest.raises(ValidationFailed) as err:
        marketplace.publish(
            AUTHOR.tenant_id, "winner", "t", "d", {"acc": float("inf")}, backtest, artifact_ok, backend=backend
        )
    assert err.value.field == "reported_metrics"


def test_limits_are_inclusive(backend: RecordsBackend, model_kwargs: Fields) -> None:
    listing = publish(backend, model_kwargs, title="t" * 100, description="d" * 2000)
    assert len(marketplace.get_listing(listing.listing_id, backend=backend).description) == 2000


def test_bad_artifact_or_failed_verification_blocks_publishing(backend: RecordsBackend, model_kwargs: Fields) -> None:
    models.register_model(AUTHOR.tenant_id, "broken", backend=backend, **model_kwargs(artifact_uri="s3://gone/x"))
    with pytest.raises(ValidationFailed) as err:
        marketplace.publish(AUTHOR.tenant_id, "broken", "t", "d", {}, backtest, artifact_ok, backend=backend)
    assert (err.value.code, err.value.http_status, err.value.field) == ("bad_artifact", 422, "artifact")

    def failing(model: ModelRecord) -> dict[str, float]:
        raise RuntimeError("no races in the data window")

    models.register_model(AUTHOR.tenant_id, "unverifiable", backend=backend, **model_kwargs())
    with pytest.raises(ValidationFailed) as err:
        marketplace.publish(AUTHOR.tenant_id, "unverifiable", "t", "d", {}, failing, artifact_ok, backend=backend)
    assert err.value.code == "verification_failed" and "no races" in err.value.message
    with pytest.raises(NotFound):
        marketplace.publish(AUTHOR.tenant_id, "missing", "t", "d", {}, backtest, artifact_ok, backend=backend)
    with pytest.raises(NotFound):  # someone else's model
        marketplace.publish("thief", "unverifiable", "t", "d", {}, backtest, artifact_ok, backend=backend)
    assert marketplace.list(backend=backend).items == []


def test_search_filters_sorts_and_pages(backend: RecordsBackend, model_kwargs: Fields, noon: datetime) -> None:
    a = publish(backend, model_kwargs, "a", "Winner XGB", now=noon)
    b = publish(
        backend,
        model_kwargs,
        "b",
        "Podium LightGBM",
        model={"template": "podium"},
        description="Top-three finishers.",
        now=noon + timedelta(1),
    )
    c = publish(backend, model_kwargs, "c", "Winner logistic", now=noon + timedelta(2))
    for i in range(3):
        marketplace.count_download(Principal(f"u{i}", "free"), b.listing_id, now=noon, backend=backend)
    marketplace.count_download(Principal("u9", "free"), c.listing_id, now=noon, backend=backend)
    marketplace.rate(a.listing_id, 5, tenant="u1", backend=backend)
    marketplace.rate(c.listing_id, 3, tenant="u1", backend=backend)

    def ids(page: marketplace.ListingPage) -> list[str]:
        return [x.listing_id for x in page.items]

    assert ids(marketplace.list(backend=backend)) == [c.listing_id, b.listing_id, a.listing_id]
    assert ids(marketplace.list(sort="downloads", backend=backend))[:2] == [b.listing_id, c.listing_id]
    assert ids(marketplace.list(sort="rating", backend=backend))[:2] == [a.listing_id, c.listing_id]
    assert ids(marketplace.list(template="podium", backend=backend)) == [b.listing_id]
    assert ids(marketplace.list(text="WINNER", backend=backend)) == [c.listing_id, a.listing_id]
    assert ids(marketplace.list(author="nobody", backend=backend)) == []
    assert len(marketplace.list(author=AUTHOR.tenant_id, backend=backend).items) == 3

    first = marketplace.list(limit=2, backend=backend)
    assert ids(first) == [c.listing_id, b.listing_id] and first.next_token is not None
    second = marketplace.list(limit=2, next_token=first.next_token, backend=backend)
    assert ids(second) == [a.listing_id] and second.next_token is None
    with pytest.raises(ValidationFailed) as err:
        marketplace.list(sort="rating", limit=2, next_token=first.next_token, backend=backend)
    assert err.value.field == "next_token"
    for bad in ("%%%", "eyJ4IjogMX0"):
        with pytest.raises(ValidationFailed):
            marketplace.list(limit=2, next_token=bad, backend=backend)
    with pytest.raises(ValidationFailed) as err:
        marketplace.list(sort="price", backend=backend)
    assert err.value.field == "sort"
    with pytest.raises(ValidationFailed):
        marketplace.list(limit=0, backend=backend)


def test_top_this_week_counts_only_the_last_seven_days(
    backend: RecordsBackend, model_kwargs: Fields, noon: datetime
) -> None:
    old = publish(backend, model_kwargs, "old", "Popular last month", now=noon - timedelta(days=30))
    new = publish(backend, model_kwargs, "new", "Popular this week", now=noon - timedelta(days=3))
    quiet = publish(backend, model_kwargs, "quiet", "Nobody cares", now=noon)
    for i in range(6):  # eight days ago: outside the window
        marketplace.count_download(
            Principal(f"a{i}", "pro"), old.listing_id, now=noon - timedelta(days=7), backend=backend
        )
    marketplace.count_download(Principal("b0", "pro"), old.listing_id, now=noon - timedelta(days=6), backend=backend)
    for i in range(3):
        marketplace.count_download(
            Principal(f"c{i}", "pro"), new.listing_id, now=noon - timedelta(days=i), backend=backend
        )
    marketplace.rate(new.listing_id, 4, tenant="c0", now=noon, backend=backend)
    top = marketplace.top(now=noon, backend=backend)
    assert [(e.listing.listing_id, e.downloads_7d, e.ratings_7d) for e in top] == [
        (new.listing_id, 3, 1),
        (old.listing_id, 1, 0),
    ]
    assert quiet.listing_id not in {e.listing.listing_id for e in top}
    assert marketplace.get_listing(old.listing_id, backend=backend).downloads == 7


def test_download_quota_per_tier(
    backend: RecordsBackend, model_kwargs: Fields, free: Principal, noon: datetime
) -> None:
    limit = free.limits.marketplace_downloads_per_day
    assert limit is not None
    listings = [publish(backend, model_kwargs, f"m{i}", f"Model {i}") for i in range(limit + 1)]
    for listing in listings[:limit]:
        got = marketplace.count_download(free, listing.listing_id, now=noon, backend=backend)
    assert got.artifact_uri == "file:///models/winner/model.ubj"
    # downloading a listing again the same day takes nothing: the allowance is full, yet it answers
    again = marketplace.count_download(free, listings[0].listing_id, now=noon, backend=backend)
    assert again.downloads == 1
    with pytest.raises(QuotaExceeded):
        marketplace.count_download(free, listings[limit].listing_id, now=noon, backend=backend)
    assert [marketplace.get_listing(x.listing_id, backend=backend).downloads for x in listings] == [1] * limit + [0]
    assert quotas.used_today(free.tenant_id, quotas.MARKETPLACE_DOWNLOADS, now=noon, backend=backend) == limit
    with pytest.raises(NotFound):
        marketplace.count_download(free, "lst_missing", now=noon + timedelta(days=1), backend=backend)


def test_downloads_count_once_per_tenant_per_day_and_never_the_authors(
    backend: RecordsBackend, model_kwargs: Fields, noon: datetime
) -> None:
    listing = publish(backend, model_kwargs)
    other = publish(backend, model_kwargs, "other", "Another model")
    for _ in range(50):  # the author's own downloads never count
        marketplace.count_download(AUTHOR, listing.listing_id, now=noon, backend=backend)
    assert marketplace.top(now=noon, backend=backend) == []
    assert marketplace.get_listing(listing.listing_id, backend=backend).downloads == 0
    fan = Principal("fan-team", "pro")
    for _ in range(50):  # another tenant's burst counts once that day
        marketplace.count_download(fan, listing.listing_id, now=noon, backend=backend)
    marketplace.count_download(Principal("second-fan", "pro"), other.listing_id, now=noon, backend=backend)
    week = marketplace.top(now=noon, backend=backend)
    assert {e.listing.listing_id: e.downloads_7d for e in week} == {listing.listing_id: 1, other.listing_id: 1}
    assert quotas.used_today(fan.tenant_id, quotas.MARKETPLACE_DOWNLOADS, now=noon, backend=backend) == 1
    marketplace.count_download(fan, listing.listing_id, now=noon + timedelta(days=1), backend=backend)  # a new day
    assert marketplace.get_listing(listing.listing_id, backend=backend).downloads == 2
    assert [e.listing.listing_id for e in marketplace.top(now=noon + timedelta(days=1), backend=backend)][0] == (
        listing.listing_id
    )


def test_a_fork_keeps_its_lineage_and_cannot_be_published_as_an_original(
    backend: RecordsBackend, model_kwargs: Fields, free: Principal
) -> None:
    listing = publish(backend, model_kwargs)

    def copier(source: str, tenant: str, name: str) -> str:
        return f"file:///tenants/{tenant}/{name}/model.ubj"

    fork = marketplace.fork(free, listing.listing_id, copier, new_name="mine", backend=backend)
    assert fork.forked_from is not None and fork.forked_from.listing_id == listing.listing_id
    with pytest.raises(ValidationFailed) as err:
        marketplace.publish(free.tenant_id, "mine", "My own winner", "d", {}, backtest, artifact_ok, backend=backend)
    assert (err.value.code, err.value.http_status, err.value.field) == ("fork_not_original", 422, "model_name")
    assert listing.listing_id in err.value.message
    # the same artifact registered again without lineage (a downloaded bundle imported) is refused too
    models.register_model(free.tenant_id, "laundered", backend=backend, **model_kwargs(artifact_uri=fork.artifact_uri))
    with pytest.raises(ValidationFailed) as err:
        marketplace.begin_publish(free.tenant_id, "laundered", "Mine", "d", {}, backend=backend)
    assert (err.value.code, err.value.field) == ("fork_not_original", "model_name")
    assert [x.listing_id for x in marketplace.list(backend=backend).items] == [listing.listing_id]


def test_a_verifying_listing_is_seen_by_its_author_only_until_it_is_listed(
    backend: RecordsBackend, model_kwargs: Fields, free: Principal
) -> None:
    models.register_model(AUTHOR.tenant_id, "winner", backend=backend, **model_kwargs())
    pending = marketplace.begin_publish(AUTHOR.tenant_id, "winner", "Winner", "d", {"acc": 0.5}, backend=backend)
    assert (pending.status, pending.verified_metrics, pending.public_doc()["verified"]) == ("verifying", {}, False)
    assert marketplace.list(backend=backend).items == []
    with pytest.raises(NotFound):
        marketplace.get_listing(pending.listing_id, backend=backend)
    with pytest.raises(NotFound):
        marketplace.count_download(free, pending.listing_id, backend=backend)
    with pytest.raises(NotFound):
        marketplace.rate(pending.listing_id, 4, tenant=free.tenant_id, backend=backend)
    assert marketplace.show(pending.listing_id, tenant=AUTHOR.tenant_id, backend=backend).status == "verifying"
    with pytest.raises(Conflict):  # one verification at a time per model version
        marketplace.begin_publish(AUTHOR.tenant_id, "winner", "Again", "d", {}, backend=backend)

    listed = marketplace.complete_verification(
        pending.listing_id, {"log_loss": 0.3}, feature_importance={"grid_position": 1.0}, backend=backend
    )
    assert (listed.status, listed.verified_metrics, listed.feature_importance) == (
        "listed",
        {"log_loss": 0.3},
        {"grid_position": 1.0},
    )
    assert listed.verified_at and marketplace.get_listing(pending.listing_id, backend=backend) == listed
    # a retried step changes nothing once the listing left verifying
    assert marketplace.reject_verification(pending.listing_id, "x", "y", "late", backend=backend) == listed
    assert [x.listing_id for x in marketplace.list(backend=backend).items] == [pending.listing_id]


def test_the_author_can_withdraw_a_listing_while_it_is_verified(backend: RecordsBackend, model_kwargs: Fields) -> None:
    models.register_model(AUTHOR.tenant_id, "winner", backend=backend, **model_kwargs())
    pending = marketplace.begin_publish(AUTHOR.tenant_id, "winner", "Winner", "d", {}, backend=backend)
    with pytest.raises(NotFound):  # not someone else's to see
        marketplace.unpublish(pending.listing_id, tenant="someone-else", backend=backend)
    marketplace.unpublish(pending.listing_id, tenant=AUTHOR.tenant_id, backend=backend)
    assert backend.get_listing(pending.listing_id) is None
    with pytest.raises(NotFound):  # the verification's outcome finds nothing to record
        marketplace.complete_verification(pending.listing_id, {"log_loss": 0.3}, backend=backend)


def test_a_rejected_listing_says_why_and_the_version_can_be_published_again(
    backend: RecordsBackend, model_kwargs: Fields
) -> None:
    models.register_model(AUTHOR.tenant_id, "winner", backend=backend, **model_kwargs())
    pending = marketplace.begin_publish(AUTHOR.tenant_id, "winner", "Winner", "d", {}, backend=backend)
    rejected = marketplace.reject_verification(
        pending.listing_id, "bad_artifact", "artifact", "model.ubj: sha256 mismatch", backend=backend
    )
    assert rejected.status == "rejected"
    card = marketplace.show(pending.listing_id, tenant=AUTHOR.tenant_id, backend=backend)
    assert card.rejection == {"code": "bad_artifact", "field": "artifact", "message": "model.ubj: sha256 mismatch"}
    error = marketplace.rejection_error(rejected)
    assert (error.code, error.field, error.http_status) == ("bad_artifact", "artifact", 422)
    with pytest.raises(NotFound):
        marketplace.show(pending.listing_id, tenant="someone-else", backend=backend)
    # empty verified metrics reject instead of listing
    retry = marketplace.begin_publish(AUTHOR.tenant_id, "winner", "Winner", "d", {}, backend=backend)
    assert retry.listing_id != pending.listing_id and backend.get_listing(pending.listing_id) is None
    assert marketplace.complete_verification(retry.listing_id, {}, backend=backend).status == "rejected"


def test_rating_rules(backend: RecordsBackend, model_kwargs: Fields) -> None:
    listing = publish(backend, model_kwargs)
    with pytest.raises(Forbidden):
        marketplace.rate(listing.listing_id, 5, tenant=AUTHOR.tenant_id, backend=backend)
    for stars in (0, 6, 2.5, True):
        with pytest.raises(ValidationFailed) as err:
            marketplace.rate(listing.listing_id, stars, tenant="fan", backend=backend)  # type: ignore[arg-type]
        assert err.value.field == "stars"
    marketplace.rate(listing.listing_id, 2, tenant="fan", backend=backend)
    after = marketplace.rate(listing.listing_id, 5, tenant="critic", backend=backend)
    assert (after.rating_count, after.rating_avg) == (2, 3.5)
    updated = marketplace.rate(listing.listing_id, 4, tenant="fan", backend=backend)  # replaces, not adds
    assert (updated.rating_count, updated.rating_avg) == (2, 4.5)
    assert marketplace.my_rating(listing.listing_id, tenant="fan", backend=backend) == 4
    with pytest.raises(NotFound):
        marketplace.rate("lst_missing", 3, tenant="fan", backend=backend)


def test_fifty_parallel_downloads_and_ratings_are_exact(
    backend: RecordsBackend, model_kwargs: Fields, noon: datetime, concurrently: Callable[..., list[Any]]
) -> None:
    listing = publish(backend, model_kwargs)
    stars = [(i % 5) + 1 for i in range(50)]

    def download(i: int) -> int:
        return marketplace.count_download(
            Principal(f"user{i}", "free"), listing.listing_id, now=noon, backend=backend
        ).downloads

    def rate(i: int) -> None:
        marketplace.rate(listing.listing_id, stars[i], tenant=f"user{i}", now=noon, backend=backend)

    assert not [r for r in (*concurrently(download, 50), *concurrently(rate, 50)) if isinstance(r, BaseException)]
    final = marketplace.get_listing(listing.listing_id, backend=backend)
    assert final.downloads == 50
    assert final.rating_count == 50
    assert final.rating_sum == sum(stars)
    assert final.rating_avg == sum(stars) / 50
    [week] = marketplace.top(now=noon, backend=backend)
    assert (week.downloads_7d, week.ratings_7d) == (50, 50)


def test_concurrent_re_rating_by_one_tenant_keeps_one_rating(
    backend: RecordsBackend, model_kwargs: Fields, concurrently: Callable[..., list[Any]]
) -> None:
    listing = publish(backend, model_kwargs)

    def rate(i: int) -> Any:
        return marketplace.rate(listing.listing_id, (i % 5) + 1, tenant="fan", backend=backend)

    results = concurrently(rate, 20)
    assert not [r for r in results if isinstance(r, BaseException)]
    final = marketplace.get_listing(listing.listing_id, backend=backend)
    mine = marketplace.my_rating(listing.listing_id, tenant="fan", backend=backend)
    assert final.rating_count == 1 and final.rating_sum == mine


def test_fork_copies_into_the_caller_namespace_and_survives_unpublish(
    backend: RecordsBackend, model_kwargs: Fields, free: Principal, noon: datetime
) -> None:
    listing = publish(backend, model_kwargs)
    copies: list[tuple[str, str, str]] = []

    def copier(source: str, tenant: str, name: str) -> str:
        copies.append((source, tenant, name))
        return f"file:///tenants/{tenant}/{name}/model.ubj"

    fork = marketplace.fork(free, listing.listing_id, copier, new_name="my-winner", now=noon, backend=backend)
    assert copies == [("file:///models/winner/model.ubj", free.tenant_id, "my-winner")]
    assert (fork.tenant_id, fork.name, fork.version) == (free.tenant_id, "my-winner", 1)
    assert fork.artifact_uri == "file:///tenants/free-team/my-winner/model.ubj"
    assert fork.forked_from is not None
    assert (fork.forked_from.listing_id, fork.forked_from.tenant_id, fork.forked_from.version) == (
        listing.listing_id,
        AUTHOR.tenant_id,
        1,
    )
    assert fork.metrics == listing.verified_metrics and fork.sha256 == listing.sha256
    assert marketplace.get_listing(listing.listing_id, backend=backend).downloads == 1
    assert quotas.used_today(free.tenant_id, quotas.MARKETPLACE_DOWNLOADS, now=noon, backend=backend) == 1
    with pytest.raises(Conflict):
        marketplace.fork(free, listing.listing_id, copier, new_name="my-winner", now=noon, backend=backend)

    with pytest.raises(Forbidden):
        marketplace.unpublish(listing.listing_id, tenant=free.tenant_id, backend=backend)
    marketplace.unpublish(listing.listing_id, tenant=AUTHOR.tenant_id, backend=backend)
    with pytest.raises(NotFound):
        marketplace.get_listing(listing.listing_id, backend=backend)
    with pytest.raises(NotFound):
        marketplace.fork(free, listing.listing_id, copier, new_name="late", backend=backend)
    assert models.get_model(free.tenant_id, "my-winner", backend=backend).forked_from == fork.forked_from
    # the author can list the same model version again after unpublishing
    again = marketplace.publish(AUTHOR.tenant_id, "winner", "Back", "d", {}, backtest, artifact_ok, backend=backend)
    assert again.listing_id != listing.listing_id and again.rating_count == 0


def test_failed_fork_copy_gives_the_download_back(
    backend: RecordsBackend, model_kwargs: Fields, free: Principal, noon: datetime
) -> None:
    listing = publish(backend, model_kwargs)

    def broken_copier(source: str, tenant: str, name: str) -> str:
        raise OSError("bucket unavailable")

    with pytest.raises(OSError):
        marketplace.fork(free, listing.listing_id, broken_copier, now=noon, backend=backend)
    assert quotas.used_today(free.tenant_id, quotas.MARKETPLACE_DOWNLOADS, now=noon, backend=backend) == 0
    assert models.list_models(free.tenant_id, backend=backend) == []
