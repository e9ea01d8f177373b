"""The live race-result template: P(win), P(podium) and expected finishing position per driver,
updated at the end of every lap.

Prediction moment ``in_race``: at the end of lap N, from lap N's ``LapState`` only (laps
remaining, position, gap to the leader, stops made and still owed, tyre age against the field,
track status, grid slot and the team's pre-race strength). The state of lap N is built from the
laps ``<= N``, so nothing after lap N feeds the predictions about laps N+1 onward.

The model is a race-wise choice model: a conditional logit over the drivers running on the lap,
utility = coefficients . ``CHOICE_FEATURES`` (``pitwall.live.predictors``), whose first input is the
log of the empirical P(win | position, laps left) (the naive rule as a prior the other inputs
correct). P(win) is the softmax over the running drivers; P(podium) and the expected position come
from a Plackett-Luce order whose first place is drawn with the same utilities and whose later places
with ``place_utilities`` (``pitwall.live.predictors``: the utilities blended into the log of the
empirical P(top 3 | position, laps left) as the race runs), so the three agree (a leader at P(win)
0.998 is expected to finish 1.00); near the end P(podium) moves on to that table itself
(``podium_blend``: a Plackett-Luce order spreads the third place too thinly over the field).
Drivers who have stopped get 0 and keep their position.

Training: every lap of every stored race of the training seasons (seasons up to the season before
the one predicted), one choice per lap among the running drivers (the eventual winner; laps whose
winner is not running are left out), L2 penalty 1 on standardised inputs, L-BFGS. The two
empirical priors of a training row come from the *other* training seasons (cross-fitted), so the
fit does not learn to trust a rule that has seen the row's own race.

Choices were made on validation seasons, never on the season predicted (train on the seasons
before S, score S, for S = 2021, 2022, 2023; the winner's log loss at 10/25/50/75 % of each race,
66 races; ``benchmarks/live.py`` reports 2024). Against the empirical rule (1.39 / 1.15 / 0.88 /
0.65):

- the previous template (three LightGBM boosters on the raw state) tied it;
- gaps, stops owed, tyres, track status and the grid: 1.34 / 1.07 / 0.81 / 0.62 (50 %: -0.07
  [-0.19, +0.07]), a tie;
- plus the team's pre-race strength: 1.09 / 0.86 / 0.69 / 0.51 (50 %: -0.19 [-0.31, -0.07], 75 %:
  -0.14 [-0.24, -0.04]), with the tyre-age term scaled by sqrt(laps left) rather than
  1 / sqrt(laps left + 1) (which punished a leader on old tyres on the last lap), and the gap over
  sqrt(laps left + 0.05) rather than + 1 (a gap on the last lap is final: the last update's winner
  log loss 0.028 against 0.050, the rule's 0.048; the other fractions unchanged);
- fading the strength with the race (x sqrt(share of laps left)) scored 0.70 at 50 %, adding the
  qualifying gap to pole did not help (-0.20), L2 10 was no better than 1;
- training on the first three places of the order (Plackett-Luce depth 3) instead of the winner
  only was worse for P(win) (50 %: +0.06 without the strength).

Per validation season at 50 %: 2021 -0.23 [-0.48, -0.01], 2022 -0.14 [-0.28, -0.01], 2023 -0.20
[-0.41, +0.04]. On 2024 (reported, not tuned on; trained <= 2023) the model ties the rule at 10, 25
and 75 % and loses at 50 % (0.88 vs 0.77, +0.11 [-0.13, +0.48]), nearly all of it one race: Miami,
where the leader (Norris, 18.7 s ahead, his stop still owed) made that stop under the safety car
deployed on that very lap; the model, weighing Red Bull's form and his old tyres, gave him 0.05.

Tried later and not adopted (the winner's log loss on the same 66 validation races and its difference
from this template, at 50 % unless said; the driver form's also with ``benchmarks/live.py --train-until
S-1 --season S`` on the patched code, the same figures):

- the driver's own form (mean points over his previous 10 Grands Prix, the team's for a rookie) as
  the strength: 0.88 / 0.68 / 0.56 / 0.43 on 2021-2023 (50 %: -0.13 [-0.21, -0.04]; 2021 -0.05,
  2022 -0.17, 2023 -0.16; windows of 6/15/20/30 races and team/driver blends no better), but on
  2024 (looked at once) 1.16 / 1.16 / 0.99 / 0.89 against this template's 1.06 / 1.07 / 0.88 / 0.73:
  the validation seasons, two of them Verstappen's, reward a driver's record more than 2024's seven
  winners did;
- a stop still owed costing half (or 40 / 60 %) of ``PIT_LOSS_S`` on a lap under a safety car or
  VSC (the Miami 2024 case): no change on 2021-2023 (+0.000 at every fraction; too rare there to
  select on), so not adopted on the strength of the test season;
- a temperature on the utilities: 1.1 scores better on 2021-2023 (-0.025 [-0.036, -0.012]), 0.9
  worse; not adopted after the driver-form result (the validation seasons favour confidence);
- L2 0.1 (-0.002) or 3 (+0.004); the pit loss 20 or 25 s (+-0.000); the gap to the car ahead (25 %:
  -0.020, every lap: +0.016); laps beyond 40 (or 30) on the current tyres (50 %: -0.012, 10 %: +0.021).

P(podium) (the log loss of P(top 3), summed over the running drivers, per race; against the empirical
P(top 3 | position, laps left); ``benchmarks/live.py``). With the later places drawn with the winner
utilities too, it beat the rule early on 2021-2023 (25 %: -0.34 [-0.63, -0.03]) but lost in the last
update (+0.71 [+0.27, +1.26]; Monaco 2024 with a lap to go gave Verstappen, sixth and 14 s down,
P(podium) 0.43): the winner utilities of the cars behind the top two are close, so their order
there is noise. Later places drawn with (1 - s) x utility + s x log P(top 3 | position, laps left),
s = the share of the race run, chosen on 2021-2023 against the rule alone, s^2 and sqrt(s):
10 % -0.34 [-0.62, -0.05], 25 % -0.40 [-0.63, -0.15], 50 % -0.49 [-0.71, -0.25], 75 % -0.16
[-0.27, -0.05], last update +0.03 [-0.03, +0.08] (a tie). On 2024 (reported): -0.37 [-0.76, +0.07],
-1.03 [-1.78, -0.34], -0.18 [-0.46, +0.12], -0.07 [-0.34, +0.25], last update +0.19 [+0.10, +0.38]
(a loss, from +0.81). P(win) is unchanged.

Naive baselines, fitted on the same training seasons (``EmpiricalBaseline``):

- ``position``: the empirical P(win | running position, laps left) of the training seasons;
- ``grid``: the pre-race rule, the empirical P(win | grid slot);
- ``podium``: the empirical P(top 3 | running position, laps left), also the later places' prior.

Artifacts: ``choice.json`` (features and coefficients) and ``metadata.json`` (training seasons, the
empirical tables, the sha256 of every file); ``load_live_model`` verifies them (no pickle). The
cloud poller evaluates the same files in plain Python (``pitwall.live.predictors.LeanLiveModel``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pitwall.data.store import Store, get_store
from pitwall.live.predictors import (
    CHOICE_FEATURES,
    CHOICE_FILE,
    FEATURES,
    LAPS_LEFT_BINS,
    MODEL_VERSION,
    RULE_FLOOR,
    STATE_CHOICE_FEATURES,
    TEMPLATE,
    ChoiceModel,
    DriverPrediction,
    EmpiricalRule,
    LiveModelError,
    choice_inputs,
    feature_rows,
    live_models_dir,
    normalise,
    place_utilities,
    podium_blend,
    predict_lap,
    predictions_of,
    read_model_files,
    rule_of,
    run_share,
)
from pitwall.live.state import LapState

__all__ = ["CHOICE_FEATURES", "TEMPLATE", "DriverPrediction", "LiveModel", "LiveModelError", "EmpiricalBaseline"]

L2_PENALTY = 1.0
"""On standardised inputs, per lap choice (chosen on 2021-2023, see the module docstring)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def feature_matrix(state: LapState) -> np.ndarray:
    """Lap N's features, one row per driver in classification order, columns ``FEATURES``."""
    rows = feature_rows(state)
    return np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))


