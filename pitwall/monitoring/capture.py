"""Data capture: every sampled prediction request of a deployed model, as it was answered.

A capture is one parquet row per predicted row (a race request is one row per driver) with
the model, version, tenant, the request's feature values *as the model used them* (after the
caller's overrides), the prediction and the time. Columns (:data:`CAPTURE_COLUMNS`):

``capture_id`` (one per request), ``tenant_id``, ``model``, ``version``, ``template``,
``captured_at`` (ISO-8601 UTC), ``request_kind`` (``race`` | ``instances``), ``scenario``
(true when the caller overrode features, e.g. a what-if grid: never scored as a forecast),
``race_id``, ``season``, ``round``, ``row``, ``entity`` (driver id), ``features`` (JSON object
feature -> value or null), ``rank``, ``score``, ``probability``, ``value``, ``label``,
``probabilities`` (JSON), ``paired`` (false when a ranking row could not be matched to its
input row; the features are then kept without a prediction).

Where captures go is a :class:`CaptureSink`: :class:`LocalCaptureSink` writes parquet under
``$PITWALL_HOME/monitoring/captures/tenant=<t>/model=<m>/date=<YYYY-MM-DD>/<capture_id>.parquet``
(one request, or a batch of requests named after its first, from the background writer);
:class:`pitwall.monitoring.capture_aws.S3CaptureSink` writes the same keys to S3. Reading
always names one tenant: there is no call that reads across tenants.

Which requests are captured is a per-deployment sampling rate
(:class:`pitwall.monitoring.settings.MonitoringSettings.capture_percent`), decided by a
:class:`Sampler` before any work is done. :class:`CapturingServing` wraps a serving backend
(``pitwall.serving.deploy.ServingBackend``) so that every answered request is offered to the
capture path; a failure to capture is logged and never fails the request.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pitwall.monitoring.settings import MonitoringSettings, get_settings, monitoring_home
from pitwall.platform import validation
from pitwall.platform.clock import as_utc, iso, utc_now

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

CAPTURE_COLUMNS = (
    "capture_id",
    "tenant_id",
    "model",
    "version",
    "template",
    "captured_at",
    "request_kind",
    "scenario",
    "race_id",
    "season",
    "round",
    "row",
    "entity",
    "features",
    "rank",
    "score",
    "probability",
    "value",
    "label",
    "probabilities",
    "paired",
)

Clock = Callable[[], datetime]
MAX_QUEUED_CAPTURES = 10_000  # beyond this the request thread waits for the writer (back-pressure)
MAX_BATCH = 500  # requests per file written by the background writer
BATCH_WAIT_S = 1.0  # the writer gathers requests this long before writing them
SETTINGS_TTL_S = 60.0  # settings kept in S3 are re-read at most this often by a serving process


# --------------------------------------------------------------------------- what one request produced


@dataclass(frozen=True)
class FeatureRows:
    """The model inputs of one request: the feature names, a float matrix (rows x features,
    NaN where a value is missing), and each row's race and entity. Kept as the matrix the
    model used; the JSON of each row is built by the writer, off the request thread."""

    features: tuple[str, ...]
    X: Any  # numpy float64 array, rows x features
    races: list[str | None]
    entities: list[str | None]

    def __len__(self) -> int:
        return len(self.races)

    def json_rows(self) -> list[str]:
        """Each row as a JSON object feature -> value (null for missing or non-finite)."""
        import numpy as np
        from pydantic_core import to_json

        X = self.X
        cells = X.astype(object)
        cells[~np.isfinite(X)] = None
        return [to_json(dict(zip(self.features, row, strict=True))).decode() for row in cells.tolist()]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def finite_floats(values: Sequence[Any]) -> pa.Array:
    """``values`` as an Arrow float64 array, null where a value is missing, not a number or not
    finite (:func:`_num`'s rule; a batch of plain numbers is converted in one call)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values, type=pa.float64(), from_pandas=True)  # from_pandas: NaN -> null
    except (TypeError, ValueError, pa.ArrowException):  # a value that is not a number
        return pa.array([_num(v) for v in values], type=pa.float64())
    return pc.if_else(pc.is_finite(array), array, pa.scalar(None, pa.float64()))


def matrix_rows(features: Sequence[str], X: Any, races: Sequence[Any], entities: Sequence[Any]) -> FeatureRows:
    """:class:`FeatureRows` from a feature matrix (rows x ``features``: an array or nested
    lists; a cell that is not a number is kept as missing)."""
    import numpy as np

    try:
        matrix = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = np.array([[_num(v) for v in row] for row in X], dtype=np.float64)
    matrix = matrix.reshape(len(races), len(features))
    return FeatureRows(
        tuple(features),
        matrix,
        [None if r is None else str(r) for r in races],
        [None if e is None else str(e) for e in entities],
    )


def _race_key(race_id: str | None) -> tuple[int | None, int | None]:
    """``"2024-08"`` -> (2024, 8); anything else -> (None, None)."""
    if not race_id:
        return None, None
    head, _, tail = str(race_id).partition("-")
    if head.isdigit() and tail.isdigit():
        return int(head), int(tail)
    return None, None


def capture_frame(**request: Any) -> pd.DataFrame:
    """The capture rows of one answered request as a frame (arguments of :func:`capture_table`'s jobs)."""
    return normalise(capture_table([request]).to_pandas())


@functools.cache
def capture_schema() -> pa.Schema:
    """The Arrow schema of capture files (the dtypes :func:`normalise` gives a read-back frame)."""
    import pyarrow as pa

    ints = ("version", "season", "round", "row", "rank")
    floats = ("score", "probability", "value")
    bools = ("scenario", "paired")
    return pa.schema(
        [
            (c, pa.int64() if c in ints else pa.float64() if c in floats else pa.bool_() if c in bools else pa.string())
            for c in CAPTURE_COLUMNS
        ]
    )


def capture_table(jobs: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The capture rows of answered requests, one Arrow table (see the module doc for the
    columns). Each job holds :func:`capture_columns`' arguments."""
    import pyarrow as pa

    columns: dict[str, Any] = {c: [] for c in CAPTURE_COLUMNS}
    for job in jobs:
        capture_columns(columns, **job)
    for name in ("score", "probability", "value"):
        columns[name] = finite_floats(columns[name])
    return pa.Table.from_pydict(columns, schema=capture_schema())


def capture_columns(
    columns: dict[str, list[Any]],
    *,
    tenant_id: str,
    model: str,
    version: int,
    template: str,
    payload: Mapping[str, Any],
    answer: Mapping[str, Any],
    features: FeatureRows,
    captured_at: datetime,
    capture_id: str | None = None,
) -> None:
    """Append one answered request's capture rows to ``columns`` (column name -> values; the
    numbers of ``score``, ``probability`` and ``value`` as answered: :func:`capture_table`
    converts them for the whole batch with :func:`finite_floats`)."""
    n = len(features)
    capture_id = capture_id or uuid.uuid4().hex
    kind = "race" if "race" in payload else "instances"
    scenario = bool(payload.get("grid_positions")) or payload.get("weather") is not None
    answer_race = (answer.get("race") or {}).get("race_id") if isinstance(answer.get("race"), Mapping) else None
    predictions = list(answer.get("predictions") or [])
    # pair each input row with its answer row: ranking answers are re-ordered best first, so
    # they pair by (race, driver); other answers keep the input order
    if answer.get("kind") == "ranking":
        by_key: dict[tuple[str | None, str | None], Mapping[str, Any]] = {}
        for p in predictions:
            by_key.setdefault((p.get("race_id"), p.get("driver_id")), p)
        unique = len(by_key) == len(predictions) and all(k[1] is not None for k in by_key)
        paired = [by_key.get(key) if unique else None for key in zip(features.races, features.entities, strict=True)]
    else:
        paired = [predictions[i] if i < len(predictions) else None for i in range(n)]
    races = [answer_race] * n if answer_race else features.races
    parsed = {race: _race_key(race) for race in set(races)}  # a request names one race, or a few
    keys = [parsed[race] for race in races]
    preds = [p or {} for p in paired]
    for name, value in (
        ("capture_id", capture_id),
        ("tenant_id", tenant_id),
        ("model", model),
        ("version", int(version)),
        ("template", template),
        ("captured_at", iso(captured_at)),
        ("request_kind", kind),
        ("scenario", scenario),
    ):
        columns[name].extend([value] * n)
    columns["race_id"].extend(races)
    columns["season"].extend(k[0] for k in keys)
    columns["round"].extend(k[1] for k in keys)
    columns["row"].extend(range(n))
    columns["entity"].extend(features.entities)
    columns["features"].extend(features.json_rows())
    columns["rank"].extend(None if p.get("rank") is None else int(p["rank"]) for p in preds)
    for name in ("score", "probability", "value"):  # as given: finite_floats converts a batch
        columns[name].extend([p.get(name) for p in preds])
    columns["label"].extend(None if p.get("label") is None else str(p["label"]) for p in preds)
    columns["probabilities"].extend(
        None if p.get("probabilities") is None else json.dumps(p["probabilities"], sort_keys=True) for p in preds
    )
    columns["paired"].extend(p is not None for p in paired)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Capture frames with stable dtypes (files written by different requests concatenate)."""
    import pandas as pd

    df = df.reindex(columns=list(CAPTURE_COLUMNS))
    for col in ("version", "season", "round", "row", "rank"):
        df[col] = pd.array(df[col], dtype="Int64")
    for col in ("score", "probability", "value"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("scenario", "paired"):
        df[col] = df[col].astype("bool")
    for col in (
        "capture_id", "tenant_id", "model", "template", "captured_at", "request_kind",
        "race_id", "entity", "features", "label", "probabilities",
    ):  # fmt: skip
        df[col] = df[col].astype("string")
    return df


def decode_features(captures: pd.DataFrame) -> pd.DataFrame:
    """The ``features`` JSON column as one float column per feature (index = the captures')."""
    import pandas as pd

    decoded = [json.loads(s) if isinstance(s, str) else {} for s in captures["features"].tolist()]
    frame = pd.DataFrame.from_records(decoded, index=captures.index)
    return frame.apply(pd.to_numeric, errors="coerce").astype("float64")


# --------------------------------------------------------------------------- sinks


class CaptureSink(Protocol):
    """Where capture rows are kept. Every call is scoped to one tenant and model."""

    def write(self, tenant_id: str, model: str, table: pa.Table) -> str:
        """Store a batch of capture rows (:func:`capture_table`); returns where (path or URI)."""
        ...

    def read(self, tenant_id: str, model: str) -> pd.DataFrame:
        """Every capture row of the tenant's model (empty frame with the columns when none)."""
        ...

    def deployments(self) -> list[tuple[str, str]]:
        """(tenant, model) pairs with captures: for the monitoring job only, never for a tenant."""
        ...


def _check_scope(tenant_id: str, model: str, table: pa.Table) -> str:
    validation.identifier(tenant_id, "tenant_id")
    validation.identifier(model, "model")
    if table.num_rows == 0:
        raise ValueError("capture table has no rows")
    import pyarrow.compute as pc

    if pc.unique(table["tenant_id"]).to_pylist() != [tenant_id] or pc.unique(table["model"]).to_pylist() != [model]:
        raise ValueError(f"capture rows must all belong to tenant {tenant_id!r}, model {model!r}")
    return str(table["captured_at"][0].as_py())[:10]


def capture_key(tenant_id: str, model: str, day: str, capture_id: str) -> str:
    """The relative key of one request's file (the same locally and in S3)."""
    return f"tenant={tenant_id}/model={model}/date={day}/{capture_id}.parquet"


def empty_captures() -> pd.DataFrame:
    import pandas as pd

    return normalise(pd.DataFrame(columns=list(CAPTURE_COLUMNS)))


def table_to_parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)  # built by capture_table, in capture_schema()
    return buf.getvalue()


def concat_captures(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    if not frames:
        return empty_captures()
    df = normalise(pd.concat([normalise(f) for f in frames], ignore_index=True))
    return df.sort_values(["captured_at", "capture_id", "row"], kind="mergesort").reset_index(drop=True)


class LocalCaptureSink:
    """Parquet files under ``$PITWALL_HOME/monitoring/captures`` (or ``root``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self._root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else monitoring_home() / "captures"

    def write(self, tenant_id: str, model: str, table: pa.Table) -> str:
        day = _check_scope(tenant_id, model, table)
        path = self.root / capture_key(tenant_id, model, day, str(table["capture_id"][0].as_py()))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(table_to_parquet(table))
        tmp.replace(path)
        return str(path)

    def read(self, tenant_id: str, model: str) -> pd.DataFrame:
        import pandas as pd

        folder = self.root / f"tenant={validation.identifier(tenant_id, 'tenant_id')}"
        folder = folder / f"model={validation.identifier(model, 'model')}"
        files = sorted(folder.glob("date=*/*.parquet")) if folder.is_dir() else []
        return concat_captures([pd.read_parquet(f) for f in files])

    def deployments(self) -> list[tuple[str, str]]:
        if not self.root.is_dir():
            return []
        return sorted(
            (t.name.removeprefix("tenant="), m.name.removeprefix("model="))
            for t in self.root.glob("tenant=*")
            for m in t.glob("model=*")
        )


# --------------------------------------------------------------------------- sampling and the recorder


class Sampler:
    """Bernoulli sampling of requests (seeded for tests); thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def keep(self, rate: float) -> bool:
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate


class CachedSettings:
    """:func:`~pitwall.monitoring.settings.get_settings` re-read only when the settings file
    changed (one ``stat`` per request instead of a JSON read); with the settings in S3
    (``PITWALL_MONITORING_BUCKET``: an endpoint container) at most once per ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = SETTINGS_TTL_S) -> None:
        self._lock = threading.Lock()
        self._ttl_s = ttl_s
        self._items: dict[tuple[str, str], tuple[object, MonitoringSettings]] = {}
        self._paths: dict[tuple[str | None, str, str], Path] = {}  # (PITWALL_HOME, tenant, model) -> file

    def __call__(self, tenant_id: str, model: str) -> MonitoringSettings:
        import os

        from pitwall.monitoring.settings import settings_path
        from pitwall.monitoring.state_aws import BUCKET_ENV as STATE_BUCKET_ENV

        stamp: object
        key = (tenant_id, model)
        if os.environ.get(STATE_BUCKET_ENV):
            stamp = ("s3", int(time.monotonic() // self._ttl_s))
        else:
            home = os.environ.get("PITWALL_HOME")
            path = self._paths.get((home, *key))
            if path is None:
                path = self._paths.setdefault((home, *key), settings_path(tenant_id, model))
            try:
                stamp = path.stat().st_mtime_ns
            except FileNotFoundError:
                stamp = None
        with self._lock:
            found = self._items.get(key)
        if found is not None and found[0] == stamp:
            return found[1]
        settings = get_settings(tenant_id, model)
        with self._lock:
            self._items[key] = (stamp, settings)
        return settings


class CaptureRecorder:
    """Decides (sampling) and writes captures for deployed models.

    ``background=True`` (what the serving hooks use): the request thread only samples, takes
    the time and queues the request; a daemon thread builds the rows and writes them, so a
    capture costs the request microseconds, not a parquet write. :meth:`flush` waits for the
    queue (called at exit). ``background=False`` writes before returning (tests, jobs).
    """

    def __init__(
        self,
        sink: CaptureSink | None = None,
        *,
        sampler: Sampler | None = None,
        settings: Callable[[str, str], MonitoringSettings] | None = None,
        clock: Clock = utc_now,
        background: bool = False,
    ) -> None:
        self.sink: CaptureSink = sink if sink is not None else LocalCaptureSink()
        self.sampler = sampler or Sampler()
        self.settings = settings or CachedSettings()
        self.clock = clock
        self.background = background
        self._queue: queue.Queue[dict[str, Any]] | None = None
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.failures = 0

    def sampled(self, tenant_id: str, model: str) -> bool:
        """Whether this request is captured (call before computing anything for it)."""
        return self.sampler.keep(self.settings(tenant_id, model).capture_rate)

    def record(
        self,
        *,
        tenant_id: str,
        model: str,
        version: int,
        template: str,
        payload: Mapping[str, Any],
        answer: Mapping[str, Any],
        features: FeatureRows,
    ) -> str | None:
        """Capture one (already sampled) request; returns its capture id (None: nothing to capture)."""
        if not len(features):
            return None
        job = {
            "tenant_id": tenant_id,
            "model": model,
            "version": version,
            "template": template,
            "payload": payload,
            "answer": answer,
            "features": features,
            "captured_at": as_utc(self.clock()),
            "capture_id": uuid.uuid4().hex,
        }
        if self.background:
            self._ensure_worker().put(job)
        else:
            self._write(job)
        return str(job["capture_id"])

    def _write(self, job: dict[str, Any]) -> None:
        self._write_batch([job])

    def _write_batch(self, jobs: list[dict[str, Any]]) -> None:
        """One parquet file per (tenant, model, day) of ``jobs`` (the background writer batches)."""
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for job in jobs:
            key = (job["tenant_id"], job["model"], iso(job["captured_at"])[:10])
            groups.setdefault(key, []).append(job)
        for (tenant_id, model, _day), group in groups.items():
            self.sink.write(tenant_id, model, capture_table(group))

    def _ensure_worker(self) -> queue.Queue[dict[str, Any]]:
        with self._start_lock:
            if self._queue is None:
                import atexit

                self._queue = queue.Queue(maxsize=MAX_QUEUED_CAPTURES)
                self._worker = threading.Thread(target=self._run, name="pitwall-capture", daemon=True)
                self._worker.start()
                atexit.register(self.flush)
            return self._queue

    def _run(self) -> None:
        assert self._queue is not None
        while True:
            jobs = [self._queue.get()]
            time.sleep(BATCH_WAIT_S)  # let a batch gather: one write per second, not one per request
            while len(jobs) < MAX_BATCH:  # whatever else is already waiting goes in the same file
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write_batch(jobs)
            except Exception:  # noqa: BLE001 - a failed write is counted and logged, serving goes on
                self.failures += len(jobs)
                log.exception("writing %d capture(s) failed", len(jobs))
            finally:
                for _ in jobs:
                    self._queue.task_done()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued capture is written (True) or ``timeout`` seconds pass (False)."""
        if self._queue is None:
            return True
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


def read_captures(
    sink: CaptureSink,
    tenant_id: str,
    model: str,
    *,
    version: int | None = None,
    race_id: str | None = None,
    since: datetime | None = None,
) -> pd.DataFrame:
    """One tenant's captures of one model, optionally one version / race / from a time on."""
    df = sink.read(tenant_id, model)
    if version is not None:
        df = df[df["version"] == int(version)]
    if race_id is not None:
        df = df[df["race_id"] == race_id]
    if since is not None:
        df = df[df["captured_at"] >= iso(since)]
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- the serving wrapper


def request_features(inner: Any, record: Any, payload: Mapping[str, Any]) -> FeatureRows | None:
    """The features a request used, for a serving backend: in-process backends (with a
    predictor ``cache`` and an ``InProcessServing``) rebuild them exactly; a remote endpoint
    only knows explicit instances. ``None`` when they cannot be known here."""
    cache = getattr(inner, "cache", None)
    if cache is not None:
        return features_of_request(cache.get(record), getattr(inner, "serving", None), payload)
    if "instances" in payload:
        from pitwall.serving.invocation import INSTANCES_RACE_ID

        features = list(record.features)
        rows = payload["instances"]
        X = [[r.get(f) for f in features] for r in rows]
        groups = [r.get("race_id") or INSTANCES_RACE_ID for r in rows]
        return matrix_rows(features, X, groups, [r.get("driver_id") for r in rows])
    return None


def features_of_request(predictor: Any, serving: Any, payload: Mapping[str, Any]) -> FeatureRows | None:
    """The model inputs of a race or instances request, built the way
    :mod:`pitwall.serving.invocation` builds them (cached race inputs, the caller's overrides,
    explicit instances). ``serving`` is an ``InProcessServing`` (catalog + frame cache); the
    SageMaker inference container has one too and can call this after ``invoke``."""
    from pitwall.serving import invocation as inv

    if "instances" in payload:
        X, groups, entities = inv.answered_instances_matrix(predictor, payload["instances"])
        return matrix_rows(predictor.features, X, groups, entities)
    if "race" in payload and serving is not None:
        race = serving.catalog.resolve(payload["race"])
        if payload.get("grid_positions") or payload.get("weather") is not None:
            grid, weather = payload.get("grid_positions"), payload.get("weather")
            inputs = inv.race_inputs(predictor, inv.race_frame(predictor, serving.frames, race, grid, weather))
        elif inv.at_a_moment(payload, serving.catalog, race):
            inputs = inv.race_inputs(predictor, serving.frames.race_at(predictor, race, payload.get("moment")).frame)
        else:
            inputs = serving.frames.inputs(predictor, race.season, race.round)
        return matrix_rows(predictor.features, inputs.X, inputs.groups, inputs.entities)
    return None


class CapturingServing:
    """A serving backend that captures what the wrapped backend answers (same interface).

    ``DeploymentService(CapturingServing(LocalServing()))`` serves exactly as before; each
    request is sampled at the deployment's rate and, when kept, its features and answer are
    written to the recorder's sink.
    """

    def __init__(self, inner: Any, recorder: CaptureRecorder | None = None) -> None:
        self.inner = inner
        self.recorder = recorder or CaptureRecorder()
        self.name = inner.name

    def __getattr__(self, item: str) -> Any:  # prepare/commit/rollback/remove/endpoint/cache/serving
        return getattr(self.inner, item)

    def invoke(self, record: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.inner.invoke(record, payload)
        capture_answer(self.recorder, self.inner, record, payload, answer)
        return answer


def capture_answer(
    recorder: CaptureRecorder, inner: Any, record: Any, payload: Mapping[str, Any], answer: Mapping[str, Any]
) -> str | None:
    """Sample and capture one answered request; never raises (a capture must not fail a request)."""
    return _capture(recorder, record, lambda: request_features(inner, record, payload), payload, answer)


def capture_predictor_answer(
    recorder: CaptureRecorder, predictor: Any, serving: Any, payload: Mapping[str, Any], answer: Mapping[str, Any]
) -> str | None:
    """Sample and capture one request answered in-process by ``predictor`` with ``serving``
    (an ``InProcessServing``): the hook for the SageMaker inference container, which has
    both after ``invoke``. Never raises."""
    return _capture(recorder, predictor, lambda: features_of_request(predictor, serving, payload), payload, answer)


def _capture(
    recorder: CaptureRecorder,
    source: Any,
    features_of: Any,
    payload: Mapping[str, Any],
    answer: Mapping[str, Any],
) -> str | None:
    """The one capture rule: championship forecasts are not captured; a sampled request is
    recorded with the features it used. ``source`` names the model (``tenant_id``, ``name``,
    ``version``, ``template``): a deployment record or a predictor."""
    try:
        if "championship" in payload or not recorder.sampled(source.tenant_id, source.name):
            return None
        features = features_of()
        if features is None:
            return None
        return recorder.record(
            tenant_id=source.tenant_id,
            model=source.name,
            version=source.version,
            template=source.template,
            payload=payload,
            answer=answer,
            features=features,
        )
    except Exception:  # noqa: BLE001 - monitoring never breaks serving
        log.exception("capture of a %s/%s request failed", source.tenant_id, source.name)
        return None


def environment_sink() -> CaptureSink:
    """S3 when ``PITWALL_CAPTURE_BUCKET`` is set (``PITWALL_CAPTURE_PREFIX``, default ``captures``),
    else the local parquet folder."""
    import os

    from pitwall.monitoring.capture_aws import BUCKET_ENV, S3CaptureSink

    return S3CaptureSink.from_env() if os.environ.get(BUCKET_ENV) else LocalCaptureSink()


def capturing(inner: Any) -> CapturingServing:
    """``inner`` (a serving backend) wrapped for data capture into :func:`environment_sink`."""
    if isinstance(inner, CapturingServing):
        return inner
    return CapturingServing(inner, CaptureRecorder(environment_sink(), background=True))
