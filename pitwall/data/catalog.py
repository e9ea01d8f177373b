"""The data catalogue: a small JSON read-model of what the lake holds, for the API's data operations
(data status, races, circuits, entrants, a race's real result).

Why a read-model and not Athena: each answer is one GET of a small object that the lean API Lambda
reads with boto3 alone (no pandas, no awswrangler, no Athena query to wait for and pay for, no
result bucket), the local server reads the same documents from the same keys, so both answer the
same JSON, and moto serves S3 faithfully (Athena under moto returns no real rows), so the cloud path
is tested with real answers.

Documents, under ``_catalog/`` in the lake root (``<lake>/_catalog/`` locally, ``s3://<bucket>/
<prefix>/_catalog/`` on AWS; the ``_`` keeps them out of every dataset's keys and Glue table)::

    status.json                 per dataset seasons, races, rows; the latest write; the lake fingerprint
    races.json                  every stored race (ref, date, circuit, whether it has results)
    circuits.json               circuits with stored races
    entrants.json               drivers and constructors with stored results (last season each)
    results/season=<YYYY>.json  race_id -> the classified result rows of that season's races
    partitions.json             per lake object its version token and counts (what a rebuild reuses)

:func:`write_catalog` builds them from the Store (pandas) and writes them through the store's
documents adapter; it runs at the end of every ingest run, after the feature refresh
(:func:`pitwall.runtime.refresh_features`), by the same code for the local lake and S3. A rebuild
re-reads only the lake objects whose version token changed (plus the small race and result tables).

:class:`CatalogReader` answers from the documents. For a local lake (:func:`reader`) it checks the
documents' fingerprint against the lake's version tokens and rebuilds them in memory when they are
missing or stale (a lake written without an ingest run, e.g. by a test); for an S3 lake, and in the
lean Lambda, it answers what the last ingest run wrote. This module imports neither pandas nor boto3
at the top.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pitwall.data.store.base import parse_key, partition_key

log = logging.getLogger(__name__)

CATALOG_PREFIX = "_catalog"
STATUS = "status"
RACES = "races"
CIRCUITS = "circuits"
ENTRANTS = "entrants"
PARTITIONS = "partitions"
FORMAT_VERSION = 1
REFERENCE_DATASETS = ("drivers", "constructors", "circuits")
"""The unpartitioned tables the documents read (names of drivers, constructors and circuits)."""


def results_name(season: int) -> str:
    """The document name of one season's race results."""
    return f"results/season={int(season)}"


def document_key(name: str) -> str:
    """The lake key (relative to the lake root) of a catalogue document."""
    return f"{CATALOG_PREFIX}/{name}.json"


# --------------------------------------------------------------------------- the documents adapters


class CatalogDocuments(Protocol):
    """Where the catalogue documents live (the lake root, locally or in S3)."""

    def get(self, name: str) -> dict[str, Any] | None:
        """The document, or None when it was never written."""
        ...

    def put(self, name: str, document: Mapping[str, Any]) -> None: ...


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _decode(raw: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{where}: not a JSON catalogue document ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: a catalogue document is a JSON object")
    return value


class LocalDocuments:
    """The documents as files under ``<lake>/_catalog/`` (written atomically: write, fsync, rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        return self.root / document_key(name)

    def get(self, name: str) -> dict[str, Any] | None:
        path = self._path(name)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _decode(raw, str(path))

    def put(self, name: str, document: Mapping[str, Any]) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(_encode(document))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


class S3Documents:
    """The documents as objects under ``s3://<bucket>/<prefix>/_catalog/`` (boto3 only: the lean Lambda)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "lake") -> None:
        if not bucket:
            raise ValueError("bucket: an S3 bucket name is required (PITWALL_BUCKET)")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, name: str) -> str:
        key = document_key(name)
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        key = self._key(name)
        try:
            raw = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return _decode(raw, f"s3://{self.bucket}/{key}")

    def put(self, name: str, document: Mapping[str, Any]) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(name), Body=_encode(document), ContentType="application/json"
        )