def state_frame(state: LapState) -> pd.DataFrame:
    """One row per driver of lap N's state: identifiers, ``running``, the state's ``FEATURES`` and the
    choice model's ``STATE_CHOICE_FEATURES``."""
    inputs = np.array(choice_inputs(state), dtype=float).reshape(len(state.drivers), len(STATE_CHOICE_FEATURES))
    frame = pd.concat(
        [
            pd.DataFrame(feature_matrix(state), columns=list(FEATURES)),
            pd.DataFrame(inputs, columns=list(STATE_CHOICE_FEATURES)),
        ],
        axis=1,
    )
    ids = pd.DataFrame(
        {
            "driver_number": [d.driver_number for d in state.drivers],
            "driver_code": [d.driver_code for d in state.drivers],
            "team": [d.team for d in state.drivers],
            "driver_id": [d.driver_id for d in state.drivers],
            "running": [d.running for d in state.drivers],
        }
    )
    return pd.concat([ids, frame], axis=1)


def _laps_left_bin(laps_left: Any) -> np.ndarray:
    return np.searchsorted(np.array(LAPS_LEFT_BINS), np.asarray(laps_left, dtype=float), side="right") - 1


def _normalise(p: np.ndarray, total: float) -> np.ndarray:
    """Scale ``p`` to sum to ``total`` with every value <= 1 (``pitwall.live.predictors.normalise``)."""
    return np.array(normalise(list(np.asarray(p, dtype=float)), total))


