"""A model's report: feature importance and per-race scores of its template's primary metric beside
the naive baseline on one season, with the confusion matrix and a calibration table where they apply.

Computed once at training time (:func:`attach_report`, called by ``pitwall.training.train_template``)
and stored IN the model artifact as ``report.json``, listed with its sha256 in ``metadata.json`` like
every other artifact file: locally in the artifact folder, in the cloud inside SageMaker's
``model.tar.gz``. The API's ``GET /models/{model}/report`` answers it as stored (:func:`read_report`,
standard library + boto3 only, so the lean API Lambda serves it); only a report for another season
(``?season=``) is computed on request (:func:`compute_report`), where the ML packages are installed.

The season scored: the first stored season after the training window (out of sample), else the
window's last season. There, the report stored at training time is the training run's own
evaluation (``holdout: true``): the model ``pitwall train`` scored before refitting, fitted on the
seasons before that one, so its scores are out of sample and are the ``test_*`` metrics the run
printed; the feature importance stays the registered model's. Without such a model (a report
computed on request, a window of one season) the last season is scored in sample, flagged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pitwall.errors import ValidationFailed

log = logging.getLogger(__name__)

REPORT_FILE = "report.json"
METADATA_FILE = "metadata.json"
REPORT_FIELDS = (
    "metric",
    "higher_is_better",
    "season",
    "out_of_sample",
    "importance",
    "metrics",
    "baseline_metrics",
    "races",
    "confusion_labels",
    "confusion_matrix",
    "calibration",
)
"""What a stored report holds: the API's ``ModelReport`` without the model's name, version and template
(the registry record says those). Reports also carry ``holdout`` (read as false where a report stored
before it lacks it)."""


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def default_season(trained: Sequence[int], stored: Sequence[int]) -> int | None:
    """The season a report scores by default (see the module doc)."""
    after = [s for s in sorted(stored) if trained and s > max(trained)]
    if after:
        return after[0]
    if trained:
        return max(trained)
    return max(stored) if stored else None


# --------------------------------------------------------------------------- computing (ML packages)


def calibration_bins(task_spec: Any, frame: Any, bins: int = 10) -> list[dict[str, Any]] | None:
    """Reliability table of a prediction frame: the top-k probability of ranking models, or the
    positive class of binary classifiers, against how often the event happened; None otherwise."""
    import numpy as np
    import pandas as pd

    if task_spec.task == "ranking" and task_spec.top_k is not None and "probability" in frame:
        p = pd.to_numeric(frame["probability"], errors="coerce")
        position = pd.to_numeric(frame[task_spec.target], errors="coerce")
        y = position.le(task_spec.top_k).astype(float)  # unclassified (null) is outside the top k
    elif task_spec.task == "classification":
        columns = sorted(c for c in frame.columns if str(c).startswith("proba_"))
        if len(columns) != 2:
            return None
        labelled = frame[frame[task_spec.target].notna()]
        p = pd.to_numeric(labelled[columns[1]], errors="coerce")
        y = (labelled[task_spec.target].astype(str) == columns[1].removeprefix("proba_")).astype(float)
    else:
        return None
    keep = p.notna()
    p, y = p[keep].to_numpy(dtype=float), y[keep].to_numpy(dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for i in range(bins):
        members = which == i
        if members.any():
            out.append(
                {
                    "low": float(edges[i]),
                    "high": float(edges[i + 1]),
                    "predicted": float(p[members].mean()),
                    "observed": float(y[members].mean()),
                    "count": int(members.sum()),
                }
            )
    return out or None


def compute_report(
    spec: Any,
    model: Any,
    store: Any,
    trained: Sequence[int],
    labelled: Callable[[Any, Any], Any],
    season: int | None = None,
    holdout: Any = None,
) -> dict[str, Any]:
    """The report (:data:`REPORT_FIELDS`) of ``model`` (template ``spec``, trained on ``trained``
    seasons) on ``season`` (default: :func:`default_season`); 422 ``season`` when it has no results.

    ``holdout``: the training run's evaluation model; it scores ``season`` in the model's place
    when the season is in the model's window and after the holdout's (see the module doc).
    ``labelled(spec, frame)``: the template frame's rows that have a label (training's own rule,
    ``pitwall.training._labelled``, passed in: this module sits below ``pitwall.training``)."""
    from pitwall.features import FeatureStore
    from pitwall.ml import evaluation as ev
    from pitwall.ml.errors import MLInputError
    from pitwall.ml.metrics import direction

    trained = [int(s) for s in trained]
    stored = store.seasons("results") if "results" in store.datasets() else []
    season = default_season(trained, stored) if season is None else int(season)
    if season is None or season not in stored:
        raise ValidationFailed(f"season {season} has no stored results", field="season", unprocessable=True)
    before = [int(s) for s in (holdout.data_window or {}).get("seasons", [])] if holdout is not None else []
    by_holdout = season in trained and bool(before) and season > max(before)
    scorer = holdout if by_holdout else model
    try:
        from pitwall.templates.predict import template_frame

        data = labelled(spec, template_frame(spec, FeatureStore(store), [season], scorer.auto_features))
        result = scorer.evaluate(data, record=False)
        baseline = ev.baseline_scores(model.spec, data, spec.baseline)
    except MLInputError as exc:
        raise ValidationFailed(str(exc), field="season", unprocessable=True) from None
    metric = spec.primary_metric
    frame = result.predictions
    races = store.read("races", [season]) if "races" in store.datasets() else None
    names: dict[str, str | None] = {}
    if races is not None and len(races):
        for r in races.to_dict("records"):
            text = r.get("official_name")
            names[str(r["race_id"])] = None if text is None or text != text else str(text)
    race_col = "race_id" if "race_id" in frame.columns else model.spec.group_col
    scores = []
    for race_id, rows in frame.groupby(race_col, sort=True):
        base_rows = data.loc[data[race_col] == race_id]
        try:
            m = ev.score_frame(model.spec, rows, result.classes).get(metric)
            b = ev.baseline_scores(model.spec, base_rows, spec.baseline).get(metric)
        except (MLInputError, ValueError):
            m, b = None, None
        season_, round_ = (int(x) for x in str(race_id).split("-")[:2])
        scores.append(
            {
                "race_id": str(race_id),
                "season": season_,
                "round": round_,
                "name": names.get(str(race_id)),
                "model": _float(m),
                "baseline": _float(b),
            }
        )
    labels: list[str] | None = None
    matrix: list[list[int]] | None = None
    try:
        found_labels, counts = result.confusion_matrix()
        labels, matrix = [str(x) for x in found_labels], [[int(v) for v in row] for row in counts]
    except MLInputError:
        pass
    ranked = [(k, float(v)) for k, v in model.feature_importance().items() if _float(v) is not None]
    return {
        "metric": metric,
        "higher_is_better": direction(metric) == "maximize",
        "season": int(season),
        "out_of_sample": by_holdout or (bool(trained) and season > max(trained)),
        "holdout": by_holdout,
        "importance": dict(sorted(ranked, key=lambda kv: -kv[1])),
        "metrics": {k: v for k, v in ((k, _float(v)) for k, v in result.metrics.items()) if v is not None},
        "baseline_metrics": {k: v for k, v in ((k, _float(v)) for k, v in baseline.items()) if v is not None},
        "races": scores,
        "confusion_labels": labels,
        "confusion_matrix": matrix,
        "calibration": calibration_bins(model.spec, frame),
    }


def attach_report(
    model_dir: str | Path,
    spec: Any,
    model: Any,
    store: Any,
    labelled: Callable[[Any, Any], Any],
    holdout: Any = None,
) -> dict[str, Any] | None:
    """Compute the default report of a just-trained model (``holdout``: the run's evaluation model,
    see :func:`compute_report`) and store it in its artifact folder as :data:`REPORT_FILE` (listed
    in ``metadata.json``). A report that cannot be computed (no stored results for the season, a
    degenerate frame) is logged and skipped: training never fails for it."""
    trained = [int(s) for s in (model.data_window or {}).get("seasons", [])]
    try:
        from pitwall.ml.artifacts import add_artifact_file

        report = compute_report(spec, model, store, trained, labelled, holdout=holdout)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("no report stored with %s: %s", model_dir, exc)
        return None
    data = (json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    add_artifact_file(model_dir, REPORT_FILE, data)
    return report


# --------------------------------------------------------------------------- reading (lean)


class ReportIntegrityError(Exception):
    """A stored report whose bytes do not match the sha256 its artifact's metadata.json records."""