def documents_for(store: object) -> CatalogDocuments:
    """The documents beside ``store``'s lake: its folder (``LocalStore``) or its bucket and prefix (``AwsStore``)."""
    root = getattr(store, "root", None)
    if isinstance(root, str | Path):
        return LocalDocuments(root)
    bucket = getattr(store, "bucket", None)
    client = getattr(store, "s3", None)
    if bucket and client is not None:
        return S3Documents(client, bucket, str(getattr(store, "prefix", "") or ""))
    raise TypeError(f"store: a {type(store).__name__} has no catalogue documents (no root folder, no bucket)")


def documents_from_env() -> CatalogDocuments:
    """The documents of this process's lake without the Store (no pandas): ``PITWALL_BACKEND=aws`` reads
    ``PITWALL_BUCKET``/``PITWALL_PREFIX`` with boto3, otherwise ``$PITWALL_HOME/lake``."""
    from pitwall.config import backend_kind, pitwall_home

    if backend_kind() == "aws":
        import boto3

        bucket = os.environ.get("PITWALL_BUCKET", "").strip()
        if not bucket:
            raise ValueError("PITWALL_BUCKET: not set; name the S3 bucket of the Pitwall lake")
        return S3Documents(boto3.client("s3"), bucket, os.environ.get("PITWALL_PREFIX", "lake"))
    return LocalDocuments(pitwall_home() / "lake")


# --------------------------------------------------------------------------- value helpers


