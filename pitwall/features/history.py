"""Point-in-time building blocks: rolling statistics over time-ordered histories and as-of joins.

The pattern every history feature follows:

1. a *history* frame has one row per (entity, race) with ``seq`` (time order) and a statistic
   computed from that row and the entity's earlier rows only (rolling / cumulative);
2. ``asof_before`` gives each target row the statistic of the entity's last history row with
   ``seq`` strictly below the target's ``seq``.

So the value for race R depends only on races before R, by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

_NA_KEY = "\x00"  # stands for a missing id in as-of join keys


def _key_frame(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for b in by:
        col = df[b]
        if pd.api.types.is_integer_dtype(col):
            out[b] = col.astype("int64")
        else:
            out[b] = col.astype(object).where(col.notna(), _NA_KEY).to_numpy(dtype=object)
    return out


def asof_before(rows: pd.DataFrame, hist: pd.DataFrame, by: Sequence[str], cols: Sequence[str]) -> pd.DataFrame:
    """For each row of ``rows``: ``cols`` of the last ``hist`` row with the same ``by`` keys and a smaller ``seq``.

    ``hist`` must have at most one row per (``by``, ``seq``). The result is aligned to ``rows.index``;
    rows without earlier history get NaN.
    """
    by = list(by)
    cols = list(cols)
    left = _key_frame(rows, by)
    left["seq"] = rows["seq"].astype("int64").to_numpy()
    left["_pos"] = np.arange(len(rows))
    left = left.sort_values("seq", kind="stable")
    right = _key_frame(hist, by)
    right["seq"] = hist["seq"].astype("int64").to_numpy()
    for c in cols:
        right[c] = hist[c].to_numpy()
    right = right.sort_values("seq", kind="stable")
    merged = pd.merge_asof(left, right, on="seq", by=by, allow_exact_matches=False, direction="backward")
    merged = merged.sort_values("_pos", kind="stable")
    out = merged[cols]
    out.index = rows.index
    return out


def _group_rolling_sums(hist: pd.DataFrame, by: Sequence[str], col: str, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-entity sums and counts of the non-null ``col`` values over the last ``window`` rows.

    Vectorised: per-group cumulative sums (which restart for every entity, so one entity's value
    never depends on another's rows) differenced ``window`` rows back.
    """
    keys = [hist[b] for b in by]
    values = hist[col].astype("float64")
    present = values.notna().astype("float64")
    grouped_v = values.fillna(0.0).groupby(keys, sort=False, observed=True)
    grouped_n = present.groupby(keys, sort=False, observed=True)
    cs = grouped_v.cumsum().to_numpy()
    cn = grouped_n.cumsum().to_numpy()
    pos = hist.groupby(keys, sort=False, observed=True).cumcount().to_numpy()
    idx = np.arange(len(hist))
    back = idx - window
    has_back = pos >= window
    prev_s = np.where(has_back, cs[np.maximum(back, 0)], 0.0)
    prev_n = np.where(has_back, cn[np.maximum(back, 0)], 0.0)
    return cs - prev_s, cn - prev_n


def rolling_mean(hist: pd.DataFrame, by: Sequence[str], col: str, window: int, min_periods: int = 1) -> pd.Series:
    """Mean of the non-null ``col`` values in each entity's last ``window`` history rows up to this one.

    ``hist`` must be sorted by entity then ``seq`` (``sorted_history``).
    """
    if not len(hist):
        return pd.Series(index=hist.index, dtype="float64")
    total, n = _group_rolling_sums(hist, by, col, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n >= max(min_periods, 1), total / np.where(n > 0, n, 1.0), np.nan)
    return pd.Series(mean, index=hist.index)


def rolling_sum(hist: pd.DataFrame, by: Sequence[str], col: str, window: int, min_periods: int = 1) -> pd.Series:
    """Sum of the non-null ``col`` values in each entity's last ``window`` history rows up to this one.

    NaN when fewer than ``min_periods`` values are present. ``hist`` sorted as for ``rolling_mean``.
    """
    if not len(hist):
        return pd.Series(index=hist.index, dtype="float64")
    total, n = _group_rolling_sums(hist, by, col, window)
    return pd.Series(np.where(n >= min_periods, total, np.nan), index=hist.index)


def rolling_slope(hist: pd.DataFrame, by: Sequence[str], col: str, window: int) -> pd.Series:
    """Least-squares slope of ``col`` against the entity's observation index over its last ``window`` rows.

    NaN with fewer than two observations.
    """
    h = pd.DataFrame(index=hist.index)
    keys = [hist[b] for b in by]
    h["x"] = hist.groupby(keys, sort=False, observed=True).cumcount().astype("float64")
    h["y"] = hist[col].astype("float64")
    h["xy"] = h["x"] * h["y"]
    h["xx"] = h["x"] * h["x"]
    h["one"] = 1.0
    for b in by:
        h[b] = hist[b]
    sums = {c: rolling_sum(h, by, c, window) for c in ("x", "y", "xy", "xx", "one")}
    n = sums["one"]
    denom = n * sums["xx"] - sums["x"] ** 2
    slope = (n * sums["xy"] - sums["x"] * sums["y"]) / denom.where(denom > 0)
    return slope.where(n >= 2)


def only(df: pd.DataFrame, col: str, keys: Sequence[object] | np.ndarray) -> pd.DataFrame:
    """The rows of ``df`` whose ``col`` is one of ``keys``, in their order.

    A history computed per entity (every rolling or cumulative statistic here restarts for each
    entity) is the same for the entities kept: the point-in-time features of a few rows need only
    their entities' histories.
    """
    return df[df[col].isin(keys).to_numpy()]


def sorted_history(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """``df`` ordered by entity then time, with a fresh index (the order rolling statistics need)."""
    return df.sort_values([*by, "seq"], kind="stable").reset_index(drop=True)