class ArtifactNotFound(Exception):
    """The artifact a model record names does not exist (any more)."""


_MISSING = ("NoSuchKey", "NoSuchBucket", "404", "NotFound")


def _check(metadata_raw: bytes | None, report_raw: bytes, where: str) -> dict[str, Any]:
    if metadata_raw is None:
        raise ReportIntegrityError(f"{where}: {REPORT_FILE} without {METADATA_FILE}")
    try:
        files = json.loads(metadata_raw.decode("utf-8")).get("files", {})
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise ReportIntegrityError(f"{where}: {METADATA_FILE} is not a JSON object") from None
    if files.get(REPORT_FILE) != hashlib.sha256(report_raw).hexdigest():
        raise ReportIntegrityError(f"{where}: {REPORT_FILE} does not match the sha256 in {METADATA_FILE}")
    report = json.loads(report_raw.decode("utf-8"))
    if not isinstance(report, dict) or not set(REPORT_FIELDS) <= set(report):
        raise ReportIntegrityError(f"{where}: {REPORT_FILE} is not a model report")
    return report


def _from_tar(fileobj: Any, where: str) -> dict[str, Any] | None:
    import tarfile

    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if member.isfile() and name in (REPORT_FILE, METADATA_FILE):
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        found[name] = extracted.read()
    except tarfile.TarError as exc:
        raise ReportIntegrityError(f"{where}: not a readable archive ({exc})") from None
    if REPORT_FILE not in found:
        return None
    return _check(found.get(METADATA_FILE), found[REPORT_FILE], where)


