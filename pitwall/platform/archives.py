"""Deterministic ``model.tar.gz`` bytes (SageMaker's model format), standard library only.

One writer for every tarball Pitwall makes: marketplace forks and snapshots, and the SageMaker
SDK deploy's upload. The same files give the same bytes (sorted names, zero mtimes, no owner,
and a gzip header without the time of packing), so a re-packed model hashes the same. Reading
archives back is ``pitwall.ml.artifacts.tar_members`` (it checks what it reads).
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping


def tar_gz_files(files: Mapping[str, bytes]) -> bytes:
    """Deterministic ``model.tar.gz`` of ``{relative name: bytes}`` (files at the archive's root)."""
    buffer = io.BytesIO()
    # The gzip header carries a timestamp of its own; tarfile's "w:gz" stamps the current
    # second there, so two calls a second apart differed. Zero it, as the tar members' mtimes.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()
