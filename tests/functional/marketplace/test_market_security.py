"""Crafted and tampered artifacts: refused with a clear error, nothing executed, nothing
written outside the model directory (real race-winner model, real files)."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pitwall import marketplace
from pitwall.cli import market_cmds
from pitwall.errors import ValidationFailed
from pitwall.marketplace import bundles
from pitwall.marketplace.rules import get_listing
from pitwall.marketplace.service import download
from pitwall.ml.artifacts import export_bundle, sha256_file
from pitwall.platform import keys, models, quotas
from pitwall.platform.records import ModelRecord, Principal


class Payload:
    """Unpickling this creates ``marker``: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _rewrite(folder: Path, name: str, data: bytes) -> None:
    """Replace ``name`` in the artifact and re-sign it in metadata.json (an attacker who
    rewrites the checksums too)."""
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"][name] = hashlib.sha256(data).hexdigest()
    (folder / "metadata.json").write_text(json.dumps(meta))


def _register_folder(tenant: str, name: str, folder: Path, template_record: ModelRecord) -> ModelRecord:
    """Register ``folder`` as the author's model with the checksum of its (crafted) metadata."""
    return models.register_model(
        tenant,
        name,
        template=template_record.template,
        task=template_record.task,
        algorithm=template_record.algorithm,
        features=template_record.features,
        target=template_record.target,
        data_window=template_record.data_window,
        metrics=template_record.metrics,
        baseline_metrics={},
        artifact_uri=str(folder),
        sha256=sha256_file(folder / "metadata.json"),
    )


