"""Embedded records backend: one SQLite file (``$PITWALL_HOME/platform.db``).

Safe across threads (one connection per thread) and processes (WAL journal, a busy timeout,
and every write inside ``BEGIN IMMEDIATE`` so read-check-write sequences are serialised).
Conditional updates are single statements such as
``UPDATE counters SET n = n + 1 WHERE ... AND n < :limit``. Documents are stored as JSON text
beside the columns that are keyed, filtered or counted.

Schema (``PRAGMA user_version`` = 1):

- ``tenants(tenant_id PK, tier, created_at)``
- ``api_keys(key_hash PK, key_id UNIQUE, tenant_id, created_at, revoked_at)``
- ``counters(name, period, n, expires_at; PK(name, period))``: quota counters
- ``buckets(name PK, tokens, updated_at, version)``: request-rate token buckets
- ``model_heads(tenant_id, name, latest_version, deployed_version, auto_retrain, deleted)``
- ``model_versions(tenant_id, name, version, doc)``
- ``jobs(tenant_id, job_id, idempotency_key, status, created_at, doc; UNIQUE(tenant_id, idempotency_key))``
- ``listings(listing_id PK, source_key UNIQUE, doc, downloads, rating_sum, rating_count)``
- ``ratings(listing_id, tenant_id, stars, updated_at)``
- ``listing_activity(day, listing_id, downloads, ratings, expires_at)``
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pitwall.platform.backend import DeleteOutcome, DeployOutcome
from pitwall.platform.records import (
    ActivityCounts,
    ApiKeyRecord,
    BucketState,
    JobRecord,
    Listing,
    ModelRecord,
    Tenant,
)

SCHEMA_VERSION = 1
MODEL_CACHE_SIZE = 256  # model records kept per connection (cleared when full)

# Expired rows are purged lazily by later writes: rows expiring more than this long before
# the row being written (measured on the caller's clock, so pinned test clocks work too).
_PURGE_MARGIN_S = 7 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    tenant_id TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_tenant ON api_keys (tenant_id, created_at);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT NOT NULL,
    period TEXT NOT NULL,
    n INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (name, period)
);
CREATE INDEX IF NOT EXISTS counters_by_expiry ON counters (expires_at);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    updated_at REAL NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS model_heads (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    deployed_version INTEGER,
    auto_retrain INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX IF NOT EXISTS model_heads_auto_retrain ON model_heads (auto_retrain, deleted);
CREATE TABLE IF NOT EXISTS model_versions (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
);
CREATE TABLE IF NOT EXISTS jobs (
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    idempotency_key TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, job_id),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS listings (
    listing_id TEXT PRIMARY KEY,
    source_key TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    downloads INTEGER NOT NULL DEFAULT 0,
    rating_sum INTEGER NOT NULL DEFAULT 0,
    rating_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ratings (
    listing_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    stars INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (listing_id, tenant_id)
);
CREATE TABLE IF NOT EXISTS listing_activity (
    day TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    downloads INTEGER NOT NULL DEFAULT 0,
    ratings INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (day, listing_id)
);
"""


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the base type cannot), so connections of
    finished threads are closed by garbage collection instead of piling up. ``models`` holds
    the model records this connection read, each with the database state it was read at."""

    models: dict[tuple[str, str, int | None], tuple[tuple[int, int], ModelRecord | None]]


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, allow_nan=False)


def owner_only(path: Path) -> None:
    """Create the database file ``path`` readable and writable by its owner only (0600) before
    SQLite opens it (its ``-wal``/``-shm`` files take the same mode); an existing one is
    tightened to 0600. It holds API key hashes, tenants and the model registry."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


