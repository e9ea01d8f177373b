"""Loaded models and the in-process predictor cache.

A :class:`Predictor` is one registered model version loaded into memory (artifact verified
by ``pitwall.ml.artifacts.load_model``), immutable once built. :class:`PredictorCache` keeps
them keyed by ``(tenant, name, version)``: a request looks up the version that is deployed
*now* and uses that predictor object until it answers. Deploying a new version loads it
into the cache before the deployed version flips, so a swap is a single reference change:
requests in flight finish on the old version, later ones get the new one, none fails.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from pitwall.errors import Conflict
from pitwall.platform.records import ModelRecord

if TYPE_CHECKING:
    from pitwall.ml.model import BaseModel

DEFAULT_CACHE_SIZE = 32


@dataclass(frozen=True)
class Predictor:
    """A model version ready to predict."""

    tenant_id: str
    name: str
    version: int
    template: str
    model: BaseModel

    @property
    def kind(self) -> str:
        """``ranking``, ``regression`` or ``classification``."""
        return self.model.task

    @property
    def top_k(self) -> int | None:
        return self.model.top_k

    @property
    def features(self) -> list[str]:
        return list(self.model.input_columns)


def artifact_path(uri: str) -> Path:
    """The local folder of an artifact URI (``file://...`` or a plain path).

    Conflict for an artifact that is not local (``s3://``): the local backend cannot serve it.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    if len(parsed.scheme) == 1:  # a Windows drive letter, e.g. C:\...
        return Path(uri)
    raise Conflict(
        f"the model artifact is stored at {parsed.scheme}:// and cannot be served in-process; "
        "deploy it with the aws backend",
        field="artifact_uri",
        code="artifact_not_local",
    )


def single_threaded(model: BaseModel) -> BaseModel:
    """Make every estimator of ``model`` predict on one thread (``n_jobs=1``).

    A serving process answers many small requests concurrently; estimators that fan each
    20-row prediction out over all cores (XGBoost's default after loading) spend far longer
    synchronising threads than predicting (measured: 20 ms instead of 4 ms per call).
    """
    for member in getattr(model, "members", None) or [model]:
        estimator = getattr(member, "estimator", None)
        get_params = getattr(estimator, "get_params", None)
        if get_params is not None and "n_jobs" in get_params():
            estimator.set_params(n_jobs=1)
    return model


def load_predictor(record: ModelRecord) -> Predictor:
    """Load ``record``'s artifact after checking it is the registered one: ``metadata.json``
    must hash to ``record.sha256`` and every file to its checksum in ``metadata.json``
    (``ArtifactIntegrityError`` otherwise)."""
    from pitwall.ml.artifacts import METADATA_FILE, load_model, sha256_file
    from pitwall.ml.errors import ArtifactIntegrityError

    folder = artifact_path(record.artifact_uri)
    if not (folder / METADATA_FILE).is_file():
        raise ArtifactIntegrityError(f"{record.artifact_uri}: no {METADATA_FILE} (artifact missing)")
    if sha256_file(folder / METADATA_FILE) != record.sha256:
        raise ArtifactIntegrityError(f"{record.artifact_uri}: {METADATA_FILE} does not match the registered sha256")
    model = single_threaded(load_model(folder))
    return Predictor(
        tenant_id=record.tenant_id, name=record.name, version=record.version, template=record.template, model=model
    )


Key = tuple[str, str, int]


class PredictorCache:
    """Loaded predictors by (tenant, name, version), least recently used evicted first.

    Loading happens outside the cache lock (one loader per key at a time), so a slow load of
    one model never blocks predictions with others.
    """

    def __init__(self, loader: Callable[[ModelRecord], Predictor] = load_predictor, size: int = DEFAULT_CACHE_SIZE):
        self._loader = loader
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Key, Predictor] = OrderedDict()
        self._loading: dict[Key, threading.Lock] = {}

    @staticmethod
    def key(record: ModelRecord) -> Key:
        return (record.tenant_id, record.name, record.version)

    def peek(self, record: ModelRecord) -> Predictor | None:
        with self._lock:
            found = self._items.get(self.key(record))
            if found is not None:
                self._items.move_to_end(self.key(record))
            return found

    def get(self, record: ModelRecord) -> Predictor:
        """The predictor for ``record``, loading it on first use."""
        found = self.peek(record)
        if found is not None:
            return found
        key = self.key(record)
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            found = self.peek(record)
            if found is not None:
                return found
            predictor = self._loader(record)
            self.put(predictor)
        with self._lock:
            self._loading.pop(key, None)
        return predictor

    def put(self, predictor: Predictor) -> None:
        key = (predictor.tenant_id, predictor.name, predictor.version)
        with self._lock:
            self._items[key] = predictor
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def discard(self, tenant_id: str, name: str, keep: set[int] | frozenset[int] = frozenset()) -> int:
        """Drop every cached version of a model except those in ``keep``; returns how many."""
        with self._lock:
            gone = [k for k in self._items if k[0] == tenant_id and k[1] == name and k[2] not in keep]
            for k in gone:
                del self._items[k]
            return len(gone)

    def versions(self, tenant_id: str, name: str) -> list[int]:
        """Cached versions of a model (for tests and diagnostics)."""
        with self._lock:
            return sorted(k[2] for k in self._items if k[0] == tenant_id and k[1] == name)
