"""Artifact packing helpers of ``pitwall.marketplace.bundles``, in memory (no files, no network)."""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pitwall.marketplace import bundles as ms
from pitwall.ml.errors import ArtifactIntegrityError
from pitwall.platform.archives import tar_gz_files

FILES = {"metadata.json": b'{"a": 1}', "members/00-xgboost/model.ubj": b"\x00\x01binary"}


def _tar(entries: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in entries:
            payload = (data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def test_tar_and_zip_round_trip_deterministically() -> None:
    packed = tar_gz_files(FILES)
    assert packed == tar_gz_files(dict(reversed(list(FILES.items()))))  # same bytes whatever the order
    assert packed[4:8] == bytes(4)  # the gzip header's own timestamp is zero, not the time of packing
    assert ms.files_from_tar(packed) == FILES
    zipped = ms.zip_files(FILES)
    assert zipped == ms.zip_files(FILES)
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == FILES
        assert all((i.external_attr >> 16) == 0o100644 for i in zf.infolist())


def test_sagemaker_style_names_lose_their_dot_slash_and_folders_are_skipped() -> None:
    folder = tarfile.TarInfo("./members")
    folder.type = tarfile.DIRTYPE
    data = {"./metadata.json": b"{}", "./members/m.ubj": b"x"}
    entries = [folder, tarfile.TarInfo("./metadata.json"), tarfile.TarInfo("./members/m.ubj")]
    assert ms.files_from_tar(_tar(entries, data)) == {"metadata.json": b"{}", "members/m.ubj": b"x"}


@pytest.mark.parametrize(
    "kind, message",
    [(tarfile.SYMTYPE, "only regular files"), (tarfile.LNKTYPE, "only regular files"), (tarfile.FIFOTYPE, "regular")],
)
def test_links_and_special_files_are_refused(kind: bytes, message: str) -> None:
    special = tarfile.TarInfo("./model.ubj")
    special.type = kind
    special.linkname = "/etc/passwd"
    with pytest.raises(ArtifactIntegrityError, match=message):
        ms.files_from_tar(_tar([tarfile.TarInfo("./metadata.json"), special], {"./metadata.json": b"{}"}))


def test_duplicate_entries_are_refused() -> None:
    a, b = tarfile.TarInfo("./metadata.json"), tarfile.TarInfo("metadata.json")
    data = {"./metadata.json": b"{}", "metadata.json": b"{}"}
    with pytest.raises(ArtifactIntegrityError, match="duplicate"):
        ms.files_from_tar(_tar([a, b], data))


def test_uris() -> None:
    assert ms.split_s3_uri("s3://bucket/a/b/model.tar.gz") == ("bucket", "a/b/model.tar.gz")
    for bad in ("s3://bucket", "s3:///key", "https://bucket/key", "bucket/key"):
        with pytest.raises(ValueError):
            ms.split_s3_uri(bad)
    assert ms._local_folder("/models/a/b") == Path("/models/a/b")
    assert ms._local_folder("file:///models/a%20b") == Path("/models/a b")
    with pytest.raises(ValueError, match="unsupported"):
        ms._local_folder("ftp://host/model")


def test_without_the_ml_libraries_artifact_work_is_a_503_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from pitwall.serving.errors import ServingUnavailable

    monkeypatch.setitem(sys.modules, "pitwall.ml.artifacts", None)  # as in the lean API Lambda
    for call in (
        lambda: ms.check_bundle(b"", None, what="x"),
        lambda: ms.check_artifact("s3://bucket/model.tar.gz", None, what="x"),
        lambda: ms.copy_artifact("s3://bucket/model.tar.gz", "tenant", "name"),
    ):
        with pytest.raises(ServingUnavailable) as info:
            call()
        assert (info.value.http_status, info.value.code) == (503, "verification_unavailable")


def test_import_bundle_and_the_marketplace_apply_the_same_bundle_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pitwall.errors import ValidationFailed
    from pitwall.ml import artifacts

    seen: list[bytes] = []

    def refuse(data: bytes) -> dict[str, bytes]:
        seen.append(data)
        raise ArtifactIntegrityError("refused by the one check")

    monkeypatch.setattr(artifacts, "bundle_files", refuse)
    with pytest.raises(ArtifactIntegrityError, match="the one check"):
        artifacts.import_bundle(b"bundle-a", tmp_path / "a")
    with pytest.raises(ValidationFailed, match="the one check") as info:
        ms.check_bundle(b"bundle-b", None)
    assert info.value.code == "bad_artifact"
    assert seen == [b"bundle-a", b"bundle-b"] and not (tmp_path / "a").exists()