@dataclass
class EmpiricalBaseline:
    """P(win | running position, laps left), P(win | grid slot) and P(top 3 | running position,
    laps left) from earlier seasons."""

    by_position: dict[str, float]  # "<position>|<laps-left bin>" -> smoothed win rate
    by_grid: dict[str, float]  # "<grid slot>" -> smoothed win rate
    podium_by_position: dict[str, float] = field(default_factory=dict)  # same keys -> smoothed top-3 rate

    @classmethod
    def fit(cls, rows: pd.DataFrame, alpha: float = 0.5) -> EmpiricalBaseline:
        run = rows[rows["running"]]
        key = run["position"].astype(int).astype(str) + "|" + _laps_left_bin(run["laps_remaining"]).astype(str)

        def rates(outcome: pd.Series, keys: pd.Series, prior: float) -> dict[str, float]:
            g = outcome.groupby(keys)
            return {str(k): float(v) for k, v in ((g.sum() + alpha * prior) / (g.count() + alpha)).items()}

        first = rows.drop_duplicates(["race_id", "driver_number"])
        return cls(
            rates(run["won"], key, 0.05),
            rates(first["won"], first["grid_position"].astype(int).astype(str), 0.05),
            rates(run["podium"], key, 0.15),
        )

    def p_win_position(self, frame: pd.DataFrame) -> np.ndarray:
        """Per lap state frame: the empirical P(win) of each running driver, normalised to 1."""
        keys = frame["position"].astype(int).astype(str) + "|" + _laps_left_bin(frame["laps_remaining"]).astype(str)
        raw = np.array([self.by_position.get(k, RULE_FLOOR) for k in keys])
        return self._finish(raw, frame["running"].to_numpy(bool))

    def p_podium_position(self, frame: pd.DataFrame) -> np.ndarray:
        """Per lap state frame: the empirical P(top 3) of each running driver, summing to 3 (or to
        the number running)."""
        running = frame["running"].to_numpy(bool)
        out = np.zeros(len(frame))
        if running.any():
            out[running] = _normalise(np.exp(self.log_p_podium(frame[running])), float(min(3, running.sum())))
        return out

    def p_win_grid(self, frame: pd.DataFrame) -> np.ndarray:
        """The pre-race rule: empirical P(win | grid slot), over every starter, normalised to 1."""
        raw = np.array([self.by_grid.get(str(int(g)), RULE_FLOOR) for g in frame["grid_position"]])
        return _normalise(raw, 1.0)

    @staticmethod
    def _finish(raw: np.ndarray, running: np.ndarray) -> np.ndarray:
        out = np.zeros(len(raw))
        if running.any():
            out[running] = _normalise(raw[running], 1.0)
        return out

    def log_p_podium(self, frame: pd.DataFrame) -> np.ndarray:
        """log P(top 3 | position, laps left) of each row (floored), the later places' rule."""
        keys = frame["position"].astype(int).astype(str) + "|" + _laps_left_bin(frame["laps_remaining"]).astype(str)
        return np.log(np.maximum([self.podium_by_position.get(k, RULE_FLOOR) for k in keys], RULE_FLOOR))

    def log_priors(self, frame: pd.DataFrame) -> np.ndarray:
        """The two prior inputs (``log_p_rule``, ``log_p_grid``) of each row, unnormalised."""
        keys = frame["position"].astype(int).astype(str) + "|" + _laps_left_bin(frame["laps_remaining"]).astype(str)
        rule = np.array([self.by_position.get(k, RULE_FLOOR) for k in keys], dtype=float)
        grid = np.array([self.by_grid.get(str(int(g)), RULE_FLOOR) for g in frame["grid_position"]], dtype=float)
        return np.log(np.maximum(np.column_stack([rule, grid]), RULE_FLOOR))


