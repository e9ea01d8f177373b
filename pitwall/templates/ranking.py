"""Frame builders of the ranking templates (rank the drivers of an event) and their baselines.

Race results (``race_result_builder(k)``: winner k=1, podium k=3, points k=10), pre-race rows:

- ``baseline_grid`` (point rule): grid order;
- ``baseline_grid_slot_rate`` (probability): the empirical P(finish <= k | grid slot) over the
  ``SLOT_RATE_SEASONS`` seasons before the row's season (smoothed over neighbouring slots and
  made non-increasing in the slot), normalised per race to sum to k. Its unnormalised value is
  also the model input ``grid_slot_rate`` (the grid kept as a prior);
- ``grid_lock``: (grid slot - 1) x the circuit's overtaking difficulty clipped to [0, 1]: the
  slots a driver is unlikely to make up at this circuit;
- ``seasons_into_regulations``: seasons since the last major technical-regulation change;
- ``quali_gap_log``: ``log(1 + quali_gap_to_pole)`` (the quali gap in %, negative clipped to 0):
  a tenth matters more at the front than at the back.

Qualifying (pre-qualifying): ``baseline_last_practice`` (order of the last practice session
before qualifying) and ``baseline_best_practice`` (order of the best practice lap of the weekend).

Fastest lap (pre-race): ``baseline_pole`` (grid order: the pole-sitter), ``baseline_pace_team``
(the better qualifier of the team with the best race pace of earlier races, then grid order) and
``baseline_fastest_lap_slot_rate`` (empirical P(fastest lap | grid slot), a probability);
``fastest_lap_point`` is 1 in seasons where the fastest lap scored a point (2019-2024);
``team_pace_gap`` is the team's race pace minus the best team's (0 = fastest) and
``ahead_of_teammate`` 1 for the team's better starter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from pitwall.features import FeatureStore
from pitwall.templates.frames import NO_GRID, driver_race, grid_score, practice_score

SLOT_RATE_SEASONS = 10  # seasons of history behind the empirical P(finish <= k | grid slot)
SLOT_SMOOTHING = 5.0  # pseudo-starts pulling a slot's rate towards its neighbours' (+-2 slots)
MAX_SLOT = 21  # slots 21+ and pit-lane / no grid slot are pooled
REGULATION_CHANGES = (1998, 2005, 2009, 2014, 2017, 2022, 2026)  # major technical-regulation resets
FASTEST_LAP_POINT_SEASONS = range(2019, 2025)  # the fastest lap scored a point (removed for 2025)


def _slot(values: pd.Series) -> np.ndarray:
    v = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    v = np.where(np.isnan(v) | (v <= 0), MAX_SLOT, v)
    return np.clip(v, 1, MAX_SLOT).astype(int)


def slot_rate_table(history: pd.DataFrame, outcome: str) -> np.ndarray:
    """Rate of ``outcome`` (0/1 column) per grid slot 1..MAX_SLOT from ``history`` (``slot``):
    smoothed towards the pooled rate of slots within +-2, then non-increasing in the slot."""
    from sklearn.isotonic import IsotonicRegression

    slots = np.arange(1, MAX_SLOT + 1)
    hits = np.bincount(history["slot"], weights=history[outcome].astype(float), minlength=MAX_SLOT + 1)[1:]
    n = np.bincount(history["slot"], minlength=MAX_SLOT + 1)[1:].astype(float)
    pooled = np.array(
        [hits[max(0, i - 2) : i + 3].sum() / max(n[max(0, i - 2) : i + 3].sum(), 1.0) for i in range(MAX_SLOT)]
    )
    rate = (hits + SLOT_SMOOTHING * pooled) / (n + SLOT_SMOOTHING)
    iso = IsotonicRegression(increasing=False, y_min=1e-4, y_max=1 - 1e-4)
    return iso.fit_transform(slots, rate, sample_weight=n + 1.0)


def _history(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Race results (grid slot, finish position, fastest lap) of the given seasons."""
    store = fs.store
    have = set(store.seasons("results"))
    wanted = [s for s in seasons if s in have]
    if not wanted:
        return pd.DataFrame(columns=["season", "race_id", "driver_id", "slot", "position"])
    res = store.read("results", wanted)
    res = res[~res["position_text"].isin(["DNQ", "DNPQ", "DNP", "DNS"])]
    out = pd.DataFrame(
        {
            "season": res["season"].astype("int64").to_numpy(),
            "race_id": res["race_id"].astype("string").to_numpy(),
            "driver_id": res["driver_id"].astype("string").to_numpy(),
            "slot": _slot(res["grid_position"]),
            "position": pd.to_numeric(res["position"], errors="coerce").astype("float64").to_numpy(),
        }
    )
    fl = store.read("fastest_laps", [s for s in wanted if s in set(store.seasons("fastest_laps"))])
    if len(fl):
        best = fl.sort_values("time_s").drop_duplicates("race_id")[["race_id", "driver_id"]].astype("string")
        key = set(zip(best["race_id"], best["driver_id"], strict=True))
        out["fastest_lap"] = [(r, d) in key for r, d in zip(out["race_id"], out["driver_id"], strict=True)]
    else:
        out["fastest_lap"] = False
    return out


