"""The marketplace over real HTTP: the API app with the marketplace blueprint, local records,
a real race-winner model (trained on 2022-2023) and real 2024 races."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pitwall.data.store import Store
from pitwall.features import FeatureStore
from pitwall.ml.artifacts import import_bundle, load_model
from pitwall.platform import keys, models
from pitwall.templates import get_template

M = "/api/v1/marketplace"


def _winner_probabilities(answer: dict[str, Any]) -> dict[str, float]:
    return {p["driver_id"]: p["probability"] for p in answer["predictions"]}


def _listed(http_api: Any, listing_id: str, author: str) -> dict[str, Any]:
    """The listing once its verification job (a background thread of the server) has listed it."""
    from pitwall.marketplace.jobs import verification_launcher

    verification_launcher().wait_all(timeout=600)  # type: ignore[attr-defined]  # the local launcher
    card = http_api.call("GET", f"{M}/listings/{listing_id}", author).json()
    assert card["status"] == "listed", card
    page = http_api.call("GET", f"{M}/listings", author, author=card["author_tenant_id"]).json()["listings"]
    (listing,) = [x for x in page if x["listing_id"] == listing_id]
    return listing


def test_publish_discover_download_rate_fork_deploy_and_unpublish(
    http_api: Any, h: Any, market_home: Path, winner_artifact: Path, lake: Store, tmp_path: Path
) -> None:
    alice = keys.create_key("alice", "free")
    bob = keys.create_key("bob", "free")
    h.register_artifact("alice", "winner", winner_artifact, market_home)

    published = http_api.call(
        "POST",
        f"{M}/listings",
        alice,
        {
            "model_name": "winner",
            "title": "Grid-aware winner <b>model</b>",
            "description": "Trained on 2022-2023.\nUses the template features.",
            "reported_metrics": {"top1_accuracy": 0.9},
        },
    )
    assert published.status_code == 202, published.text
    pending = published.json()
    lid = pending["listing_id"]
    assert (pending["status"], pending["verified"], pending["verified_metrics"]) == ("verifying", False, {})
    listing = _listed(http_api, lid, alice)
    assert listing["title"] == "Grid-aware winner <b>model</b>"  # plain text, stored as given
    assert listing["verified"] is True and "artifact_uri" not in listing
    assert listing["reported_metrics"] == {"top1_accuracy": 0.9}
    verified = listing["verified_metrics"]
    assert verified["backtest_season"] == 2024.0 and verified["train_seasons"] == 3.0
    assert 0.0 <= verified["top1_accuracy"] <= 1.0 and verified["n_races"] >= 20
    assert "baseline_top1_accuracy" in verified
    assert set(listing["feature_importance"]) <= set(listing["features"])
    assert abs(sum(listing["feature_importance"].values()) - 1.0) < 1e-6
    assert (listing["downloads"], listing["rating_count"], listing["rating_avg"]) == (0, 0, None)

    # discovery: search by template/text/author; not yet in the weekly top (no activity)
    found = http_api.call("GET", f"{M}/listings", bob, template="race_winner", text="GRID-AWARE", author="alice")
    assert [x["listing_id"] for x in found.json()["listings"]] == [lid]
    assert http_api.call("GET", f"{M}/listings", bob, template="pit_window").json()["listings"] == []
    assert lid not in [e["listing"]["listing_id"] for e in http_api.call("GET", f"{M}/top", bob).json()["listings"]]

    card = http_api.call("GET", f"{M}/listings/{lid}", bob).json()
    assert card["verified_metrics"] == verified and card["reported_metrics"] == {"top1_accuracy": 0.9}
    assert card["feature_importance"] == listing["feature_importance"] and card["my_rating"] is None

    # another tenant downloads: counter +1, bundle verified and equal to the author's model
    got = http_api.call("POST", f"{M}/listings/{lid}/download", bob)
    assert got.status_code == 200, got.text
    download = got.json()
    assert download["downloads"] == 1 and download["url"] is None
    bundle = base64.b64decode(download["bundle_base64"])
    assert hashlib.sha256(bundle).hexdigest() == download["bundle_sha256"] and len(bundle) == download["size_bytes"]
    assert download["sha256"] == listing["sha256"]
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        assert hashlib.sha256(zf.read("metadata.json")).hexdigest() == listing["sha256"]
    folder = import_bundle(bundle, tmp_path / "downloaded")
    frame = get_template("race_winner").frame(FeatureStore(lake), [2024])
    theirs = load_model(folder).predict_frame(frame)
    original = load_model(winner_artifact).predict_frame(frame)
    assert np.allclose(theirs["probability"], original["probability"])

    top = http_api.call("GET", f"{M}/top", bob).json()["listings"]
    assert [(e["listing"]["listing_id"], e["downloads_7d"], e["ratings_7d"]) for e in top] == [(lid, 1, 0)]

    # ratings: not one's own; one per tenant, updatable
    own = http_api.call("PUT", f"{M}/listings/{lid}/rating", alice, {"stars": 5})
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_listing"
    assert http_api.call("PUT", f"{M}/listings/{lid}/rating", bob, {"stars": 4}).json()["rating_avg"] == 4.0
    again = http_api.call("PUT", f"{M}/listings/{lid}/rating", bob, {"stars": 2}).json()
    assert (again["rating_avg"], again["rating_count"]) == (2.0, 1)
    assert http_api.call("GET", f"{M}/listings/{lid}", bob).json()["my_rating"] == 2

    # fork, deploy the fork and the original: same predictions for a real race
    forked = http_api.call("POST", f"{M}/listings/{lid}/fork", bob, {"new_name": "winner-copy"})
    assert forked.status_code == 201, forked.text
    origin = {"listing_id": lid, "tenant_id": "alice", "model_name": "winner", "version": 1}
    assert forked.json()["forked_from"] == origin
    copy = models.get_model("bob", "winner-copy")
    assert Path(copy.artifact_uri).is_relative_to(market_home / "models" / "bob" / "winner-copy")
    # a fork counts as a download, once per tenant per day: bob already downloaded today
    assert http_api.call("GET", f"{M}/listings/{lid}", bob).json()["downloads"] == 1
    for key, name in ((alice, "winner"), (bob, "winner-copy")):
        deployed = http_api.call("POST", f"/api/v1/models/{name}/deploy", key)
        assert deployed.status_code == 200, deployed.text
    race = {"race": "monaco_2024"}
    original_answer = http_api.call("POST", "/api/v1/predict/winner", alice, race).json()
    fork_answer = http_api.call("POST", "/api/v1/predict/winner-copy", bob, race).json()
    assert len(fork_answer["predictions"]) == 20
    assert _winner_probabilities(fork_answer) == _winner_probabilities(original_answer)

    # only the author unpublishes; the listing disappears, the fork keeps working
    refused = http_api.call("DELETE", f"{M}/listings/{lid}", bob)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_author"
    assert http_api.call("DELETE", f"{M}/listings/{lid}", alice).json() == {"unpublished": lid}
    gone = http_api.call("GET", f"{M}/listings/{lid}", bob)
    assert gone.status_code == 404 and gone.json()["error"]["field"] == "listing_id"
    assert http_api.call("GET", f"{M}/listings", bob).json()["listings"] == []
    assert http_api.call("POST", f"{M}/listings/{lid}/download", bob).status_code == 404
    after = http_api.call("POST", "/api/v1/predict/winner-copy", bob, race)
    assert after.status_code == 200 and _winner_probabilities(after.json()) == _winner_probabilities(fork_answer)


def test_bad_requests_are_4xx_with_the_field_named(
    http_api: Any, h: Any, market_home: Path, winner_artifact: Path
) -> None:
    carol = keys.create_key("carol", "free")
    dave = keys.create_key("dave", "free")
    h.register_artifact("carol", "carol-winner", winner_artifact, market_home)

    assert http_api.call("GET", f"{M}/listings", None).status_code == 401
    assert http_api.call("GET", f"{M}/top", "pw_not-a-key").json()["error"]["code"] == "unauthorized"

    def publish(key: str, body: Any) -> tuple[int, dict[str, Any]]:
        answer = http_api.call("POST", f"{M}/listings", key, body)
        return answer.status_code, answer.json()["error"]

    base = {"model_name": "carol-winner", "title": "ok", "description": "fine"}
    status, err = publish(carol, {**base, "title": "t" * 101})
    assert (status, err["field"]) == (422, "title")
    status, err = publish(carol, {**base, "description": "d" * 2001})
    assert (status, err["field"]) == (422, "description")
    status, err = publish(carol, {**base, "title": "bell\x07"})
    assert (status, err["field"]) == (400, "title")
    status, err = publish(carol, {**base, "reported_metrics": {"acc": True}})
    assert (status, err["field"]) == (400, "reported_metrics.acc")
    status, err = publish(carol, {"title": "no model"})
    assert (status, err["field"]) == (400, "model_name")
    status, err = publish(dave, base)  # another tenant's model does not exist for dave
    assert (status, err["code"], err["field"]) == (404, "not_found", "name")
    raw = http_api.call("POST", f"{M}/listings", carol)
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "malformed_json"

    assert http_api.call("GET", f"{M}/listings", carol, sort="best").json()["error"]["field"] == "sort"
    assert http_api.call("GET", f"{M}/listings", carol, limit="many").json()["error"]["field"] == "limit"
    assert http_api.call("GET", f"{M}/top", carol, limit="0").json()["error"]["field"] == "limit"
    assert http_api.call("GET", f"{M}/listings", carol, next_token="xyz").json()["error"]["field"] == "next_token"
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/download", None),
        ("POST", "/fork", None),
        ("PUT", "/rating", {"stars": 3}),
        ("DELETE", "", None),
    ):
        answer = http_api.call(method, f"{M}/listings/lst_0000000000000000{suffix}", carol, body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), (method, suffix)
    bad_stars = http_api.call("PUT", f"{M}/listings/lst_0000000000000000/rating", carol, {"stars": 6})
    assert (bad_stars.status_code, bad_stars.json()["error"]["field"]) == (422, "stars")