def plackett_luce_matrix(u: np.ndarray, later: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised ``pitwall.live.predictors.plackett_luce``: (P(first), P(top 3), expected rank),
    the first place from ``u``, the later ones from ``later`` (default ``u``)."""
    n = len(u)
    w = np.exp(u - u.max())
    first = w / w.sum()
    v = u if later is None else later
    x = np.exp(v - v.max())
    pair = x[:, None] + x[None, :]
    ahead = np.divide(x[None, :], pair, out=np.full((n, n), 0.5), where=pair > 0)  # [i, k]: k ahead of i
    np.fill_diagonal(ahead, 0.0)
    sums = ahead.sum(axis=1)
    expected = first + (1.0 - first) * (2.0 + sums) - (ahead * first[None, :]).sum(axis=1)
    if n <= 3:
        return first, np.ones(n), expected
    total = x.sum()
    rest_j = total - x  # [j]
    second = np.where(rest_j[:, None] > 0, x[None, :] / np.where(rest_j > 0, rest_j, 1.0)[:, None], 1.0 / (n - 1))
    np.fill_diagonal(second, 0.0)
    p_jk = first[:, None] * second  # [j, k]: j first, k second
    rest_jk = rest_j[:, None] - x[None, :]
    third = np.where(
        rest_jk[:, :, None] > 0, x[None, None, :] / np.where(rest_jk > 0, rest_jk, 1.0)[:, :, None], 1.0 / (n - 2)
    )
    idx = np.arange(n)
    third[idx, :, idx] = 0.0
    third[:, idx, idx] = 0.0
    podium = first + p_jk.sum(axis=0) + np.einsum("jk,jki->i", p_jk, third)
    return first, podium, expected


@dataclass
class LiveModel:
    """A trained live model: the conditional logit and the empirical tables (its prior and baselines)."""

    name: str
    train_seasons: tuple[int, ...]
    choice: ChoiceModel
    baseline: EmpiricalBaseline
    metrics: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    @property
    def train_until(self) -> int:
        return max(self.train_seasons)

    @property
    def rule(self) -> EmpiricalRule:
        return EmpiricalRule(self.baseline.by_position, self.baseline.by_grid, self.baseline.podium_by_position)

    def check_season(self, season: int | None, allow_in_sample: bool = False) -> None:
        """Refuse to predict a season the model was trained on (unless asked to)."""
        if season is not None and season <= self.train_until and not allow_in_sample:
            raise LiveModelError(
                f"season: model {self.name!r} was trained on seasons up to {self.train_until}; predicting {season} "
                "would score races it saw in training (train with --train-until "
                f"{season - 1}, or pass allow_in_sample=True / --allow-in-sample)"
            )

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """``CHOICE_FEATURES`` of ``frame``'s rows (a ``state_frame`` / ``race_rows``)."""
        return np.column_stack([self.baseline.log_priors(frame), frame[list(STATE_CHOICE_FEATURES)].to_numpy(float)])

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One lap's ``state_frame`` plus ``p_win``, ``p_podium``, ``expected_position``."""
        n = len(frame)
        running = frame["running"].to_numpy(bool)
        p_win, p_pod = np.zeros(n), np.zeros(n)
        expected = frame["position"].to_numpy(float).copy()
        if running.any():
            rows = frame[running]
            u = self.design(rows) @ np.array(self.choice.coefficients)
            share = run_share(float(rows["race_fraction"].iloc[0]))
            log_podium = self.baseline.log_p_podium(rows)
            later = np.array(place_utilities(u, log_podium, share))
            first, podium, rank = plackett_luce_matrix(u, later)
            rule_podium = _normalise(np.exp(log_podium), float(min(3, len(rows))))
            podium = np.array(podium_blend(list(podium), list(rule_podium), list(first), share))
            p_win[running], p_pod[running], expected[running] = first, podium, rank
        return frame.assign(p_win=p_win, p_podium=p_pod, expected_position=expected)

    def predict_state(self, state: LapState) -> tuple[DriverPrediction, ...]:
        """One lap's predictions, computed as the poller computes them (``predictors.predict_lap``, plain
        Python: ~4 ms a lap against ~15 ms through ``predict_frame``; a unit test holds them equal to 1e-9)."""
        p_win, p_pod, expected = predict_lap(state, self.rule, self.choice)
        return predictions_of(state, p_win, p_pod, expected)

    def connect_to_stream(self, source: str = "replay", update_frequency: str = "per_lap", callback=None, **kwargs):  # type: ignore[no-untyped-def]
        """Live per-lap updates of this model (see ``pitwall.live.stream.connect_to_stream``)."""
        from pitwall.live.stream import connect_to_stream

        return connect_to_stream(self, source=source, update_frequency=update_frequency, callback=callback, **kwargs)

    def save(self, directory: str | Path | None = None) -> Path:
        """Write ``choice.json`` and ``metadata.json`` (with the sha256 of each file)."""
        path = Path(directory) if directory is not None else live_models_dir() / self.name
        path.mkdir(parents=True, exist_ok=True)
        target = path / CHOICE_FILE
        target.write_text(json.dumps(self.choice.to_dict(), indent=2))
        meta = {
            "template": TEMPLATE,
            "version": MODEL_VERSION,
            "name": self.name,
            "train_seasons": list(self.train_seasons),
            "features": list(self.choice.features),
            "metrics": self.metrics,
            "baseline": {
                "by_position": self.baseline.by_position,
                "by_grid": self.baseline.by_grid,
                "podium_by_position": self.baseline.podium_by_position,
            },
            "files": {target.name: hashlib.sha256(target.read_bytes()).hexdigest()},
        }
        (path / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        self.path = path
        return path


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise LiveModelError(f"name: {name!r} is not a valid model name (letters, digits, '_', '-', '.'; max 64)")
    return name


def load_live_model(name_or_path: str | Path) -> LiveModel:
    """A saved live model by name (under ``$PITWALL_HOME/live_models``) or folder, checksum-verified."""
    path = Path(name_or_path)
    if not (path / "metadata.json").exists():
        path = live_models_dir() / check_name(str(name_or_path))
    if not (path / "metadata.json").exists():
        known = sorted(p.name for p in live_models_dir().glob("*") if (p / "metadata.json").exists())
        raise LiveModelError(
            f"model: no live model named {str(name_or_path)!r} (known: {known or 'none'}); "
            "train one with `pitwall live train NAME --train-until 2023`"
        )
    try:
        meta, docs = read_model_files({p.name: p.read_bytes() for p in path.iterdir() if p.is_file()})
    except LiveModelError as exc:
        raise LiveModelError(f"{exc} ({path})") from None
    rule = rule_of(meta)
    return LiveModel(
        name=meta["name"],
        train_seasons=tuple(meta["train_seasons"]),
        choice=ChoiceModel.from_dict(docs[CHOICE_FILE]),
        baseline=EmpiricalBaseline(dict(rule.by_position), dict(rule.by_grid), dict(rule.podium_by_position)),
        metrics=meta.get("metrics", {}),
        path=path,
    )


def race_rows(store: Store, season: int, round_: int, tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every lap state of one stored race as model rows, labelled with the final classification."""
    from pitwall.live.sources.replay import ReplaySource, load_race, season_tables

    tables = tables if tables is not None else season_tables(store, season)
    race = load_race(store, season, round_, tables)
    parts: list[np.ndarray] = []
    ids: list[str | None] = []
    numbers: list[int] = []
    running: list[bool] = []
    for state in ReplaySource(season, round_, race=race):
        parts.append(state_frame(state)[[*FEATURES, *STATE_CHOICE_FEATURES]].to_numpy(float))
        numbers += [d.driver_number for d in state.drivers]
        ids += [d.driver_id for d in state.drivers]
        running += [d.running for d in state.drivers]
    rows = pd.DataFrame(np.vstack(parts), columns=[*FEATURES, *STATE_CHOICE_FEATURES])
    rows.insert(0, "race_id", f"{int(season)}-{int(round_):02d}")
    rows.insert(1, "season", int(season))
    rows.insert(2, "driver_number", numbers)
    rows.insert(3, "driver_id", ids)
    rows.insert(4, "running", running)
    res = tables["results"]
    res = res[res["round"].astype(int) == int(round_)]
    final = {str(r.driver_id): r for r in res.itertuples()}
    pos = [final[i].position if i in final else None for i in ids]
    order = [final[i].position_order if i in final else None for i in ids]
    rows["final_position"] = pd.array(pos, dtype="Int64")
    rows["won"] = rows["final_position"].eq(1).fillna(False).astype(bool)
    rows["podium"] = rows["final_position"].le(3).fillna(False).astype(bool)
    rows["final_order"] = pd.array(order, dtype="Float64").astype(float)
    rows["final_order"] = rows["final_order"].fillna(float(len(race.entrants)))
    return rows


def stored_races(store: Store, seasons: Iterable[int]) -> list[tuple[int, int]]:
    """(season, round) of every race with lap data in ``seasons``."""
    out = []
    for season in sorted(set(seasons)):
        if season not in store.seasons("laps"):
            continue
        laps = store.read("laps", [season])
        out += [(season, int(r)) for r in sorted(set(laps["round"].astype(int)))]
    return out


def training_rows(store: Store, seasons: Sequence[int]) -> pd.DataFrame:
    """Model rows of every lap of every stored race of ``seasons`` (each season read once)."""
    from pitwall.live.sources.replay import season_tables

    frames = []
    for season in sorted(set(seasons)):
        if season not in store.seasons("laps"):
            continue
        tables = season_tables(store, season)
        for round_ in sorted(set(tables["laps"]["round"].astype(int))):
            frames.append(race_rows(store, season, round_, tables))
    if not frames:
        raise LiveModelError(f"seasons: no lap data stored for {list(seasons)}; run `pitwall ingest laps` first")
    return pd.concat(frames, ignore_index=True)


def cross_fitted_design(run: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """``CHOICE_FEATURES`` of the training rows ``run``, each season's priors fitted on the other
    seasons' ``rows`` (all of them when there is one season)."""
    out = np.zeros((len(run), len(CHOICE_FEATURES)))
    seasons = sorted(set(rows["season"].astype(int)))
    for season in sorted(set(run["season"].astype(int))):
        here = (run["season"] == season).to_numpy()
        others = rows[rows["season"] != season] if len(seasons) > 1 else rows
        probe = LiveModel("probe", (season,), ChoiceModel(CHOICE_FEATURES, ()), EmpiricalBaseline.fit(others))
        out[here] = probe.design(run[here])
    return out


def fit_conditional_logit(x: np.ndarray, lap: np.ndarray, chosen: np.ndarray, l2: float = L2_PENALTY) -> np.ndarray:
    """Coefficients of a conditional logit: rows ``x`` grouped by ``lap`` (integer codes), one
    ``chosen`` row per group; penalty ``l2`` on the standardised coefficients (per group)."""
    from scipy.optimize import minimize

    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - x.mean(axis=0)) / scale
    groups = int(lap.max()) + 1

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        u = z @ beta
        top = np.full(groups, -np.inf)
        np.maximum.at(top, lap, u)
        e = np.exp(u - top[lap])
        den = np.bincount(lap, weights=e, minlength=groups)
        p = e / den[lap]
        value = -(u[chosen].sum() - (np.log(den) + top).sum())
        grad = -(z[chosen].sum(axis=0) - (p[:, None] * z).sum(axis=0))
        return (value + l2 * beta @ beta) / groups, (grad + 2 * l2 * beta) / groups

    result = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B")
    if not result.success:
        raise LiveModelError(f"training: the conditional logit did not converge ({result.message})")
    return result.x / scale


def train_live_model(
    name: str = "live_race",
    *,
    train_until: int | None = None,
    seasons: Sequence[int] | None = None,
    store: Store | None = None,
    save: bool = True,
    num_boost_round: int | None = None,
) -> LiveModel:
    """Train the live template on every lap of ``seasons`` (default: all stored seasons ``<= train_until``).

    ``num_boost_round`` belonged to the LightGBM template this one replaced: accepted with a
    ``DeprecationWarning`` and ignored (the conditional logit has no boosting rounds)."""
    if num_boost_round is not None:
        import warnings

        warnings.warn(
            "train_live_model: num_boost_round is ignored (the live template is a conditional logit now)",
            DeprecationWarning,
            stacklevel=2,
        )
    check_name(name)
    store = store if store is not None else get_store()
    if seasons is None:
        if train_until is None:
            raise LiveModelError("train_until: give the last training season (or seasons=...)")
        seasons = [s for s in store.seasons("laps") if s <= train_until]
    seasons = sorted(set(int(s) for s in seasons))
    if train_until is not None and seasons and max(seasons) > train_until:
        raise LiveModelError(f"seasons: {max(seasons)} is after train_until={train_until}")
    rows = training_rows(store, seasons)
    run = rows[rows["running"]].reset_index(drop=True)
    lap_key = run["race_id"].astype(str) + "#" + run["lap"].astype(int).astype(str)
    with_winner = run.groupby(lap_key)["won"].transform("any").to_numpy(bool)  # the winner is running
    run = run[with_winner].reset_index(drop=True)
    codes, _ = pd.factorize(run["race_id"].astype(str) + "#" + run["lap"].astype(int).astype(str))
    coefficients = fit_conditional_logit(cross_fitted_design(run, rows), codes, run["won"].to_numpy(bool))
    model = LiveModel(
        name=name,
        train_seasons=tuple(seasons),
        choice=ChoiceModel(CHOICE_FEATURES, tuple(float(c) for c in coefficients)),
        baseline=EmpiricalBaseline.fit(rows),
        metrics={
            "train_rows": float(len(run)),
            "train_races": float(rows["race_id"].nunique()),
            "train_laps": float(codes.max() + 1),
        },
    )
    if save:
        model.save()
    return model