def _refused(call: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        call()
    err = info.value
    assert (err.code, err.http_status, err.field) == ("bad_artifact", 422, "artifact")
    return err


@pytest.fixture
def fan() -> Principal:
    keys.create_tenant("fan", "pro")
    return keys.principal_for_tenant("fan")


def test_tampering_after_publish_is_refused_at_download_and_fork(
    h: Any, market_home: Path, winner_artifact: Path, fan: Principal, http_api: Any
) -> None:
    record = h.register_artifact("mallory", "winner", winner_artifact, market_home)
    listing = marketplace.publish("winner", "Honest model", "Until it was not.", tenant="mallory")
    folder = Path(record.artifact_uri)
    model_file = json.loads((folder / "metadata.json").read_text())["model_file"]

    # one flipped byte in the model file
    original = (folder / model_file).read_bytes()
    (folder / model_file).write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    err = _refused(lambda: download(listing.listing_id, tenant=fan))
    assert model_file in err.message and "sha256 mismatch" in err.message
    _refused(lambda: marketplace.fork(listing.listing_id, "stolen", tenant=fan))
    assert not (market_home / "models" / "fan").exists()  # nothing copied
    key = keys.create_key("fan", "pro")
    answer = http_api.call("POST", f"/api/v1/marketplace/listings/{listing.listing_id}/download", key)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "bad_artifact" and model_file in answer.json()["error"]["message"]

    # re-signed checksums: the files agree with metadata.json, but it is not the listed one
    _rewrite(folder, model_file, original + b"\n")
    err = _refused(lambda: download(listing.listing_id, tenant=fan))
    assert "registered" in err.message

    # refused downloads are not counted, and no quota was taken
    assert get_listing(listing.listing_id).downloads == 0
    assert quotas.used_today("fan", quotas.MARKETPLACE_DOWNLOADS) == 0
    with pytest.raises(Exception, match="not found"):
        models.get_model("fan", "stolen")

    # restoring the exact original bytes makes it downloadable again
    shutil.rmtree(folder)
    shutil.copytree(winner_artifact, folder)
    assert download(listing.listing_id, tenant=fan).downloads == 1


def test_pickle_payloads_are_refused_at_publish_and_never_executed(
    h: Any, market_home: Path, winner_artifact: Path, tmp_path: Path
) -> None:
    good = h.register_artifact("mallory2", "good", winner_artifact, market_home)
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    payload = pickle.dumps(Payload(marker))
    model_file = json.loads((winner_artifact / "metadata.json").read_text())["model_file"]

    # 1: the model file itself is a pickle (checksums re-signed, registered as such)
    disguised = market_home / "crafted" / "disguised"
    shutil.copytree(winner_artifact, disguised)
    _rewrite(disguised, model_file, payload)
    _register_folder("mallory2", "disguised", disguised, good)
    err = _refused(lambda: marketplace.publish("disguised", "Free wins", "Trust me", tenant="mallory2"))
    assert "pickle" in err.message

    # 2: an extra .pkl file listed in metadata.json
    extra = market_home / "crafted" / "extra"
    shutil.copytree(winner_artifact, extra)
    _rewrite(extra, "helpers.pkl", payload)
    _register_folder("mallory2", "extra", extra, good)
    err = _refused(lambda: marketplace.publish("extra", "Free wins", "Trust me", tenant="mallory2"))
    assert "helpers.pkl" in err.message and "pickle" in err.message

    assert not marker.exists()
    assert marketplace.list(author="mallory2").items == []


def test_traversal_links_and_wrong_checksums_are_refused_at_publish(
    h: Any, market_home: Path, winner_artifact: Path, tmp_path: Path
) -> None:
    good = h.register_artifact("mallory3", "good", winner_artifact, market_home)
    outside = tmp_path / "outside.json"
    outside.write_text("{}")

    traversal = market_home / "crafted3" / "traversal"
    shutil.copytree(winner_artifact, traversal)
    meta = json.loads((traversal / "metadata.json").read_text())
    meta["files"]["../../outside.json"] = hashlib.sha256(b"{}").hexdigest()
    (traversal / "metadata.json").write_text(json.dumps(meta))
    _register_folder("mallory3", "traversal", traversal, good)
    err = _refused(lambda: marketplace.publish("traversal", "t", "d", tenant="mallory3"))
    assert "path traversal" in err.message

    linked = market_home / "crafted3" / "linked"
    shutil.copytree(winner_artifact, linked)
    (linked / "notes.json").symlink_to(outside)
    _register_folder("mallory3", "linked", linked, good)
    err = _refused(lambda: marketplace.publish("linked", "t", "d", tenant="mallory3"))
    assert "symlink" in err.message

    wrong = market_home / "crafted3" / "wrong"
    shutil.copytree(winner_artifact, wrong)
    record = _register_folder("mallory3", "wrong", wrong, good)
    meta = json.loads((wrong / "metadata.json").read_text())
    meta["seed"] = 99  # metadata changed after registration: checksum no longer the registered one
    (wrong / "metadata.json").write_text(json.dumps(meta))
    err = _refused(lambda: bundles.check_artifact(record.artifact_uri, record.sha256))
    assert "registered" in err.message

    assert outside.read_text() == "{}"
    assert marketplace.list(author="mallory3").items == []


def _bundle_with(good: bytes, extra: dict[str, bytes], *, resign: bool = True, drop: str | None = None) -> bytes:
    """A bundle derived from a real one: ``extra`` entries added (and listed in metadata.json)."""
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(files["metadata.json"])
    for name, data in extra.items():
        files[name] = data
        if resign:
            meta["files"][name] = hashlib.sha256(data).hexdigest()
    if drop is not None:
        meta["files"].pop(drop)
    files["metadata.json"] = json.dumps(meta).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def test_crafted_bundles_are_rejected_by_the_client_without_writing_anything(
    winner_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = export_bundle(winner_artifact)
    sha = sha256_file(winner_artifact / "metadata.json")
    assert bundles.check_bundle(good, sha, bundle_sha256=hashlib.sha256(good).hexdigest()).sha256 == sha

    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    escape = f"escape-{uuid.uuid4().hex}.json"
    model_file = json.loads((winner_artifact / "metadata.json").read_text())["model_file"]
    crafted = {
        "traversal": (_bundle_with(good, {f"../../{escape}": b"{}"}), "path traversal"),
        "absolute": (_bundle_with(good, {f"/tmp/{escape}": b"{}"}), "absolute"),
        "pickle file": (_bundle_with(good, {"model.pkl": pickle.dumps(Payload(marker))}), "pickle"),
        "pickle bytes": (_bundle_with(good, {model_file: pickle.dumps(Payload(marker))}), "pickle"),
        "checksum": (_bundle_with(good, {model_file: b"not the model"}, resign=False), "sha256 mismatch"),
        "not a zip": (b"PK\x03\x04 definitely not a zip", "not a zip"),
    }
    scratch = tmp_path / "scratch" / "deep"
    scratch.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where verification unpacks
    for case, (data, expected) in crafted.items():
        err = _refused(lambda data=data: bundles.check_bundle(data, None))
        assert expected in err.message, (case, err.message)
    err = _refused(lambda: bundles.check_bundle(good, sha, bundle_sha256="0" * 64))
    assert "bundle_sha256" in err.message
    assert not marker.exists()
    assert not any(p.name == escape for p in tmp_path.rglob("*")) and not Path("/tmp", escape).exists()
    assert list(scratch.iterdir()) == []  # every verification folder was removed


def test_cli_download_writes_only_a_verified_bundle(
    h: Any, market_home: Path, winner_artifact: Path, tmp_path: Path
) -> None:
    record = h.register_artifact("author-cli", "winner", winner_artifact, market_home)
    listing = marketplace.publish("winner", "CLI model", "For the CLI test", tenant="author-cli")
    app = typer.Typer()
    market_cmds.register(app)
    runner = CliRunner()
    target = tmp_path / "out" / "model.zip"

    ok = runner.invoke(app, ["market", "download", listing.listing_id, "-o", str(target), "--tenant", "cli-user"])
    assert ok.exit_code == 0, ok.output
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(export_bundle(winner_artifact)).hexdigest()
    assert get_listing(listing.listing_id).downloads == 1

    model_file = json.loads((winner_artifact / "metadata.json").read_text())["model_file"]
    (Path(record.artifact_uri) / model_file).write_bytes(b"tampered")
    second = tmp_path / "out" / "second.zip"
    refused = runner.invoke(app, ["market", "download", listing.listing_id, "-o", str(second), "--tenant", "cli-user"])
    assert refused.exit_code == 2
    assert "failed verification" in refused.output and model_file in refused.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.zip"]
    assert get_listing(listing.listing_id).downloads == 1
