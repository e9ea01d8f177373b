"""Drift of a deployed model: served feature distributions vs the model's training window.

For every feature the model uses: the population stability index (PSI, decile bins of the
training values), the two-sample Kolmogorov-Smirnov statistic and its p-value, and the
missing rate on both sides; the same for the model's output (prediction distribution
shift). The served side is the tenant's captures of the deployed version
(:mod:`pitwall.monitoring.capture`); the training side is the template's frame over the
seasons the model was trained on, with the model's own predictions on it (computed once per
model version and kept under ``monitoring/profiles``).

PSI = sum over bins of (served share - training share) * ln(served share / training share),
empty bins floored at :data:`PSI_EPSILON`; missing values are left out of PSI and KS and
reported as the missing rate. Bins come from the training values:

- at most :data:`LOOKUP_MAX_VALUES` distinct whole numbers (positions, counts, flags): one
  bin per value, plus one for served values never seen in training;
- at most :data:`LOOKUP_MAX_VALUES` distinct other values (a lookup, e.g. a rate per grid
  slot or per circuit recomputed each season): values closer than :data:`LOOKUP_GAP` of the
  training 10-90 % range are one bin (:func:`value_clusters`) and a served value counts in
  the nearest bin, so a rate that moved from 0.0080 to 0.0087 between seasons is not a shift;
- otherwise deciles, with edges between neighbouring distinct values (:func:`decile_edges`).

Conventional reading of PSI: < 0.1 stable, 0.1-0.2 moderate, > 0.2 significant shift (the
default alert threshold, :mod:`pitwall.monitoring.settings`). A top feature also counts as
drifted when its served missing rate exceeds the training one by more than
``missing_threshold`` (a feature the serving side can no longer fill in).

No verdict (status ``insufficient_data``, no drifted feature, hence no drift alert) before the served
side holds ``min_served_rows`` rows from ``min_served_requests`` requests
(:mod:`pitwall.monitoring.settings`); the report's ``note`` then says how much is missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pitwall.monitoring.settings import DEFAULT_MIN_SERVED_REQUESTS

if TYPE_CHECKING:
    import pandas as pd

    from pitwall.data.store import Store
    from pitwall.monitoring.capture import CaptureSink
    from pitwall.platform.records import ModelRecord

PSI_BINS = 10
PSI_EPSILON = 1e-4
LOOKUP_MAX_VALUES = 60
LOOKUP_GAP = 0.1
PREDICTION = "prediction"


# --------------------------------------------------------------------------- statistics


def _finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[np.isfinite(arr)]


def missing_rate(values: Any) -> float:
    """Share of values that are null/NaN (0.0 for no values)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    return float(np.mean(~np.isfinite(arr))) if arr.size else 0.0