class SqliteBackend:
    """Records in one SQLite database file; see the module docstring for the schema."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner_only(self.path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._all_lock = threading.Lock()
        self._commits = 0
        self._conn().executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")

    # --- connections --------------------------------------------------------------------------
    def _conn(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        # Each connection is used only by the thread that opened it; check_same_thread is off
        # so that close() may close all of them from one thread.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        conn.row_factory = sqlite3.Row
        conn.models = {}
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._all_lock:
            self._all.add(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database write lock from its first statement."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        with self._all_lock:
            self._commits += 1  # this process's own commits (SQLite's data_version counts only other connections')

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: all statements see one snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this backend opened (in this process)."""
        with self._all_lock:
            for conn in list(self._all):
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # --- tenants and API keys -----------------------------------------------------------------
    def ensure_tenant(self, tenant: Tenant) -> Tenant:
        with self._write() as c:
            c.execute(
                "INSERT INTO tenants (tenant_id, tier, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING",
                (tenant.tenant_id, tenant.tier, tenant.created_at),
            )
            row = c.execute("SELECT * FROM tenants WHERE tenant_id = ?", (tenant.tenant_id,)).fetchone()
        return Tenant(tenant_id=row["tenant_id"], tier=row["tier"], created_at=row["created_at"])

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._conn().execute("SELECT * FROM tenants WHERE tenant_id = ?", (tenant_id,)).fetchone()
        if row is None:
            return None
        return Tenant(tenant_id=row["tenant_id"], tier=row["tier"], created_at=row["created_at"])

    def set_tenant_tier(self, tenant_id: str, tier: str) -> bool:
        with self._write() as c:
            cur = c.execute("UPDATE tenants SET tier = ? WHERE tenant_id = ?", (tier, tenant_id))
        return cur.rowcount == 1

    @staticmethod
    def _key(row: sqlite3.Row) -> ApiKeyRecord:
        return ApiKeyRecord(
            key_id=row["key_id"],
            tenant_id=row["tenant_id"],
            key_hash=row["key_hash"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )

    def put_api_key(self, key: ApiKeyRecord) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO api_keys (key_hash, key_id, tenant_id, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                (key.key_hash, key.key_id, key.tenant_id, key.created_at, key.revoked_at),
            )

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = self._conn().execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
        return None if row is None else self._key(row)

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        rows = self._conn().execute(
            "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, key_id", (tenant_id,)
        )
        return [self._key(r) for r in rows]

    def revoke_api_key(self, tenant_id: str, key_id: str, revoked_at: str) -> bool:
        with self._write() as c:
            row = c.execute(
                "SELECT revoked_at FROM api_keys WHERE tenant_id = ? AND key_id = ?", (tenant_id, key_id)
            ).fetchone()
            if row is None:
                return False
            if row["revoked_at"] is None:
                c.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND key_id = ?",
                    (revoked_at, tenant_id, key_id),
                )
        return True

    # --- counters -----------------------------------------------------------------------------
    def increment_counter(self, name: str, period: str, *, limit: int | None, expires_at: int) -> int | None:
        with self._write() as c:
            c.execute("DELETE FROM counters WHERE expires_at < ?", (expires_at - _PURGE_MARGIN_S,))
            c.execute(
                "INSERT INTO counters (name, period, n, expires_at) VALUES (?, ?, 0, ?) "
                "ON CONFLICT (name, period) DO NOTHING",
                (name, period, expires_at),
            )
            row = c.execute(
                "UPDATE counters SET n = n + 1 WHERE name = ? AND period = ? AND (? IS NULL OR n < ?) RETURNING n",
                (name, period, limit, limit),
            ).fetchone()
        return None if row is None else int(row["n"])

    def decrement_counter(self, name: str, period: str) -> int:
        with self._write() as c:
            c.execute("UPDATE counters SET n = n - 1 WHERE name = ? AND period = ? AND n > 0", (name, period))
            row = c.execute("SELECT n FROM counters WHERE name = ? AND period = ?", (name, period)).fetchone()
        return 0 if row is None else int(row["n"])

    def get_counter(self, name: str, period: str) -> int:
        row = self._conn().execute("SELECT n FROM counters WHERE name = ? AND period = ?", (name, period)).fetchone()
        return 0 if row is None else int(row["n"])

    # --- token buckets ------------------------------------------------------------------------
    def get_bucket(self, name: str) -> BucketState | None:
        row = self._conn().execute("SELECT * FROM buckets WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return BucketState(tokens=row["tokens"], updated_at=row["updated_at"], version=row["version"])

    def put_bucket(self, name: str, tokens: float, updated_at: float, expected_version: int | None) -> bool:
        with self._write() as c:
            if expected_version is None:
                cur = c.execute(
                    "INSERT INTO buckets (name, tokens, updated_at, version) VALUES (?, ?, ?, 1) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, tokens, updated_at),
                )
            else:
                cur = c.execute(
                    "UPDATE buckets SET tokens = ?, updated_at = ?, version = version + 1 "
                    "WHERE name = ? AND version = ?",
                    (tokens, updated_at, name, expected_version),
                )
        return cur.rowcount == 1

    # --- models -------------------------------------------------------------------------------
    @staticmethod
    def _model(doc_text: str, head: sqlite3.Row) -> ModelRecord:
        return ModelRecord.from_version_doc(
            json.loads(doc_text),
            deployed_version=head["deployed_version"],
            auto_retrain=bool(head["auto_retrain"]),
        )

    def register_model_version(self, record: ModelRecord, auto_retrain: bool | None) -> ModelRecord:
        with self._write() as c:
            head = c.execute(
                "SELECT * FROM model_heads WHERE tenant_id = ? AND name = ?", (record.tenant_id, record.name)
            ).fetchone()
            if head is None:
                version = 1
                c.execute(
                    "INSERT INTO model_heads (tenant_id, name, latest_version, auto_retrain) VALUES (?, ?, 1, ?)",
                    (record.tenant_id, record.name, int(bool(auto_retrain))),
                )
            else:
                version = head["latest_version"] + 1
                keep = bool(head["auto_retrain"]) and not head["deleted"]
                flag = keep if auto_retrain is None else auto_retrain
                c.execute(
                    "UPDATE model_heads SET latest_version = ?, deleted = 0, auto_retrain = ? "
                    "WHERE tenant_id = ? AND name = ?",
                    (version, int(flag), record.tenant_id, record.name),
                )
            doc = record.version_doc() | {"version": version}
            c.execute(
                "INSERT INTO model_versions (tenant_id, name, version, doc) VALUES (?, ?, ?, ?)",
                (record.tenant_id, record.name, version, _dumps(doc)),
            )
            head = c.execute(
                "SELECT * FROM model_heads WHERE tenant_id = ? AND name = ?", (record.tenant_id, record.name)
            ).fetchone()
            return self._model(_dumps(doc), head)

    def _live_head(self, c: sqlite3.Connection, tenant_id: str, name: str) -> sqlite3.Row | None:
        return c.execute(
            "SELECT * FROM model_heads WHERE tenant_id = ? AND name = ? AND deleted = 0", (tenant_id, name)
        ).fetchone()

    def get_model(self, tenant_id: str, name: str, version: int | None) -> ModelRecord | None:
        """The record, re-read only when the database changed since this connection last read
        it (``PRAGMA data_version`` moves on every other connection's commit, ``_commits`` on
        this process's own): serving asks for the deployed record on every request."""
        conn = self._conn()
        state = (int(conn.execute("PRAGMA data_version").fetchone()[0]), self._commits)
        key = (tenant_id, name, version)
        known = conn.models.get(key)
        if known is not None and known[0] == state:
            return known[1]
        record = self._read_model(tenant_id, name, version)
        if len(conn.models) >= MODEL_CACHE_SIZE:
            conn.models.clear()
        conn.models[key] = (state, record)
        return record

    def _read_model(self, tenant_id: str, name: str, version: int | None) -> ModelRecord | None:
        with self._read() as c:
            head = self._live_head(c, tenant_id, name)
            if head is None:
                return None
            row = c.execute(
                "SELECT doc FROM model_versions WHERE tenant_id = ? AND name = ? AND version = ?",
                (tenant_id, name, head["latest_version"] if version is None else version),
            ).fetchone()
            return None if row is None else self._model(row["doc"], head)

    def list_models(self, tenant_id: str) -> list[ModelRecord]:
        with self._read() as c:
            rows = c.execute(
                "SELECT h.deployed_version, h.auto_retrain, v.doc FROM model_heads h JOIN model_versions v "
                "ON v.tenant_id = h.tenant_id AND v.name = h.name AND v.version = h.latest_version "
                "WHERE h.tenant_id = ? AND h.deleted = 0 ORDER BY h.name",
                (tenant_id,),
            ).fetchall()
        return [self._model(r["doc"], r) for r in rows]

    def list_model_versions(self, tenant_id: str, name: str) -> list[ModelRecord]:
        with self._read() as c:
            head = self._live_head(c, tenant_id, name)
            if head is None:
                return []
            rows = c.execute(
                "SELECT doc FROM model_versions WHERE tenant_id = ? AND name = ? ORDER BY version",
                (tenant_id, name),
            ).fetchall()
        return [self._model(r["doc"], head) for r in rows]

    def set_deployed(self, tenant_id: str, name: str, version: int, *, limit: int | None) -> DeployOutcome:
        with self._write() as c:
            head = self._live_head(c, tenant_id, name)
            exists = (
                head is not None
                and c.execute(
                    "SELECT 1 FROM model_versions WHERE tenant_id = ? AND name = ? AND version = ?",
                    (tenant_id, name, version),
                ).fetchone()
            )
            if not exists:
                return DeployOutcome.NOT_FOUND
            if head["deployed_version"] is None and limit is not None:
                deployed = c.execute(
                    "SELECT COUNT(*) AS n FROM model_heads "
                    "WHERE tenant_id = ? AND deleted = 0 AND deployed_version IS NOT NULL",
                    (tenant_id,),
                ).fetchone()["n"]
                if deployed >= limit:
                    return DeployOutcome.LIMIT_REACHED
            c.execute(
                "UPDATE model_heads SET deployed_version = ? WHERE tenant_id = ? AND name = ?",
                (version, tenant_id, name),
            )
        return DeployOutcome.DEPLOYED

    def clear_deployed(self, tenant_id: str, name: str) -> bool:
        with self._write() as c:
            cur = c.execute(
                "UPDATE model_heads SET deployed_version = NULL "
                "WHERE tenant_id = ? AND name = ? AND deleted = 0 AND deployed_version IS NOT NULL",
                (tenant_id, name),
            )
        return cur.rowcount == 1

    def count_deployed(self, tenant_id: str) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT COUNT(*) AS n FROM model_heads "
                "WHERE tenant_id = ? AND deleted = 0 AND deployed_version IS NOT NULL",
                (tenant_id,),
            )
            .fetchone()
        )
        return int(row["n"])

    def set_auto_retrain(self, tenant_id: str, name: str, enabled: bool) -> bool:
        with self._write() as c:
            cur = c.execute(
                "UPDATE model_heads SET auto_retrain = ? WHERE tenant_id = ? AND name = ? AND deleted = 0",
                (int(enabled), tenant_id, name),
            )
        return cur.rowcount == 1

    def delete_model(self, tenant_id: str, name: str) -> DeleteOutcome:
        with self._write() as c:
            head = self._live_head(c, tenant_id, name)
            if head is None:
                return DeleteOutcome.NOT_FOUND
            if head["deployed_version"] is not None:
                return DeleteOutcome.DEPLOYED
            c.execute(
                "UPDATE model_heads SET deleted = 1, auto_retrain = 0 WHERE tenant_id = ? AND name = ?",
                (tenant_id, name),
            )
            c.execute("DELETE FROM model_versions WHERE tenant_id = ? AND name = ?", (tenant_id, name))
        return DeleteOutcome.DELETED

    def list_auto_retrain_models(self) -> list[ModelRecord]:
        with self._read() as c:
            rows = c.execute(
                "SELECT h.deployed_version, h.auto_retrain, v.doc FROM model_heads h JOIN model_versions v "
                "ON v.tenant_id = h.tenant_id AND v.name = h.name AND v.version = h.latest_version "
                "WHERE h.auto_retrain = 1 AND h.deleted = 0 ORDER BY h.tenant_id, h.name"
            ).fetchall()
        return [self._model(r["doc"], r) for r in rows]

    # --- jobs ---------------------------------------------------------------------------------
    def create_job(self, job: JobRecord) -> tuple[JobRecord, bool]:
        with self._write() as c:
            if job.idempotency_key is not None:
                row = c.execute(
                    "SELECT doc FROM jobs WHERE tenant_id = ? AND idempotency_key = ?",
                    (job.tenant_id, job.idempotency_key),
                ).fetchone()
                if row is not None:
                    return JobRecord.from_doc(json.loads(row["doc"])), False
            c.execute(
                "INSERT INTO jobs (tenant_id, job_id, idempotency_key, status, created_at, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (job.tenant_id, job.job_id, job.idempotency_key, job.status, job.created_at, _dumps(job.to_doc())),
            )
        return job, True

    def get_job(self, tenant_id: str, job_id: str) -> JobRecord | None:
        row = (
            self._conn()
            .execute("SELECT doc FROM jobs WHERE tenant_id = ? AND job_id = ?", (tenant_id, job_id))
            .fetchone()
        )
        return None if row is None else JobRecord.from_doc(json.loads(row["doc"]))

    def get_job_by_idempotency_key(self, tenant_id: str, key: str) -> JobRecord | None:
        row = (
            self._conn()
            .execute("SELECT doc FROM jobs WHERE tenant_id = ? AND idempotency_key = ?", (tenant_id, key))
            .fetchone()
        )
        return None if row is None else JobRecord.from_doc(json.loads(row["doc"]))

    def list_jobs(self, tenant_id: str) -> list[JobRecord]:
        rows = self._conn().execute(
            "SELECT doc FROM jobs WHERE tenant_id = ? ORDER BY created_at, job_id", (tenant_id,)
        )
        return [JobRecord.from_doc(json.loads(r["doc"])) for r in rows]

    def list_unfinished_jobs(self) -> list[JobRecord]:
        rows = self._conn().execute(
            "SELECT doc FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, job_id"
        )
        return [JobRecord.from_doc(json.loads(r["doc"])) for r in rows]

    def update_job(self, job: JobRecord, expected_status: str) -> bool:
        with self._write() as c:
            cur = c.execute(
                "UPDATE jobs SET status = ?, doc = ? WHERE tenant_id = ? AND job_id = ? AND status = ?",
                (job.status, _dumps(job.to_doc()), job.tenant_id, job.job_id, expected_status),
            )
        return cur.rowcount == 1

    # --- marketplace --------------------------------------------------------------------------
    @staticmethod
    def _listing(row: sqlite3.Row) -> Listing:
        return Listing.from_doc(
            json.loads(row["doc"]),
            downloads=row["downloads"],
            rating_sum=row["rating_sum"],
            rating_count=row["rating_count"],
        )

    def put_listing(self, listing: Listing) -> bool:
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO listings (listing_id, source_key, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (listing.listing_id, listing.source_key, _dumps(listing.snapshot_doc())),
            )
        return cur.rowcount == 1

    def get_listing(self, listing_id: str) -> Listing | None:
        row = self._conn().execute("SELECT * FROM listings WHERE listing_id = ?", (listing_id,)).fetchone()
        return None if row is None else self._listing(row)

    def list_listings(self) -> list[Listing]:
        return [self._listing(r) for r in self._conn().execute("SELECT * FROM listings")]

    def replace_listing(self, old: Listing, new: Listing) -> bool:
        with self._write() as c:
            cur = c.execute(
                "UPDATE listings SET doc = ? WHERE listing_id = ? AND doc = ?",
                (_dumps(new.snapshot_doc()), old.listing_id, _dumps(old.snapshot_doc())),
            )
        return cur.rowcount == 1

    def delete_listing(self, listing_id: str) -> bool:
        with self._write() as c:
            cur = c.execute("DELETE FROM listings WHERE listing_id = ?", (listing_id,))
            c.execute("DELETE FROM ratings WHERE listing_id = ?", (listing_id,))
            c.execute("DELETE FROM listing_activity WHERE listing_id = ?", (listing_id,))
        return cur.rowcount == 1

    def _activity(self, c: sqlite3.Connection, listing_id: str, day: str, expires_at: int, column: str) -> None:
        c.execute("DELETE FROM listing_activity WHERE expires_at < ?", (expires_at - _PURGE_MARGIN_S,))
        c.execute(
            "INSERT INTO listing_activity (day, listing_id, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (day, listing_id) DO NOTHING",
            (day, listing_id, expires_at),
        )
        c.execute(
            f"UPDATE listing_activity SET {column} = {column} + 1 WHERE day = ? AND listing_id = ?",
            (day, listing_id),
        )

    def add_download(self, listing_id: str, day: str, expires_at: int) -> bool:
        with self._write() as c:
            cur = c.execute("UPDATE listings SET downloads = downloads + 1 WHERE listing_id = ?", (listing_id,))
            if cur.rowcount != 1:
                return False
            self._activity(c, listing_id, day, expires_at, "downloads")
        return True

    def put_rating(self, listing_id: str, tenant_id: str, stars: int, day: str, expires_at: int) -> bool:
        with self._write() as c:
            if c.execute("SELECT 1 FROM listings WHERE listing_id = ?", (listing_id,)).fetchone() is None:
                return False
            old = c.execute(
                "SELECT stars FROM ratings WHERE listing_id = ? AND tenant_id = ?", (listing_id, tenant_id)
            ).fetchone()
            if old is None:
                c.execute(
                    "INSERT INTO ratings (listing_id, tenant_id, stars, updated_at) VALUES (?, ?, ?, ?)",
                    (listing_id, tenant_id, stars, time.time()),
                )
                c.execute(
                    "UPDATE listings SET rating_sum = rating_sum + ?, rating_count = rating_count + 1 "
                    "WHERE listing_id = ?",
                    (stars, listing_id),
                )
                self._activity(c, listing_id, day, expires_at, "ratings")
            else:
                c.execute(
                    "UPDATE ratings SET stars = ?, updated_at = ? WHERE listing_id = ? AND tenant_id = ?",
                    (stars, time.time(), listing_id, tenant_id),
                )
                c.execute(
                    "UPDATE listings SET rating_sum = rating_sum + ? WHERE listing_id = ?",
                    (stars - old["stars"], listing_id),
                )
        return True

    def get_rating(self, listing_id: str, tenant_id: str) -> int | None:
        row = (
            self._conn()
            .execute("SELECT stars FROM ratings WHERE listing_id = ? AND tenant_id = ?", (listing_id, tenant_id))
            .fetchone()
        )
        return None if row is None else int(row["stars"])

    def listing_activity(self, days: list[str]) -> dict[str, ActivityCounts]:
        if not days:
            return {}
        marks = ",".join("?" * len(days))
        rows = self._conn().execute(
            "SELECT listing_id, SUM(downloads) AS d, SUM(ratings) AS r FROM listing_activity "
            f"WHERE day IN ({marks}) GROUP BY listing_id",
            days,
        )
        return {r["listing_id"]: ActivityCounts(downloads=int(r["d"]), ratings=int(r["r"])) for r in rows}