def read_report(artifact_uri: str, s3_client: Callable[[], Any] | None = None) -> dict[str, Any] | None:
    """The report stored with an artifact (a local folder, ``s3://.../model.tar.gz`` or an
    ``s3://`` artifact prefix), checked against ``metadata.json``; None when it has none (a model
    trained before reports were stored, or whose report could not be computed).
    :class:`ArtifactNotFound` when the artifact itself is gone."""
    uri = str(artifact_uri)
    if not uri.startswith("s3://"):
        folder = Path(uri.removeprefix("file://"))
        if not (folder / METADATA_FILE).is_file():
            raise ArtifactNotFound(f"model artifact {uri!r} not found")
        try:
            report_raw = (folder / REPORT_FILE).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            metadata_raw: bytes | None = (folder / METADATA_FILE).read_bytes()
        except FileNotFoundError:
            metadata_raw = None
        return _check(metadata_raw, report_raw, uri)
    from botocore.exceptions import ClientError

    if s3_client is None:
        import boto3

        s3_client = lambda: boto3.client("s3")  # noqa: E731
    client = s3_client()
    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")

    def body(k: str) -> Any:
        try:
            return client.get_object(Bucket=bucket, Key=k)["Body"]
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise

    if key.endswith((".tar.gz", ".tgz")):
        stream = body(key)
        if stream is None:
            raise ArtifactNotFound(f"model artifact {uri!r} not found")
        return _from_tar(stream, uri)
    prefix = key.rstrip("/")
    meta = body(f"{prefix}/{METADATA_FILE}")
    if meta is None:
        raise ArtifactNotFound(f"model artifact {uri!r} not found")
    report = body(f"{prefix}/{REPORT_FILE}")
    return None if report is None else _check(meta.read(), report.read(), uri)
