"""The live track record: each deployed model's pre-race predictions scored race by race.

After a race is ingested, :func:`score_race` takes the tenant's captures of the model for that
race and scores them against the actual result, beside the template's naive baseline on the
same rows, and appends one row to the model's record:

- **live verified** (``kind="live"``): the latest capture of a plain race request (no what-if
  overrides) made *before the race day began* (``captured_at`` < race date 00:00 UTC, which
  is before every Grand Prix start). The version scored is the version that answered.
- **reconstructed** (``kind="reconstructed"``): no live capture exists, so the deployed
  version predicts the race from its point-in-time pre-race feature rows now. Kept in a
  separate file, never labelled live, and never made for a race inside the model's training
  window (that would be an in-sample score).

Per race the record keeps the template's primary metric (``metric``, ``value``), the
baseline's value on the same rows (``baseline``), every metric of both as JSON, and the
cumulative means over the record so far (``cumulative``, ``baseline_cumulative``: mean of the
per-race values, races in calendar order). Files:
``$PITWALL_HOME/monitoring/records/tenant=<t>/model=<m>/{live,reconstructed}.parquet``;
re-scoring a race (re-ingest) replaces its row.

Captured rows are paired with the race's frame rows by position (a race request's rows are
the template frame's rows of that race, in order) and checked entity by entity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store
    from pitwall.monitoring.capture import CaptureSink
    from pitwall.platform.records import ModelRecord

LIVE = "live"
RECONSTRUCTED = "reconstructed"
RECORD_KINDS = (LIVE, RECONSTRUCTED)
RECORD_COLUMNS = (
    "tenant_id",
    "model",
    "version",
    "template",
    "kind",
    "season",
    "round",
    "race_id",
    "race_date",
    "capture_id",
    "captured_at",
    "metric",
    "direction",
    "value",
    "baseline",
    "baseline_name",
    "metrics",
    "baseline_metrics",
    "n_rows",
    "scored_at",
    "cumulative",
    "baseline_cumulative",
)


@dataclass(frozen=True)
class RaceScore:
    """One race of a model's record (see the module doc)."""

    tenant_id: str
    model: str
    version: int
    template: str
    kind: str
    season: int
    round: int
    race_id: str
    race_date: str
    capture_id: str | None
    captured_at: str | None
    metric: str
    direction: str
    value: float | None
    baseline: float | None
    baseline_name: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    n_rows: int
    scored_at: str

    def row(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["metrics"] = json.dumps(self.metrics, sort_keys=True)
        doc["baseline_metrics"] = json.dumps(self.baseline_metrics, sort_keys=True)
        return doc


# --------------------------------------------------------------------------- timing


def race_cutoff(race_date: Any) -> datetime:
    """The moment a prediction stops counting as live: 00:00 UTC of the race day."""
    import pandas as pd

    day = pd.Timestamp(race_date).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def race_date(store: Store, season: int, round_: int) -> Any:
    races = store.read("races", [season])
    row = races[races["round"] == round_]
    if row.empty:
        raise ValueError(f"race {season}-{round_:02d}: not in the store")
    return row["date"].iloc[0]


def live_capture(captures: pd.DataFrame, race_id: str, cutoff: datetime) -> pd.DataFrame:
    """Rows of the latest live-eligible capture for ``race_id`` (empty when none)."""
    from pitwall.platform.clock import iso

    eligible = captures[
        (captures["race_id"] == race_id)
        & (captures["request_kind"] == "race")
        & ~captures["scenario"]
        & (captures["captured_at"] < iso(cutoff))
    ]
    if eligible.empty:
        return eligible
    latest = eligible.sort_values(["captured_at", "capture_id"], kind="mergesort")["capture_id"].iloc[-1]
    return eligible[eligible["capture_id"] == latest].sort_values("row", kind="mergesort").reset_index(drop=True)


# --------------------------------------------------------------------------- scoring


def _clean(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if k not in ("n_races", "k") and isinstance(v, int | float) and math.isfinite(float(v))
    }


def race_rows(
    spec: Any,
    store: Store,
    season: int,
    round_: int,
    frames: dict[Any, Any] | None = None,
    auto_features: Any = None,
) -> pd.DataFrame:
    """The template's frame rows of one race (features, target, baselines, and the columns of the
    model's ``auto_features``), in frame order; ``frames`` caches season frames across the races of
    one scoring run."""
    from pitwall.features import FeatureStore
    from pitwall.templates.predict import template_frame

    key = (spec.name, int(season), repr(auto_features))
    frame = frames.get(key) if frames is not None else None
    if frame is None:
        frame = template_frame(spec, FeatureStore(store), [season], auto_features)
        if frames is not None:
            frames[key] = frame
    return frame[frame["round"] == round_].reset_index(drop=True)


def score_rows(spec: Any, rows: pd.DataFrame, predictions: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """(model metrics, baseline metrics) of one race on the same rows.

    ``predictions`` is aligned with ``rows`` and has the capture's prediction columns
    (``score``/``probability`` for ranking, ``value`` for regression, ``label`` and
    ``probabilities`` JSON for classification).
    """
    import pandas as pd

    from pitwall.ml import metrics as M

    target = spec.target
    if spec.task == "ranking":
        k = spec.top_k if spec.top_k is not None else 3
        df = pd.DataFrame(
            {
                "race_id": rows["race_id"].astype(str).to_numpy(),
                "target": pd.to_numeric(rows[target], errors="coerce").to_numpy(dtype=np.float64),
                "score": predictions["score"].to_numpy(dtype=np.float64),
                "baseline": pd.to_numeric(rows[spec.baseline], errors="coerce").to_numpy(dtype=np.float64),
            }
        )
        prob = None
        if spec.top_k is not None and predictions["probability"].notna().all():
            df["probability"] = predictions["probability"].to_numpy(dtype=np.float64)
            prob = "probability"
        model = M.ranking_metrics(df, "score", "target", "race_id", k=k, prob_col=prob)
        base = M.ranking_metrics(df, "baseline", "target", "race_id", k=k)
        return _clean(model), _clean(base)
    if spec.task == "regression":
        model = M.regression_metrics(rows[target], predictions["value"])
        base = M.regression_metrics(rows[target], rows[spec.baseline])
        return _clean(model), _clean(base)
    known = rows[target].notna().to_numpy()
    truth = rows[target][known].map(_label)
    labels = predictions["label"][known].map(_label)
    probs = [json.loads(s) if isinstance(s, str) else None for s in predictions["probabilities"][known]]
    proba = classes = None
    if probs and all(p is not None for p in probs):
        classes = sorted(probs[0])
        if set(truth) <= set(classes):
            proba = np.array([[float(p[c]) for c in classes] for p in probs])
        else:
            classes = None
    model = M.classification_metrics(truth, labels, proba, classes)
    base = M.classification_metrics(truth, rows[spec.baseline][known].map(_label))
    return _clean(model), _clean(base)


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    return str(value)


def capture_predictions(capture: pd.DataFrame, rows: pd.DataFrame, entity_col: str) -> pd.DataFrame | None:
    """The capture's prediction columns aligned with ``rows``; None if they do not pair up."""
    if len(capture) != len(rows):
        return None
    if entity_col in rows.columns:
        ours = [
            None if v is None else str(v)
            for v in capture["entity"].astype(object).where(capture["entity"].notna(), None)
        ]
        theirs = [str(v) for v in rows[entity_col].tolist()]
        if ours != theirs:
            return None
    if not capture["paired"].all():
        return None
    return capture[["score", "probability", "value", "label", "probabilities"]].reset_index(drop=True)


def reconstructed_predictions(model: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """What the model answers for the race's pre-race rows, in the capture's columns."""
    import pandas as pd

    out = model.predict_frame(rows).reset_index(drop=True)
    n = len(out)
    preds = pd.DataFrame(
        {
            "score": np.full(n, np.nan),
            "probability": np.full(n, np.nan),
            "value": np.full(n, np.nan),
            "label": [None] * n,
            "probabilities": [None] * n,
        }
    )
    if model.task == "ranking":
        preds["score"] = out["score"].to_numpy(dtype=np.float64)
        if "probability" in out:
            preds["probability"] = out["probability"].to_numpy(dtype=np.float64)
    elif model.task == "regression":
        preds["value"] = out["prediction"].to_numpy(dtype=np.float64)
    else:
        cols = [c for c in out.columns if str(c).startswith("proba_")]
        preds["label"] = [str(v) for v in out["prediction"]]
        preds["probabilities"] = [
            json.dumps({c.removeprefix("proba_"): float(out[c].iloc[i]) for c in cols}, sort_keys=True)
            for i in range(n)
        ]
    return preds


def in_training_window(record: ModelRecord, season: int, round_: int) -> bool:
    last = str((record.data_window or {}).get("last_race", ""))
    head, _, tail = last.partition("-")
    if not (head.isdigit() and tail.isdigit()):
        return True  # unknown window: never reconstruct (it could be in-sample)
    return (season, round_) <= (int(head), int(tail))


def score_race(
    tenant_id: str,
    model_name: str,
    season: int,
    round_: int,
    *,
    store: Store,
    sink: CaptureSink,
    reconstruct: bool = True,
    now: datetime | None = None,
    frames: dict[Any, Any] | None = None,
    captures: pd.DataFrame | None = None,
) -> RaceScore | None:
    """Score the model on one ingested race and append it to its record (None: nothing to score)."""
    from pitwall.ml.metrics import direction
    from pitwall.monitoring.capture import read_captures
    from pitwall.monitoring.drift import deployed_or_version, load_record_model
    from pitwall.platform.clock import iso, utc_now
    from pitwall.platform.models import get_model
    from pitwall.templates import get_template

    race_id = f"{season}-{round_:02d}"
    date = race_date(store, season, round_)
    if captures is None:  # one deployment's captures, read once per scoring run by score_races
        captures = read_captures(sink, tenant_id, model_name, race_id=race_id)
    capture = live_capture(captures, race_id, race_cutoff(date))
    if not capture.empty:
        version = int(capture["version"].iloc[0])
        record = get_model(tenant_id, model_name, version)
        spec = get_template(record.template)
        rows = race_rows(spec, store, season, round_, frames)
        predictions = capture_predictions(capture, rows, spec.entity_col)
        kind = LIVE
        capture_id, captured_at = str(capture["capture_id"].iloc[0]), str(capture["captured_at"].iloc[0])
        if predictions is None:
            return None
    else:
        if not reconstruct:
            return None
        record = deployed_or_version(tenant_id, model_name)
        if record.deployed_version is None or in_training_window(record, season, round_):
            return None
        spec = get_template(record.template)
        model = load_record_model(record)
        rows = race_rows(spec, store, season, round_, frames, getattr(model, "auto_features", None))
        if rows.empty:
            return None
        predictions = reconstructed_predictions(model, rows)
        kind, capture_id, captured_at = RECONSTRUCTED, None, None
    labelled = rows[spec.target].notna().to_numpy() if spec.task != "ranking" else np.ones(len(rows), dtype=bool)
    if not labelled.any():
        return None
    metrics, baseline = score_rows(
        spec, rows[labelled].reset_index(drop=True), predictions[labelled].reset_index(drop=True)
    )
    metric = spec.primary_metric
    score = RaceScore(
        tenant_id=tenant_id,
        model=model_name,
        version=record.version,
        template=spec.name,
        kind=kind,
        season=season,
        round=round_,
        race_id=race_id,
        race_date=str(date)[:10],
        capture_id=capture_id,
        captured_at=captured_at,
        metric=metric,
        direction=direction(metric),
        value=metrics.get(metric),
        baseline=baseline.get(metric),
        baseline_name=spec.baselines[0].name,
        metrics=metrics,
        baseline_metrics=baseline,
        n_rows=int(labelled.sum()),
        scored_at=iso(now or utc_now()),
    )
    append_score(score)
    return score


# --------------------------------------------------------------------------- storage


def record_path(tenant_id: str, model: str, kind: str) -> Path:
    from pitwall.monitoring.settings import scoped_dir

    if kind not in RECORD_KINDS:
        raise ValueError(f"kind must be one of {RECORD_KINDS}; got {kind!r}")
    return scoped_dir("records", tenant_id, model) / f"{kind}.parquet"


def _with_cumulative(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["season", "round"], kind="mergesort").reset_index(drop=True)
    df["cumulative"] = df["value"].astype("float64").expanding().mean()
    df["baseline_cumulative"] = df["baseline"].astype("float64").expanding().mean()
    return df


def append_score(score: RaceScore) -> pd.DataFrame:
    """Add (or replace) the race's row in the model's record; recompute the cumulative columns."""
    import pandas as pd

    path = record_path(score.tenant_id, score.model, score.kind)
    current = read_record(score.tenant_id, score.model, score.kind)
    current = current[~((current["season"] == score.season) & (current["round"] == score.round))]
    new = pd.DataFrame([score.row()])
    kept = current.drop(columns=["cumulative", "baseline_cumulative"])
    df = _with_cumulative(new if kept.empty else pd.concat([kept, new], ignore_index=True))
    df = df.reindex(columns=list(RECORD_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    if score.kind == LIVE:  # a live score supersedes a reconstruction of the same race
        _drop_race(score.tenant_id, score.model, RECONSTRUCTED, score.season, score.round)
    return df


def _drop_race(tenant_id: str, model: str, kind: str, season: int, round_: int) -> None:
    path = record_path(tenant_id, model, kind)
    if not path.is_file():
        return
    df = read_record(tenant_id, model, kind)
    keep = df[~((df["season"] == season) & (df["round"] == round_))]
    if len(keep) != len(df):
        keep = _with_cumulative(keep.drop(columns=["cumulative", "baseline_cumulative"]))
        keep.reindex(columns=list(RECORD_COLUMNS)).to_parquet(path, index=False)


def read_record(tenant_id: str, model: str, kind: str = LIVE) -> pd.DataFrame:
    """The tenant's record of a model (``live`` or ``reconstructed``), races in calendar order."""
    import pandas as pd

    path = record_path(tenant_id, model, kind)
    if not path.is_file():
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    return pd.read_parquet(path).sort_values(["season", "round"], kind="mergesort").reset_index(drop=True)


def record_summary(tenant_id: str, model: str) -> dict[str, Any]:
    """The record as JSON: live verified races (and their cumulative metric vs the baseline)
    and, separately, reconstructed ones."""
    out: dict[str, Any] = {"tenant_id": tenant_id, "model": model}
    for kind in RECORD_KINDS:
        df = read_record(tenant_id, model, kind)
        races = [
            {
                "race_id": r["race_id"],
                "version": int(r["version"]),
                "metric": r["metric"],
                "direction": r["direction"],
                "value": _f(r["value"]),
                "baseline": _f(r["baseline"]),
                "cumulative": _f(r["cumulative"]),
                "baseline_cumulative": _f(r["baseline_cumulative"]),
                "captured_at": r["captured_at"],
            }
            for _, r in df.iterrows()
        ]
        last = races[-1] if races else None
        out[kind] = {
            "label": "live verified" if kind == LIVE else "reconstructed (not live)",
            "races": races,
            "n_races": len(races),
            "metric": None if last is None else last["metric"],
            "cumulative": None if last is None else last["cumulative"],
            "baseline_cumulative": None if last is None else last["baseline_cumulative"],
        }
    return out


def _f(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def score_races(
    races: Iterable[tuple[int, int]],
    deployments: Sequence[tuple[str, str]],
    *,
    store: Store,
    sink: CaptureSink,
    reconstruct: bool = True,
) -> list[RaceScore]:
    """:func:`score_race` for every (deployment, race); one failing deployment never stops the others."""
    import logging

    from pitwall.monitoring.capture import read_captures

    log = logging.getLogger(__name__)
    races = list(races)
    out: list[RaceScore] = []
    frames: dict[Any, Any] = {}
    for tenant_id, model in deployments:
        try:
            captures = read_captures(sink, tenant_id, model)
        except Exception:  # noqa: BLE001
            log.exception("reading the captures of %s/%s failed", tenant_id, model)
            continue
        for season, round_ in races:
            try:
                score = score_race(
                    tenant_id, model, int(season), int(round_), store=store, sink=sink, reconstruct=reconstruct,
                    frames=frames, captures=captures,
                )  # fmt: skip
            except Exception:  # noqa: BLE001
                log.exception("scoring %s/%s on %s-%02d failed", tenant_id, model, season, round_)
                continue
            if score is not None:
                out.append(score)
    return out
