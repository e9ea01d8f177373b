"""Proper scores and the paired comparison of a model against a baseline on the same rows.

Per-row losses (``log_loss``, ``brier``, ``absolute_error``), per-race losses of race-result
probabilities (``winner_nll``, ``ranked_probability_score``), a ``reliability_table``, and
``paired_bootstrap``: resample *races* (groups) with replacement and report the mean loss
difference (model - baseline), its 95 % interval, the number of races and a verdict —
``"win"`` when the whole interval favours the model, ``"loss"`` when it favours the baseline,
``"tie"`` when it contains 0. A template "beats its baseline" only with a ``"win"`` against the
strongest baseline (``strongest``).

All losses are "lower is better"; pass ``higher_is_better=True`` for scores such as a per-race
top-1 hit (0/1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from pitwall.ml.errors import MLInputError

EPS = 1e-15
VERDICTS = ("win", "tie", "loss")


def _array(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce"), dtype=np.float64)
    if arr.size == 0:
        raise MLInputError(f"{name}: no values")
    return arr


# ---------------------------------------------------------------------------------------
# per-row proper scores
# ---------------------------------------------------------------------------------------
def log_loss(outcome: Any, prob: Any) -> np.ndarray:
    """Per-row binary log loss of probabilities ``prob`` for 0/1 ``outcome`` (clipped at 1e-15)."""
    y, p = _array(outcome, "outcome"), _array(prob, "prob")
    if y.shape != p.shape:
        raise MLInputError(f"prob: {p.size} values for {y.size} outcomes")
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise MLInputError("prob: probabilities must be in [0, 1] and not null")
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def brier(outcome: Any, prob: Any) -> np.ndarray:
    """Per-row Brier score ``(p - y)^2``."""
    y, p = _array(outcome, "outcome"), _array(prob, "prob")
    if y.shape != p.shape:
        raise MLInputError(f"prob: {p.size} values for {y.size} outcomes")
    return (p - y) ** 2


def absolute_error(actual: Any, predicted: Any) -> np.ndarray:
    """Per-row absolute error (NaN where either side is unknown)."""
    return np.abs(_array(predicted, "predicted") - _array(actual, "actual"))


# ---------------------------------------------------------------------------------------
# per-race scores of race-result probabilities
# ---------------------------------------------------------------------------------------
def normalise_per_race(prob: Any, groups: Any, total: float = 1.0) -> np.ndarray:
    """Scale ``prob`` so that it sums to ``total`` within each group (uniform when a group is all 0)."""
    p = np.clip(_array(prob, "prob"), 0.0, None)
    g = pd.Series(np.asarray(groups).ravel())
    sums = pd.Series(p).groupby(g.to_numpy()).transform("sum").to_numpy()
    counts = g.groupby(g.to_numpy()).transform("size").to_numpy()
    return np.where(sums > 0, p * total / np.where(sums > 0, sums, 1.0), total / counts)


def winner_nll(prob: Any, won: Any, groups: Any) -> pd.Series:
    """Per race: ``-log p(actual winner)`` with ``prob`` normalised to sum to 1 in the race.

    Races without a winner among the rows are left out. Index: the group values.
    """
    p = normalise_per_race(prob, groups, 1.0)
    w = _array(won, "won") > 0.5
    g = np.asarray(groups).ravel()
    frame = pd.DataFrame({"g": g, "p": p, "w": w})
    hit = frame[frame["w"]].groupby("g", sort=False)["p"].sum()
    return -np.log(np.clip(hit, EPS, 1.0)).rename("winner_nll")


def ranked_probability_score(cumulative: Any, position: Any, thresholds: Sequence[int]) -> np.ndarray:
    """Per row: mean over thresholds k of ``(P(position <= k) - 1[position <= k])^2``.

    ``cumulative``: ``(n, len(thresholds))`` predicted P(position <= k), non-decreasing in k;
    ``position``: the actual finish (NaN = not classified, i.e. beyond every threshold). With one
    threshold this is the Brier score of that top-k event.
    """
    c = np.asarray(cumulative, dtype=np.float64)
    pos = _array(position, "position")
    ks = np.asarray(list(thresholds), dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if c.shape != (pos.size, ks.size):
        raise MLInputError(f"cumulative: expected shape {(pos.size, ks.size)}, got {c.shape}")
    hit = np.where(np.isnan(pos)[:, None], 0.0, pos[:, None] <= ks[None, :])
    return np.mean((c - hit) ** 2, axis=1)


def reliability_table(outcome: Any, prob: Any, n_bins: int = 10) -> pd.DataFrame:
    """Calibration table: equal-width probability bins with their row count, mean predicted
    probability and observed frequency (empty bins left out)."""
    y, p = _array(outcome, "outcome"), _array(prob, "prob")
    if y.shape != p.shape:
        raise MLInputError(f"prob: {p.size} values for {y.size} outcomes")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise MLInputError(f"n_bins: must be a positive integer, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        m = idx == b
        if m.any():
            rows.append(
                {
                    "bin_low": float(edges[b]),
                    "bin_high": float(edges[b + 1]),
                    "rows": int(m.sum()),
                    "mean_predicted": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "rows", "mean_predicted", "observed"])


def expected_calibration_error(outcome: Any, prob: Any, n_bins: int = 10) -> float:
    """Row-weighted mean |observed - predicted| over the bins of ``reliability_table``."""
    table = reliability_table(outcome, prob, n_bins)
    if table.empty:
        return float("nan")
    w = table["rows"] / table["rows"].sum()
    return float((w * (table["observed"] - table["mean_predicted"]).abs()).sum())


# ---------------------------------------------------------------------------------------
# paired comparison
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedComparison:
    """Model minus baseline, resampled over races.

    ``mean_difference``: mean per-row loss of the model minus the baseline's (negative = the
    model is better for a loss; with ``higher_is_better`` positive = better);
    ``low``/``high``: the 95 % percentile interval; ``n_races``; ``n_rows``; ``verdict``.
    """

    mean_difference: float
    low: float
    high: float
    n_races: int
    n_rows: int
    verdict: str
    model_mean: float
    baseline_mean: float
    higher_is_better: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, digits: int = 3) -> str:
        f = f"{{:+.{digits}f}}"
        return f"{f.format(self.mean_difference)} [{f.format(self.low)}, {f.format(self.high)}] {self.verdict}"


def paired_bootstrap(
    model_loss: Any,
    baseline_loss: Any,
    groups: Any,
    n_boot: int = 2000,
    seed: int = 0,
    *,
    higher_is_better: bool = False,
    level: float = 0.95,
) -> PairedComparison:
    """Paired bootstrap over races of ``model_loss - baseline_loss`` (same rows, same order).

    Rows where either side is NaN are dropped. Each replicate draws as many races as there are,
    with replacement, and computes the row-weighted mean difference over the drawn races.
    Verdict: the interval excludes 0 on the model's side -> ``"win"``, on the baseline's side ->
    ``"loss"``, else ``"tie"``.
    """
    m, b = _array(model_loss, "model_loss"), _array(baseline_loss, "baseline_loss")
    g = np.asarray(groups).ravel()
    if not (m.size == b.size == g.size):
        raise MLInputError(f"paired_bootstrap: lengths differ (model {m.size}, baseline {b.size}, groups {g.size})")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise MLInputError(f"n_boot: must be an integer >= 100, got {n_boot!r}")
    ok = ~(np.isnan(m) | np.isnan(b))
    if not ok.any():
        raise MLInputError("paired_bootstrap: no row has both a model and a baseline loss")
    m, b, g = m[ok], b[ok], g[ok]
    codes, _ = pd.factorize(g)
    n_races = int(codes.max()) + 1
    diff_sum = np.bincount(codes, weights=m - b, minlength=n_races)
    count = np.bincount(codes, minlength=n_races).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_races, size=(n_boot, n_races))
    boot = diff_sum[draws].sum(axis=1) / count[draws].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = (float(x) for x in np.quantile(boot, [alpha, 1.0 - alpha]))
    mean = float(diff_sum.sum() / count.sum())
    better_low, better_high = (low > 0, high < 0) if not higher_is_better else (high < 0, low > 0)
    verdict = "loss" if better_low else "win" if better_high else "tie"
    return PairedComparison(
        mean_difference=mean,
        low=low,
        high=high,
        n_races=n_races,
        n_rows=int(m.size),
        verdict=verdict,
        model_mean=float(m.mean()),
        baseline_mean=float(b.mean()),
        higher_is_better=higher_is_better,
    )


def strongest(scores: Mapping[str, float], higher_is_better: bool = False) -> str:
    """The name of the best baseline among ``scores`` (name -> metric value; NaN ignored)."""
    finite = {k: float(v) for k, v in scores.items() if v is not None and np.isfinite(float(v))}
    if not finite:
        raise MLInputError("strongest: no baseline has a finite score")
    pick = max if higher_is_better else min
    return pick(finite, key=lambda k: finite[k])
