"""The cloud path with moto: DynamoDB records, artifacts as SageMaker ``model.tar.gz`` in S3, the
verification workflow keeping the checked bundle in S3, downloads as presigned S3 URLs to it, forks
copied S3 -> S3 into the models bucket and deployable on SageMaker; the API over real HTTP."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from pitwall import marketplace
from pitwall.errors import ValidationFailed
from pitwall.marketplace import bundles, snapshots
from pitwall.marketplace.rules import get_listing
from pitwall.marketplace.service import download
from pitwall.ml.artifacts import sha256_file
from pitwall.platform import keys, models
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.dynamo_tables import create_tables
from pitwall.platform.records import ModelRecord
from pitwall.serving.deploy import DeploymentService, SageMakerServing

BUCKET = "pitwall-test-models"
M = "/api/v1/marketplace"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PITWALL_BACKEND": "aws",
        "PITWALL_MODELS_BUCKET": BUCKET,
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        clear_backend_cache()
        create_tables(boto3.client("dynamodb"))
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3
        clear_backend_cache()


def _tar(folder: Path, *, extra: dict[str, tarfile.TarInfo] | None = None) -> bytes:
    """``folder`` as SageMaker packs model output: a tar.gz with ``./``-prefixed names."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname="./" + path.relative_to(folder).as_posix())
        for info in (extra or {}).values():
            archive.addfile(info, io.BytesIO(b"{}") if info.isfile() else None)
    return buffer.getvalue()


def _check(record: ModelRecord) -> None:
    bundles.check_artifact(record.artifact_uri, record.sha256)


def _upload(s3: Any, key: str, data: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def test_cloud_publish_download_fork_deploy_and_tamper(
    aws: Any, h: Any, market_home: Path, winner_artifact: Path, lake: Any, http_api: Any, tmp_path: Path
) -> None:
    s3 = aws
    uri = _upload(s3, "training-output/job-1/output/model.tar.gz", _tar(winner_artifact))
    h.register_artifact("alice", "winner", winner_artifact, market_home, artifact_uri=uri)
    listing = marketplace.publish("winner", "Cloud winner", "Trained by SageMaker", tenant="alice", store=lake)
    lid = listing.listing_id
    assert listing.status == "listed" and listing.verified_metrics["backtest_season"] == 2024.0
    assert (
        listing.snapshot is not None and listing.snapshot["uri"] == f"s3://{BUCKET}/{snapshots.SNAPSHOT_PREFIX}/{lid}/"
    )
    bob = keys.create_key("bob", "free")

    # download: a presigned URL to the bundle the verification kept, counted in DynamoDB
    answer = http_api.call("POST", f"{M}/listings/{lid}/download", bob)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["bundle_base64"] is None and body["expires_in_seconds"] == bundles.DOWNLOAD_URL_EXPIRES_S
    assert body["url"].startswith(f"https://{BUCKET}.s3.amazonaws.com/{snapshots.SNAPSHOT_PREFIX}/{lid}/bundle.zip")
    fetched = requests.get(body["url"], timeout=30)
    assert fetched.status_code == 200 and body["file_name"] in fetched.headers["content-disposition"]
    checked = bundles.check_bundle(fetched.content, listing.sha256, bundle_sha256=body["bundle_sha256"])
    assert checked.sha256 == sha256_file(winner_artifact / "metadata.json") == body["sha256"]
    assert get_listing(lid).downloads == 1

    # the SDK/CLI path follows the URL the same way (the same tenant again today: not counted again)
    principal = keys.principal_for_tenant("bob")
    verified = download(lid, tenant=principal).received(fetch=lambda url: requests.get(url, timeout=30).content)
    assert verified.bundle == fetched.content and get_listing(lid).downloads == 1

    # fork: the kept model.tar.gz copied S3 -> S3 under the endpoint-readable prefix, and deploy
    forked = http_api.call("POST", f"{M}/listings/{lid}/fork", bob, {"new_name": "winner-copy"})
    assert forked.status_code == 201, forked.text
    copy = models.get_model("bob", "winner-copy")
    assert copy.artifact_uri.startswith(f"s3://{BUCKET}/{bundles.FORK_PREFIX}/bob/winner-copy/")
    assert copy.artifact_uri.endswith("/model.tar.gz") and copy.sha256 == listing.sha256
    _check(copy)
    serving = SageMakerServing(role_arn="arn:aws:iam::123456789012:role/endpoint", image_uri="1.dkr.ecr/pitwall:1")
    deployed = DeploymentService(serving).deploy(principal, "winner-copy")
    assert deployed.status == "deployed" and deployed.endpoint
    sagemaker = boto3.client("sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=sagemaker.describe_endpoint(EndpointName=deployed.endpoint)["EndpointConfigName"]
    )
    model_name = config["ProductionVariants"][0]["ModelName"]
    assert sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["ModelDataUrl"] == copy.artifact_uri

    # the author's S3 object replaced after publishing changes nothing: the listing serves its snapshot
    meta = (winner_artifact / "metadata.json").read_bytes()
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / "metadata.json").write_bytes(meta)
    for name in json.loads(meta)["files"]:
        (tampered / name).parent.mkdir(parents=True, exist_ok=True)
        (tampered / name).write_bytes(b"garbage")
    _upload(s3, "training-output/job-1/output/model.tar.gz", _tar(tampered))
    carol = keys.create_key("carol", "free")
    served = http_api.call("POST", f"{M}/listings/{lid}/download", carol)
    assert served.status_code == 200 and requests.get(served.json()["url"], timeout=30).content == fetched.content
    # the kept bundle itself replaced: refused, not counted
    _upload(s3, f"{snapshots.SNAPSHOT_PREFIX}/{lid}/bundle.zip", bundles.zip_files({"metadata.json": meta}))
    dave = keys.create_key("dave", "free")
    refused = http_api.call("POST", f"{M}/listings/{lid}/download", dave)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "bad_artifact"
    assert "sha256" in refused.json()["error"]["message"]
    assert get_listing(lid).downloads == 2  # bob once a day (downloads + fork), carol once; dave refused

    # unpublished: gone for everyone, the fork is unaffected
    assert http_api.call("DELETE", f"{M}/listings/{lid}", keys.create_key("alice", "free")).status_code == 200
    assert http_api.call("GET", f"{M}/listings/{lid}", bob).status_code == 404
    _check(models.get_model("bob", "winner-copy"))