def psi_from_shares(expected: Sequence[float], actual: Sequence[float], eps: float = PSI_EPSILON) -> float:
    """PSI of two bin-share vectors (each summing to 1); empty bins floored at ``eps``."""
    e = np.clip(np.asarray(expected, dtype=np.float64), eps, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def value_clusters(distinct: np.ndarray, tolerance: float) -> list[tuple[float, float]]:
    """Groups of nearly equal distinct values: a new group starts where the gap to the previous
    value exceeds ``tolerance``."""
    groups: list[list[float]] = [[float(distinct[0])]]
    for v in distinct[1:].tolist():
        if v - groups[-1][-1] > tolerance:
            groups.append([v])
        else:
            groups[-1].append(v)
    return [(g[0], g[-1]) for g in groups]


def lookup_tolerance(sample: np.ndarray) -> float:
    """:data:`LOOKUP_GAP` of the sample's 10-90 % range (of its full range if that is 0)."""
    lo, hi = np.quantile(sample, [0.1, 0.9])
    spread = float(hi - lo) or float(np.ptp(sample))
    return LOOKUP_GAP * spread


def nearest_cluster(clusters: list[tuple[float, float]], values: np.ndarray) -> np.ndarray:
    """Index of the cluster whose [low, high] interval is nearest to each value."""
    lows = np.array([c[0] for c in clusters])
    highs = np.array([c[1] for c in clusters])
    distance = np.maximum(lows[None, :] - values[:, None], 0.0) + np.maximum(values[:, None] - highs[None, :], 0.0)
    return np.argmin(distance, axis=1)


def decile_edges(sample: np.ndarray, distinct: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges near the sample's quantiles, each moved to the midpoint between two
    neighbouring distinct sample values: a point mass (a rate shared by every driver on a grid
    slot) then sits inside a bin, so a slightly different served value lands in the same bin
    instead of flipping across an edge."""
    quantiles = np.quantile(sample, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    index = np.searchsorted(distinct, quantiles, side="left")
    index = index[(index > 0) & (index < distinct.size)]
    return np.unique((distinct[index - 1] + distinct[index]) / 2.0)


def bin_shares(expected: Any, actual: Any, bins: int = PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Bin shares of ``expected`` and ``actual`` over bins defined by ``expected`` (see module doc)."""
    e = _finite(expected)
    a = _finite(actual)
    if e.size == 0 or a.size == 0:
        raise ValueError("psi: both samples need at least one non-missing value")
    values = np.unique(e)
    if values.size <= LOOKUP_MAX_VALUES and np.all(values == np.round(values)):
        index = {v: i for i, v in enumerate(values.tolist())}
        ec = np.bincount([index[v] for v in e.tolist()], minlength=values.size + 1)
        ac = np.bincount([index.get(v, values.size) for v in a.tolist()], minlength=values.size + 1)
    elif values.size <= LOOKUP_MAX_VALUES:
        clusters = value_clusters(values, lookup_tolerance(e))
        ec = np.bincount(nearest_cluster(clusters, e), minlength=len(clusters))
        ac = np.bincount(nearest_cluster(clusters, a), minlength=len(clusters))
    else:
        inner = decile_edges(e, values, bins)
        ec = np.bincount(np.searchsorted(inner, e, side="right"), minlength=inner.size + 1)
        ac = np.bincount(np.searchsorted(inner, a, side="right"), minlength=inner.size + 1)
    return ec / e.size, ac / a.size


def psi(expected: Any, actual: Any, bins: int = PSI_BINS) -> float:
    """Population stability index of ``actual`` against ``expected`` (missing values left out)."""
    e, a = bin_shares(expected, actual, bins)
    return psi_from_shares(e, a)


def ks_statistic(a: Any, b: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    x = np.sort(_finite(a))
    y = np.sort(_finite(b))
    if x.size == 0 or y.size == 0:
        raise ValueError("ks: both samples need at least one non-missing value")
    grid = np.concatenate([x, y])
    gap = np.searchsorted(x, grid, side="right") / x.size - np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(gap)))


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Asymptotic two-sided p-value of KS statistic ``d`` for samples of sizes ``n`` and ``m``
    (Smirnov: the one-sample Kolmogorov distribution at the effective size n*m/(n+m))."""
    from scipy.stats import kstwo

    en = float(n) * float(m) / float(n + m)
    return float(np.clip(kstwo.sf(d, round(en)), 0.0, 1.0))


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one feature (or of the prediction)."""

    name: str
    psi: float | None
    ks: float | None
    ks_pvalue: float | None
    missing_train: float
    missing_served: float
    n_train: int
    n_served: int
    importance: float | None = None
    top: bool = False
    train_mean: float | None = None
    served_mean: float | None = None


def column_drift(name: str, train: Any, served: Any, importance: float | None = None, top: bool = False) -> ColumnDrift:
    t, s = _finite(train), _finite(served)
    both = t.size > 0 and s.size > 0
    d = ks_statistic(t, s) if both else None
    return ColumnDrift(
        name=name,
        psi=psi(t, s) if both else None,
        ks=d,
        ks_pvalue=ks_pvalue(d, t.size, s.size) if d is not None else None,
        missing_train=missing_rate(train),
        missing_served=missing_rate(served),
        n_train=int(np.asarray(train).size),
        n_served=int(np.asarray(served).size),
        importance=importance,
        top=top,
        train_mean=float(t.mean()) if t.size else None,
        served_mean=float(s.mean()) if s.size else None,
    )


# --------------------------------------------------------------------------- the report


@dataclass
class DriftReport:
    tenant_id: str
    model: str
    version: int
    template: str
    training_seasons: list[int]
    n_train_rows: int
    n_served_rows: int
    n_requests: int
    psi_threshold: float
    min_served_rows: int
    features: list[ColumnDrift]
    prediction: ColumnDrift | None
    generated_at: str
    served_from: str | None = None
    served_to: str | None = None
    missing_threshold: float = 0.2
    plots: dict[str, str] = field(default_factory=dict)
    min_served_requests: int = DEFAULT_MIN_SERVED_REQUESTS

    @property
    def enough_data(self) -> bool:
        """Enough served rows, from enough requests, for a drift verdict."""
        return self.n_served_rows >= self.min_served_rows and self.n_requests >= self.min_served_requests

    @property
    def note(self) -> str | None:
        """Why there is no verdict yet ("not enough data: 5 of 10 requests, 100 of 200 rows captured")."""
        if self.enough_data:
            return None
        return (
            f"not enough data: {self.n_requests} of {self.min_served_requests} requests, "
            f"{self.n_served_rows} of {self.min_served_rows} rows captured; no drift verdict until both are reached"
        )

    @property
    def training_window(self) -> str:
        """The seasons the served rows are compared with (``2022-2023``)."""
        seasons = sorted(self.training_seasons)
        return f"{seasons[0]}-{seasons[-1]}" if seasons else "unknown"

    def drift_reason(self, f: ColumnDrift) -> str | None:
        """Why a top feature counts as drifted (None: it does not, or not a top feature)."""
        if not f.top or not self.enough_data:
            return None
        if f.psi is not None and f.psi > self.psi_threshold:
            return f"PSI {f.psi:.3f} > {self.psi_threshold}"
        if f.missing_served - f.missing_train > self.missing_threshold:
            return f"missing {f.missing_served:.0%} served vs {f.missing_train:.0%} in training"
        return None

    @property
    def drifted_features(self) -> list[str]:
        """Top features that drifted (empty without enough served rows)."""
        return [f.name for f in self.features if self.drift_reason(f) is not None]

    @property
    def status(self) -> str:
        if not self.enough_data:
            return "insufficient_data"
        return "drift" if self.drifted_features else "ok"

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = self.status
        doc["note"] = self.note
        doc["drifted_features"] = {f.name: self.drift_reason(f) for f in self.features if self.drift_reason(f)}
        return _jsonable(doc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def training_seasons(record: ModelRecord) -> list[int]:
    """The seasons the model was trained on (registry params, else its data window)."""
    seasons = record.params.get("seasons") if isinstance(record.params, dict) else None
    if seasons:
        return sorted(int(s) for s in seasons)
    window = record.data_window or {}
    first, last = str(window.get("first_race", "")), str(window.get("last_race", ""))
    if first[:4].isdigit() and last[:4].isdigit():
        return list(range(int(first[:4]), int(last[:4]) + 1))
    raise ValueError(f"model {record.name!r} version {record.version}: no training window recorded")


def model_output(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """One number per row summarising the model's answer: ranking probability (top k) or score,
    regression value, classification probability of the last class (the positive one if binary)."""
    if model.task == "classification":
        return np.asarray(model.predict_proba(frame), dtype=np.float64)[:, -1]
    if model.task == "regression":
        return np.asarray(model.predict(frame), dtype=np.float64)
    if model.top_k is not None:
        return np.asarray(model.predict_proba(frame), dtype=np.float64)
    return np.asarray(model.predict(frame), dtype=np.float64)


def served_output(captures: pd.DataFrame, task: str, top_k: int | None, classes: Sequence[Any] | None) -> np.ndarray:
    """The captured counterpart of :func:`model_output`."""
    if task == "classification":
        last = str(list(classes)[-1]) if classes else None
        out = []
        for s in captures["probabilities"].tolist():
            probs = json.loads(s) if isinstance(s, str) else {}
            out.append(float(probs.get(last, np.nan)) if last is not None else np.nan)
        return np.asarray(out, dtype=np.float64)
    if task == "regression":
        return captures["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    column = "probability" if top_k is not None else "score"
    return captures[column].to_numpy(dtype=np.float64, na_value=np.nan)


def training_profile(record: ModelRecord, model: Any, store: Store) -> pd.DataFrame:
    """The training window's feature values and the model's output on them (cached per version)."""
    import pandas as pd

    from pitwall.features import FeatureStore
    from pitwall.monitoring.settings import scoped_dir
    from pitwall.templates import get_template

    path = scoped_dir("profiles", record.tenant_id, record.name) / f"v{record.version}-{record.sha256[:12]}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    spec = get_template(record.template)
    from pitwall.templates.predict import template_frame

    frame = template_frame(spec, FeatureStore(store), training_seasons(record), model.auto_features)
    columns = list(model.input_columns)
    profile = pd.DataFrame(
        {c: pd.to_numeric(frame[c], errors="coerce").astype("float64") for c in columns}, index=frame.index
    )
    profile[PREDICTION] = model_output(model, frame)
    profile = profile.reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile.to_parquet(path, index=False)
    return profile


def build_report(
    record: ModelRecord,
    model: Any,
    profile: pd.DataFrame,
    captures: pd.DataFrame,
    *,
    psi_threshold: float,
    top_features: int,
    min_served_rows: int,
    generated_at: str,
    missing_threshold: float = 0.2,
    min_served_requests: int = DEFAULT_MIN_SERVED_REQUESTS,
) -> DriftReport:
    """Compare ``captures`` (one version's served rows) with the training ``profile``."""
    from pitwall.monitoring.capture import decode_features

    try:
        importance = dict(model.feature_importance())
    except (NotImplementedError, AttributeError):
        importance = {}
    columns = list(model.input_columns)
    ranked = sorted(columns, key=lambda c: -importance.get(c, 0.0)) if importance else columns
    top = set(ranked[:top_features])
    served = decode_features(captures).reindex(columns=columns) if len(captures) else None
    feats = []
    for c in ranked:
        values = served[c].to_numpy(dtype=np.float64) if served is not None else np.array([], dtype=np.float64)
        feats.append(column_drift(c, profile[c].to_numpy(dtype=np.float64), values, importance.get(c), c in top))
    paired = captures[captures["paired"]] if len(captures) else captures
    prediction = None
    if len(paired):
        out = served_output(paired, model.task, model.top_k, getattr(model, "classes", None))
        prediction = column_drift(PREDICTION, profile[PREDICTION].to_numpy(dtype=np.float64), out)
    return DriftReport(
        tenant_id=record.tenant_id,
        model=record.name,
        version=record.version,
        template=record.template,
        training_seasons=training_seasons(record),
        n_train_rows=len(profile),
        n_served_rows=len(captures),
        n_requests=int(captures["capture_id"].nunique()) if len(captures) else 0,
        psi_threshold=psi_threshold,
        min_served_rows=min_served_rows,
        features=feats,
        prediction=prediction,
        generated_at=generated_at,
        served_from=str(captures["captured_at"].min()) if len(captures) else None,
        served_to=str(captures["captured_at"].max()) if len(captures) else None,
        missing_threshold=missing_threshold,
        min_served_requests=min_served_requests,
    )


def drift_report(
    tenant_id: str,
    model_name: str,
    *,
    sink: CaptureSink | None = None,
    store: Store | None = None,
    version: int | None = None,
) -> DriftReport:
    """The drift report of the tenant's deployed model (``version``: another registered one)."""
    from pitwall.data.store import get_store
    from pitwall.monitoring.capture import LocalCaptureSink, read_captures
    from pitwall.monitoring.settings import get_settings
    from pitwall.platform.clock import iso, utc_now

    record = deployed_or_version(tenant_id, model_name, version)
    model = load_record_model(record)
    settings = get_settings(tenant_id, model_name)
    profile = training_profile(record, model, store or get_store())
    captures = read_captures(sink or LocalCaptureSink(), tenant_id, model_name, version=record.version)
    return build_report(
        record,
        model,
        profile,
        captures,
        psi_threshold=settings.psi_threshold,
        top_features=settings.top_features,
        min_served_rows=settings.min_served_rows,
        generated_at=iso(utc_now()),
        missing_threshold=settings.missing_threshold,
        min_served_requests=settings.min_served_requests,
    )


def deployed_or_version(tenant_id: str, name: str, version: int | None = None) -> ModelRecord:
    """The given version, else the deployed one, else the latest (tenant-scoped: NotFound otherwise)."""
    from pitwall.platform.models import get_model

    head = get_model(tenant_id, name, version)
    if version is None and head.deployed_version is not None and head.deployed_version != head.version:
        return get_model(tenant_id, name, head.deployed_version)
    return head


def load_record_model(record: ModelRecord) -> Any:
    """The record's model, checksum-verified (the serving loader); an ``s3://`` artifact (the cloud's
    registry) is fetched first (:func:`pitwall.monitoring.artifacts_aws.fetch_artifact`)."""
    from dataclasses import replace

    from pitwall.serving.predictor import load_predictor

    if record.artifact_uri.startswith("s3://"):
        from pitwall.monitoring.artifacts_aws import fetch_artifact

        record = replace(record, artifact_uri=str(fetch_artifact(record)))
    return load_predictor(record).model


# --------------------------------------------------------------------------- JSON and plots


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return str(path)


def _hist(ax: Any, train: np.ndarray, served: np.ndarray, title: str) -> None:
    t, s = _finite(train), _finite(served)
    if t.size and s.size:
        lo, hi = float(min(t.min(), s.min())), float(max(t.max(), s.max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
        ax.hist(t, bins=edges, density=True, alpha=0.5, label=f"training (n={t.size})", color="#1f77b4")
        ax.hist(s, bins=edges, density=True, alpha=0.5, label=f"served (n={s.size})", color="#d62728")
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)


def write_report(
    report: DriftReport, folder: str | Path, profile: pd.DataFrame | None = None, captures: pd.DataFrame | None = None
) -> Path:
    """``drift.json`` + ``psi.png`` (+ ``features.png`` and ``prediction.png`` given the data)."""
    from pitwall.monitoring.capture import decode_features

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in report.features]
    values = [f.psi if f.psi is not None else 0.0 for f in report.features]
    fig = _figure(7.0, max(2.5, 0.6 + 0.35 * len(names)))
    ax = fig.add_subplot(1, 1, 1)
    colours = ["#d62728" if report.drift_reason(f) else "#1f77b4" for f in report.features]
    ax.barh(names[::-1], values[::-1], color=colours[::-1])
    ax.axvline(report.psi_threshold, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("PSI (served vs training)")
    ax.set_title(f"{report.model} v{report.version}: feature drift ({report.status})")
    report.plots["psi"] = _save(fig, out / "psi.png")
    if profile is not None and captures is not None and len(captures):
        served = decode_features(captures)
        top = [f.name for f in report.features if f.top]
        cols = 2
        rows = max(1, math.ceil(len(top) / cols))
        fig = _figure(8.0, 2.6 * rows)
        for i, name in enumerate(top):
            ax = fig.add_subplot(rows, cols, i + 1)
            col = served[name].to_numpy(dtype=np.float64) if name in served else np.array([])
            _hist(ax, profile[name].to_numpy(dtype=np.float64), col, name)
        report.plots["features"] = _save(fig, out / "features.png")
        if report.prediction is not None:
            from pitwall.templates import get_template

            spec = get_template(report.template)
            paired = captures[captures["paired"]]
            classes = None
            if spec.task == "classification":
                probs = [json.loads(s) for s in paired["probabilities"].dropna().tolist()[:1]]
                classes = sorted(probs[0]) if probs else None
            served_pred = served_output(paired, spec.task, spec.top_k, classes)
            fig = _figure(6.0, 3.2)
            _hist(fig.add_subplot(1, 1, 1), profile[PREDICTION].to_numpy(dtype=np.float64), served_pred, "prediction")
            report.plots["prediction"] = _save(fig, out / "prediction.png")
    (out / "drift.json").write_text(json.dumps(report.to_dict(), indent=2))
    return out / "drift.json"