def _int(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text and text not in ("NaT", "nan", "<NA>", "None") else None


def _date(value: Any) -> str | None:
    if _text(value) is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    return _text(value)


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- building (pandas)


def lake_versions(store: Any) -> dict[str, str]:
    """Lake key -> version token of every object of every dataset: one listing of the lake (the
    stores' ``_list_objects`` primitive), else one per dataset."""
    listing = getattr(store, "_list_objects", None)
    if callable(listing):
        return dict(sorted(listing("").items()))
    out: dict[str, str] = {}
    for dataset in store.datasets():
        out.update(store.versions(dataset))
    return dict(sorted(out.items()))


def fingerprint(versions: Mapping[str, str]) -> str:
    """One token for the whole lake: changes whenever any object of any dataset does."""
    return hashlib.sha256(json.dumps(sorted(versions.items())).encode("utf-8")).hexdigest()


SUMMARY_VERSION = 2
"""Version of what a partition entry summarises (bump when :func:`_partition_entry` records more)."""


def _read_columns(store: Any, key: str, columns: list[str]) -> Any:
    """Some columns of one lake object as Arrow (no pandas conversion): the store's ``_read_columns``
    primitive when it has one (only those column chunks are read), else ``_read_table``."""
    reader = getattr(store, "_read_columns", None)
    if callable(reader):
        return reader(key, columns)
    table = store._read_table(key)
    return None if table is None else table.select([c for c in columns if c in table.column_names])


_RACE_COLUMNS = ["race_id", "season", "round", "grand_prix_id", "official_name", "date", "circuit_id"]
_RESULT_ID_COLUMNS = ["race_id", "round", "driver_id", "constructor_id"]


def _partition_entry(store: Any, key: str, dataset: str, season: int | None) -> dict[str, Any]:
    """Rows and distinct rounds of one lake object, and for a season of ``races`` or ``results`` what
    the documents are built from (so a rebuild reads only the objects that changed):

    - ``races``: ``race_rows``, the season's rows of ``races.json`` (without ``has_results``);
    - ``results``: ``race_ids`` (races with results), ``drivers`` and ``constructors`` (ids).
    """
    import pyarrow.compute as pc

    if season is None:
        table = _read_columns(store, key, [])
        return {"rows": 0 if table is None else int(table.num_rows), "races": None}
    columns = {"races": _RACE_COLUMNS, "results": _RESULT_ID_COLUMNS}.get(dataset, ["round"])
    table = _read_columns(store, key, columns)
    rows = 0 if table is None else int(table.num_rows)
    has_round = table is not None and "round" in table.column_names and rows
    entry: dict[str, Any] = {
        "rows": rows,
        "races": int(pc.count_distinct(table["round"]).as_py()) if has_round else 0,
        "summary": SUMMARY_VERSION,
    }
    if dataset == "races":
        entry["race_rows"] = _race_rows(table.to_pylist() if rows else [])
    elif dataset == "results":
        entry.update({name: _ids(table, column) for name, column in _RESULT_IDS.items()})
    return entry


_RESULT_IDS = {"race_ids": "race_id", "drivers": "driver_id", "constructors": "constructor_id"}


def _ids(table: Any, column: str) -> list[str]:
    if table is None or column not in table.column_names or not table.num_rows:
        return []
    import pyarrow.compute as pc

    return sorted(str(v) for v in pc.unique(table[column].drop_null()).to_pylist())


def _partitions(
    store: Any, versions: Mapping[str, str], previous: Mapping[str, Any], now: str
) -> dict[str, dict[str, Any]]:
    """Per lake key its token, counts (and summary, see :func:`_partition_entry`) and when it was first
    seen with that token; an entry of ``previous`` with the same token is reused without a read."""
    from pitwall.data.store import parse_key

    out: dict[str, dict[str, Any]] = {}
    for key, token in versions.items():
        part = parse_key(key)
        if part is None:
            continue
        old = previous.get(key)
        summarised = part.season is None or (isinstance(old, dict) and old.get("summary") == SUMMARY_VERSION)
        if isinstance(old, dict) and old.get("token") == token and summarised:
            out[key] = dict(old)
            continue
        written = old.get("written_at") if isinstance(old, dict) and old.get("token") == token else now
        out[key] = {"token": token, "written_at": written, **_partition_entry(store, key, part.dataset, part.season)}
    return out


def _status(partitions: Mapping[str, Mapping[str, Any]], fp: str) -> dict[str, Any]:
    from pitwall.data.schema import TABLES
    from pitwall.data.store import parse_key

    by_dataset: dict[str, dict[int | None, Mapping[str, Any]]] = {}
    for key, entry in partitions.items():
        part = parse_key(key)
        if part is not None:
            by_dataset.setdefault(part.dataset, {})[part.season] = entry
    datasets = []
    for dataset in sorted(by_dataset):
        parts = by_dataset[dataset]
        spec = TABLES.get(dataset)
        if spec is not None and not spec.race_scoped:
            rows = sum(int(e["rows"]) for e in parts.values())
            datasets.append({"dataset": dataset, "seasons": [], "races": None, "rows": rows})
            continue
        seasons = sorted(s for s in parts if s is not None)
        datasets.append(
            {
                "dataset": dataset,
                "seasons": seasons,
                "races": sum(int(parts[s]["races"] or 0) for s in seasons),
                "rows": sum(int(parts[s]["rows"]) for s in seasons),
            }
        )
    results = next((d for d in datasets if d["dataset"] == "results"), None)
    written = [str(e["written_at"]) for e in partitions.values() if e.get("written_at")]
    return {
        "format_version": FORMAT_VERSION,
        "fingerprint": fp,
        "datasets": datasets,
        "seasons": results["seasons"] if results else [],
        "races": int(results["races"] or 0) if results else 0,
        "last_ingest": max(written) if written else None,
    }


def _race_rows(races: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One season's rows of ``races.json`` (every field but ``has_results``), in round order."""
    races = sorted(races, key=lambda r: int(r["round"]))
    counts: dict[str | None, int] = {}
    for r in races:
        gp = _text(r.get("grand_prix_id"))
        counts[gp] = counts.get(gp, 0) + 1
    out = []
    for r in races:
        season, gp = int(r["season"]), _text(r.get("grand_prix_id"))
        race_id = str(r["race_id"])
        out.append(
            {
                "race_id": race_id,
                "season": season,
                "round": int(r["round"]),
                "grand_prix_id": gp,
                "name": _text(r.get("official_name")),
                "date": _date(r.get("date")),
                "circuit_id": _text(r.get("circuit_id")),
                "ref": f"{gp}_{season}" if gp is not None and counts[gp] == 1 else race_id,
            }
        )
    return out


def _season_entries(partitions: Mapping[str, Mapping[str, Any]], dataset: str) -> list[tuple[int, Mapping[str, Any]]]:
    from pitwall.data.store import parse_key

    out = []
    for key, entry in partitions.items():
        part = parse_key(key)
        if part is not None and part.dataset == dataset and part.season is not None:
            out.append((part.season, entry))
    return sorted(out, key=lambda item: item[0])


def _races(partitions: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    with_results = {r for _, e in _season_entries(partitions, "results") for r in e.get("race_ids", [])}
    return [
        {**row, "has_results": row["race_id"] in with_results}
        for _, entry in _season_entries(partitions, "races")
        for row in entry.get("race_rows", [])
    ]


def _circuits(races: list[dict[str, Any]], circuits: Any) -> list[dict[str, Any]]:
    if not races:
        return []
    names = {str(c["circuit_id"]): c for c in circuits.to_dict("records")} if len(circuits) else {}
    seen: dict[str, list[int]] = {}
    for race in races:
        if race["circuit_id"] is not None:
            seen.setdefault(race["circuit_id"], []).append(int(race["season"]))
    out = []
    for circuit_id, seasons in sorted(seen.items()):
        ref = names.get(circuit_id, {})
        out.append(
            {
                "circuit_id": circuit_id,
                "name": _text(ref.get("name")) or circuit_id,
                "country_id": _text(ref.get("country_id")),
                "races": len(seasons),
                "first_season": min(seasons),
                "last_season": max(seasons),
            }
        )
    out.sort(key=lambda c: c["name"].lower())
    return out


def _names(frame: Any, column: str) -> dict[str, str]:
    if not len(frame):
        return {}
    return dict(zip(frame[column].astype(str), frame["name"].astype(str), strict=True))


def _entrants(
    partitions: Mapping[str, Mapping[str, Any]], reference: Any, kind: str, column: str
) -> list[dict[str, Any]]:
    """The drivers (``kind="drivers"``) or constructors with stored results, each with its last season."""
    last: dict[str, int] = {}
    for season, entry in _season_entries(partitions, "results"):
        for entrant in entry.get(kind, []):
            last[entrant] = season  # seasons in order: the last one wins
    if not last:
        return []
    names = _names(reference, column)
    rows = [{"id": k, "name": names.get(k, k), "last_season": v} for k, v in sorted(last.items())]
    return sorted(rows, key=lambda e: (-e["last_season"], e["name"].lower()))


RESULT_COLUMNS = ("position", "position_text", "driver_id", "constructor_id", "grid_position", "points")


def _season_results(results: Any, driver_names: Mapping[str, str]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """season -> race_id -> the classified result rows (one pass over the columns the rows need)."""
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    if not len(results):
        return out
    columns = ["season", "race_id", "position_order", *(c for c in RESULT_COLUMNS if c in results.columns)]
    ordered = results[columns].sort_values(["race_id", "position_order"], kind="stable")
    for r in ordered.to_dict("records"):
        driver = str(r["driver_id"])
        row = {
            "position": _int(r.get("position")),
            "position_text": _text(r.get("position_text")),
            "driver_id": driver,
            "driver_name": driver_names.get(driver),
            "constructor_id": _text(r.get("constructor_id")),
            "grid_position": _int(r.get("grid_position")),
            "points": _float(r.get("points")),
        }
        out.setdefault(int(r["season"]), {}).setdefault(str(r["race_id"]), []).append(row)
    return out


def _read(store: Any, dataset: str, datasets: Iterable[str]) -> Any:
    import pandas as pd

    return store.read(dataset) if dataset in datasets else pd.DataFrame()


def build_catalog(
    store: Any,
    previous: Mapping[str, Any] | None = None,
    now: str | None = None,
    result_seasons: Iterable[int] | None = None,
) -> dict[str, dict[str, Any]]:
    """The catalogue documents (name -> JSON object) of ``store``'s lake.

    ``previous``: the last ``partitions`` document, whose counts are reused for unchanged objects.
    ``now``: the UTC time recorded for objects seen for the first time (default: now).
    ``result_seasons``: the seasons whose ``results/season=<YYYY>`` documents to build (default: all).
    """
    now = now or now_utc()
    versions = lake_versions(store)
    old = (previous or {}).get("objects", {}) if isinstance(previous, Mapping) else {}
    partitions = _partitions(store, versions, old if isinstance(old, Mapping) else {}, now)
    datasets = {p.dataset for k in versions if (p := parse_key(k)) is not None}
    drivers, constructors = _read(store, "drivers", datasets), _read(store, "constructors", datasets)
    races = _races(partitions)
    docs: dict[str, dict[str, Any]] = {
        STATUS: _status(partitions, fingerprint(versions)),
        RACES: {"races": races},
        CIRCUITS: {"circuits": _circuits(races, _read(store, "circuits", datasets))},
        ENTRANTS: {
            "drivers": _entrants(partitions, drivers, "drivers", "driver_id"),
            "constructors": _entrants(partitions, constructors, "constructors", "constructor_id"),
        },
        PARTITIONS: {"format_version": FORMAT_VERSION, "objects": partitions},
    }
    if "results" in datasets and (result_seasons is None or list(result_seasons)):
        seasons = None if result_seasons is None else sorted({int(s) for s in result_seasons})
        results = store.read("results", seasons)
        for season, races_of in _season_results(results, _names(drivers, "driver_id")).items():
            docs[results_name(season)] = {"season": season, "races": races_of}
    return docs


def season_results(store: Any, season: int) -> dict[str, Any]:
    """The ``results/season=<YYYY>`` document of one season, built from the Store."""
    datasets = store.datasets()
    results = store.read("results", [season]) if "results" in datasets else None
    rows = (
        _season_results(results, _names(_read(store, "drivers", datasets), "driver_id")) if results is not None else {}
    )
    return {"season": int(season), "races": rows.get(int(season), {})}


def changed_result_seasons(versions: Mapping[str, str], previous: Mapping[str, Any] | None) -> list[int] | None:
    """The seasons whose result documents are out of date: those whose ``results`` object changed
    since ``previous`` (the last ``partitions`` document); None (all) without one or when the driver
    names changed."""
    from pitwall.data.store import parse_key

    old = (previous or {}).get("objects") if previous else None
    if not isinstance(old, Mapping):
        return None
    names = partition_key("drivers")
    if (old.get(names) or {}).get("token") != versions.get(names):
        return None
    out = []
    for key, token in versions.items():
        part = parse_key(key)
        if part is not None and part.dataset == "results" and part.season is not None:
            if (old.get(key) or {}).get("token") != token:
                out.append(part.season)
    return sorted(out)


def write_catalog(store: Any, documents: CatalogDocuments | None = None, now: str | None = None) -> list[str]:
    """Build the catalogue of ``store`` and write it (result documents only for the seasons whose
    results changed; ``status`` last, so a reader that sees the new fingerprint sees every new
    document); returns the names written."""
    documents = documents or documents_for(store)
    previous = documents.get(PARTITIONS)
    docs = build_catalog(store, previous, now, changed_result_seasons(lake_versions(store), previous))
    names = sorted(docs, key=lambda n: (n == STATUS, n))
    for name in names:
        documents.put(name, docs[name])
    return names


def refresh_catalog(store: Any | None = None) -> list[str]:
    """:func:`write_catalog` for this process's store; a failure is logged, never raised (the ingest
    committed; the next run, or a reader holding the Store, rebuilds the documents)."""
    try:
        if store is None:
            from pitwall.data.store import get_store

            store = get_store()
        return write_catalog(store)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("writing the data catalogue failed")
        return []


# --------------------------------------------------------------------------- reading


def empty_status() -> dict[str, Any]:
    """The status of a lake no ingest has written to."""
    return {
        "format_version": FORMAT_VERSION,
        "fingerprint": None,
        "datasets": [],
        "seasons": [],
        "races": 0,
        "last_ingest": None,
    }


def _location(documents: CatalogDocuments) -> str | None:
    """Where documents live, as a cache key (None: not cacheable)."""
    if isinstance(documents, LocalDocuments):
        return f"file:{documents.root.resolve()}"
    if isinstance(documents, S3Documents):
        return f"s3://{documents.bucket}/{documents.prefix}"
    return None


class CatalogReader:
    """Answers from the catalogue documents (see the module doc)."""

    _cache: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    _lock = threading.Lock()

    def __init__(self, documents: CatalogDocuments, store: Any | None = None) -> None:
        self.documents = documents
        self.store = store
        self._built: dict[str, dict[str, Any]] | None = None
        self._checked = False

    def _rebuilt(self) -> dict[str, dict[str, Any]] | None:
        """The documents rebuilt in memory when the stored ones are missing or stale (needs the Store)."""
        if self.store is None:
            return None
        if self._checked:
            return self._built
        self._checked = True
        status = self.documents.get(STATUS)
        current = fingerprint(lake_versions(self.store))
        if status is not None and status.get("fingerprint") == current:
            return None
        where = _location(self.documents)
        with self._lock:
            cached = self._cache.get((where, current)) if where is not None else None
            if cached is None:
                cached = build_catalog(self.store, self.documents.get(PARTITIONS), result_seasons=())
                if where is not None:
                    self._cache.clear()  # the latest lake state is the one asked for again
                    self._cache[(where, current)] = cached
        self._built = cached
        return cached

    def document(self, name: str) -> dict[str, Any] | None:
        built = self._rebuilt()
        if built is None:
            return self.documents.get(name)
        if name.startswith("results/") and name not in built:  # built on demand, one season at a time
            built[name] = season_results(self.store, int(name.rsplit("=", 1)[1]))
        return built.get(name)

    def status(self) -> dict[str, Any]:
        return self.document(STATUS) or empty_status()

    def races(self) -> list[dict[str, Any]]:
        return list((self.document(RACES) or {}).get("races", []))

    def circuits(self) -> list[dict[str, Any]]:
        return list((self.document(CIRCUITS) or {}).get("circuits", []))

    def entrants(self) -> dict[str, list[dict[str, Any]]]:
        doc = self.document(ENTRANTS) or {}
        return {"drivers": list(doc.get("drivers", [])), "constructors": list(doc.get("constructors", []))}

    def results(self, season: int, race_id: str) -> list[dict[str, Any]]:
        doc = self.document(results_name(season)) or {}
        return list(doc.get("races", {}).get(race_id, []))


def reader(store_factory: Callable[[], Any] | None = None) -> CatalogReader:
    """The reader for this process. A local lake is read through its Store (staleness checked: a
    lake written outside an ingest run still answers fresh); an S3 lake, and any lake where the Store
    does not import (the lean Lambda: boto3 only), from the documents alone, as the last ingest run
    wrote them (the same answer wherever it is read, without listing the bucket on every request)."""
    try:
        if store_factory is None:
            from pitwall.data.store import get_store

            store_factory = get_store
        store = store_factory()
    except ImportError:  # no pandas/pyarrow/awswrangler here
        return CatalogReader(documents_from_env())
    documents = documents_for(store)
    return CatalogReader(documents, store if isinstance(documents, LocalDocuments) else None)