def prior_slot_rate(fs: FeatureStore, df: pd.DataFrame, outcome: Callable[[pd.DataFrame], pd.Series]) -> pd.Series:
    """Per row of ``df``: the empirical rate of ``outcome`` for the row's grid slot, from the
    ``SLOT_RATE_SEASONS`` seasons strictly before the row's season (NaN without history)."""
    out = pd.Series(np.nan, index=df.index, dtype="float64")
    seasons = sorted(int(s) for s in pd.unique(df["season"]))
    if not seasons:
        return out
    hist = _history(fs, range(seasons[0] - SLOT_RATE_SEASONS, seasons[-1]))
    if hist.empty:
        return out
    hist = hist.assign(hit=outcome(hist).astype(float).to_numpy())
    slots = _slot(df["start_position"])
    for season in seasons:
        h = hist[(hist["season"] < season) & (hist["season"] >= season - SLOT_RATE_SEASONS)]
        if h["race_id"].nunique() < 10:
            continue
        table = slot_rate_table(h, "hit")
        rows = (df["season"] == season).to_numpy()
        out[rows] = table[slots[rows] - 1]
    return out


def _normalised(prob: pd.Series, groups: pd.Series, k: int) -> np.ndarray:
    """``prob`` (unknown = its mean) normalised per race to sum to ``k``, as a model's top-k output."""
    from pitwall.ml.model import normalise_top_k

    filled = prob.fillna(prob.mean() if prob.notna().any() else 0.05)
    return normalise_top_k(filled.to_numpy(dtype=np.float64), groups.to_numpy(), k)


def seasons_into_regulations(season: pd.Series) -> pd.Series:
    s = season.astype("int64")
    starts = np.array(REGULATION_CHANGES)
    last = np.array([starts[starts <= v].max() if (starts <= v).any() else v for v in s])
    return pd.Series((s.to_numpy() - last).astype("float64"), index=season.index)


def log_rate(rate: pd.Series) -> pd.Series:
    """``log`` of a per-slot rate (the grid prior of the race-wise models; NaN stays NaN)."""
    return np.log(rate.astype("float64").clip(lower=1e-4))


def quali_gap_log(gap: pd.Series) -> pd.Series:
    """``log(1 + gap)`` of the quali gap to pole in % (negative clipped to 0; NaN stays NaN)."""
    return np.log1p(gap.astype("float64").clip(lower=0.0))


def _regime_and_grid(df: pd.DataFrame) -> None:
    if "grid_slot_rate" in df.columns:
        df["grid_log_rate"] = log_rate(df["grid_slot_rate"])
    difficulty = df["circuit_overtaking_difficulty"].astype("float64").clip(0.0, 1.0)
    grid = df["start_position"].astype("float64").fillna(NO_GRID)
    df["grid_lock"] = (grid - 1.0) * difficulty.fillna(difficulty.mean() if difficulty.notna().any() else 0.7)
    df["seasons_into_regulations"] = seasons_into_regulations(df["season"])


GRID_FOLLOWERS = ("grid_slot_rate", "fastest_lap_slot_rate")  # per-slot lookups that follow the grid slot