def test_crafted_s3_archives_are_refused_at_publish(
    aws: Any, h: Any, market_home: Path, winner_artifact: Path, lake: Any
) -> None:
    s3 = aws
    link = tarfile.TarInfo("./notes.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("./hard.json")
    hard.type, hard.linkname = tarfile.LNKTYPE, "metadata.json"
    escape = tarfile.TarInfo("../../escape.json")
    escape.size = 2
    crafted = {
        "symlink": ({"l": link}, "only regular files"),
        "hardlink": ({"l": hard}, "only regular files"),
        "traversal": ({"e": escape}, "path traversal"),
    }
    for i, (case, (extra, expected)) in enumerate(crafted.items()):
        uri = _upload(s3, f"training-output/evil-{i}/output/model.tar.gz", _tar(winner_artifact, extra=extra))
        h.register_artifact("mallory", f"evil-{i}", winner_artifact, market_home, artifact_uri=uri)
        with pytest.raises(ValidationFailed) as info:
            marketplace.publish(f"evil-{i}", "Evil", "Crafted archive", tenant="mallory", store=lake)
        assert info.value.code == "bad_artifact" and expected in info.value.message, (case, info.value.message)
    missing = h.register_artifact(
        "mallory", "missing", winner_artifact, market_home, artifact_uri=f"s3://{BUCKET}/training-output/nope.tar.gz"
    )
    with pytest.raises(ValidationFailed, match="cannot read"):
        _check(missing)
    assert marketplace.list(author="mallory").items == []

    # an artifact stored as an S3 prefix of files (not an archive) verifies too
    for path in winner_artifact.rglob("*"):
        if path.is_file():
            s3.put_object(
                Bucket=BUCKET, Key=f"artifacts/plain/{path.relative_to(winner_artifact)}", Body=path.read_bytes()
            )
    plain = h.register_artifact(
        "mallory", "plain", winner_artifact, market_home, artifact_uri=f"s3://{BUCKET}/artifacts/plain"
    )
    _check(plain)
    s3.put_object(Bucket=BUCKET, Key="artifacts/plain/extra.json", Body=b"{}")
    with pytest.raises(ValidationFailed, match="extra.json"):
        _check(plain)