def follow_grid(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """After a caller changed ``start_position`` (``after``), recompute the inputs derived from it
    so a what-if grid is seen consistently: the per-slot rates (looked up from the race's own rows
    of ``before``, which hold every slot of the grid), ``grid_lock`` and the grid baseline."""
    out = after.copy()
    slots_before = _slot(before["start_position"])
    slots_after = _slot(out["start_position"])
    for col in GRID_FOLLOWERS:
        if col not in out.columns:
            continue
        table = pd.Series(before[col].to_numpy(), index=slots_before).groupby(level=0).first().dropna()
        if table.empty:
            continue
        full = table.reindex(range(1, MAX_SLOT + 1)).interpolate(limit_direction="both")
        out[col] = full.to_numpy()[slots_after - 1]
    if "grid_log_rate" in out.columns and "grid_slot_rate" in out.columns:
        out["grid_log_rate"] = log_rate(out["grid_slot_rate"])
    if "grid_lock" in out.columns and "circuit_overtaking_difficulty" in out.columns:
        _regime_and_grid(out)
    if "baseline_grid" in out.columns:
        out["baseline_grid"] = grid_score(out)
    return out


def race_result_builder(k: int) -> Callable[[FeatureStore, Sequence[int]], pd.DataFrame]:
    """The frame builder of a race-result template with top ``k`` (see the module doc)."""

    def race_result_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
        df = driver_race(fs, seasons, "pre_race")
        df["position"] = df["position"].astype("float64")
        df["baseline_grid"] = grid_score(df)
        rate = prior_slot_rate(fs, df, lambda h: h["position"] <= k)
        df["grid_slot_rate"] = rate
        df["baseline_grid_slot_rate"] = _normalised(
            rate.fillna(rate.mean() if rate.notna().any() else 0.05), df["race_id"], k
        )
        _regime_and_grid(df)
        df["quali_gap_log"] = quali_gap_log(df["quali_gap_to_pole"])
        return df

    race_result_frame.__name__ = f"race_result_frame_top{k}"
    return race_result_frame


def race_result_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows with ``position`` (finish; null = not classified) and the winner baselines."""
    return race_result_builder(1)(fs, seasons)


def _practice_orders(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Per (race, driver): rank in the last practice session held before qualifying (sprint
    weekends: the only one, FP1)."""
    store = fs.store
    wanted = [s for s in seasons if s in set(store.seasons("practice"))]
    if not wanted:
        return pd.DataFrame(columns=["race_id", "driver_id", "last_practice_rank"])
    p = store.read("practice", wanted)
    races = store.read("races", wanted)[["race_id", "has_sprint"]].astype({"race_id": "string"})
    p = p.astype({"race_id": "string", "driver_id": "string"}).merge(races, on="race_id", how="left")
    p = p[~p["has_sprint"].fillna(False).astype(bool) | (p["session"] == 1)]
    p = p[p["time_s"].notna()]
    last = p.groupby("race_id")["session"].transform("max")
    p = p[p["session"] == last].drop_duplicates(["race_id", "driver_id"])
    p = p.assign(last_practice_rank=p.groupby("race_id")["time_s"].rank(method="min"))
    return p[["race_id", "driver_id", "last_practice_rank"]]


def qualifying_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-qualifying rows with ``quali_position`` and the two practice-order baselines."""
    df = driver_race(fs, seasons, "pre_qualifying")
    df["quali_position"] = df["quali_position"].astype("float64")
    orders = _practice_orders(fs, sorted({int(s) for s in df["season"]}))
    keys = df[["race_id", "driver_id"]].astype("string")
    df["last_practice_rank"] = keys.merge(orders, on=["race_id", "driver_id"], how="left")[
        "last_practice_rank"
    ].to_numpy(dtype="float64")
    df["baseline_best_practice"] = practice_score(df)
    df["baseline_last_practice"] = -df["last_practice_rank"].fillna(NO_GRID)
    df["seasons_into_regulations"] = seasons_into_regulations(df["season"])
    return df


def fastest_lap_frame(fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
    """Pre-race rows; ``fastest_lap_position`` is 1 for the driver who set the race's fastest lap
    (null for everyone else, i.e. 'not in the top 1'); baselines in the module doc."""
    df = driver_race(fs, seasons, "pre_race")
    df["fastest_lap_position"] = np.where(df["fastest_lap"].astype(bool), 1.0, np.nan)
    df["baseline_pole"] = grid_score(df)
    # the fastest-race-pace team (earlier races' clean laps), its better qualifier first
    pace = df["team_race_pace"].astype("float64")
    best_team = pace.groupby(df["race_id"]).transform("min")
    in_team = (pace == best_team) & pace.notna()
    grid = df["start_position"].astype("float64").fillna(NO_GRID)
    team_first = pd.Series(np.where(in_team, 100.0, 0.0), index=df.index)
    df["baseline_pace_team"] = team_first - grid
    df["team_pace_gap"] = pace - best_team  # 0 for the fastest-race-pace team
    mate_best = grid.groupby([df["race_id"], df["constructor_id"]]).transform("min")
    df["ahead_of_teammate"] = (grid <= mate_best).astype("float64")
    rate = prior_slot_rate(fs, df, lambda h: h["fastest_lap"].astype(bool))
    df["fastest_lap_slot_rate"] = rate
    df["baseline_fastest_lap_slot_rate"] = _normalised(
        rate.fillna(rate.mean() if rate.notna().any() else 0.05), df["race_id"], 1
    )
    df["fastest_lap_point"] = df["season"].isin(list(FASTEST_LAP_POINT_SEASONS)).astype("float64")
    _regime_and_grid(df)
    # races without a recorded fastest lap cannot be scored
    has = df.groupby("race_id")["fastest_lap"].transform("any").astype(bool)
    return df[has.to_numpy()].reset_index(drop=True)
