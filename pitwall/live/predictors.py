"""The live template's prediction step without numpy, pandas or LightGBM: what the cloud poller runs.

A zip Lambda holds boto3 and the Powertools layer only (``infra.python_lambda``), so the poller
cannot import numpy or LightGBM. A saved live model is ``choice.json`` (a conditional logit's
features and coefficients) plus ``metadata.json`` (the empirical tables it uses as its prior);
:class:`LeanLiveModel` evaluates it here in plain Python: the lap's ``CHOICE_FEATURES``
(:func:`choice_rows`), the utilities, and one Plackett-Luce order over the running drivers
(:func:`plackett_luce`) giving P(win), P(podium) and the expected position together. The library
(:class:`pitwall.live.template.LiveModel`) computes the same with numpy (``predict_frame``); a unit
test holds both equal to 1e-9.

The state's raw feature rows (:func:`feature_rows`), the softmax, the capped normalisation and a
LightGBM text-tree evaluator (:class:`TreeEnsemble`, exact to LightGBM's ``NumericalDecision``) live
here once as well.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitwall.live.state import COMPOUNDS, TRACK_STATUSES, DriverState, LapState

TEMPLATE = "live_race"
FEATURES: tuple[str, ...] = (
    "lap",
    "laps_remaining",
    "race_fraction",
    "position",
    "gap_to_leader_s",
    "interval_s",
    "gap_behind_s",
    "gap_per_lap_left",
    "last_lap_delta_s",
    "compound",
    "tyre_age_laps",
    "stops",
    "stops_vs_leader",
    "laps_down",
    "grid_position",
    "running_cars",
    *(f"status_{s}" for s in TRACK_STATUSES),
)
_COMPOUND_CODE = {c: i for i, c in enumerate(COMPOUNDS)}


class LiveModelError(ValueError):
    """A live model cannot be trained, found or used as asked."""


def feature_rows(state: LapState) -> list[list[float]]:
    """Lap N's features, one row per driver in classification order, columns ``FEATURES``."""
    drivers = state.drivers
    running_times = [d.last_lap_time_s for d in drivers if d.running and d.last_lap_time_s is not None]
    median_lap = float(statistics.median(running_times)) if running_times else math.nan
    leader_stops = drivers[0].stops if drivers else 0
    n_running = sum(d.running for d in drivers)
    left = state.laps_remaining
    fraction = state.lap / state.total_laps if state.total_laps else math.nan
    status = [float(s in state.track_status) for s in TRACK_STATUSES]
    nan = math.nan
    rows = []
    for i, d in enumerate(drivers):
        behind = drivers[i + 1].interval_s if i + 1 < len(drivers) and drivers[i + 1].running else None
        gap = d.gap_to_leader_s if d.gap_to_leader_s is not None else nan
        rows.append(
            [
                float(state.lap),
                float(left),
                fraction,
                float(d.position),
                gap,
                d.interval_s if d.interval_s is not None else nan,
                behind if behind is not None else nan,
                gap / max(left, 1),
                (d.last_lap_time_s - median_lap) if d.last_lap_time_s is not None else nan,
                float(_COMPOUND_CODE.get(d.compound or "", nan)),
                float(d.tyre_age_laps) if d.tyre_age_laps is not None else nan,
                float(d.stops),
                float(d.stops - leader_stops),
                float(d.laps_down),
                float(d.grid_position if d.grid_position is not None else len(drivers)),
                float(n_running),
                *status,
            ]
        )
    return rows


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    e = [math.exp(s - top) for s in scores]
    total = sum(e)
    return [x / total for x in e]


def normalise(p: Sequence[float], total: float) -> list[float]:
    """Scale ``p`` to sum to ``total`` with every value <= 1 (mass above 1 is spread over the rest)."""
    p = [max(float(x), 1e-9) for x in p]
    n = len(p)
    out = [0.0] * n
    free = [True] * n
    remaining = float(min(total, n))
    for _ in range(n + 1):
        idx = [i for i in range(n) if free[i]]
        if not idx or remaining <= 0:
            break
        mass = sum(p[i] for i in idx)
        scaled = {i: p[i] / mass * remaining for i in idx}
        if all(v <= 1.0 for v in scaled.values()):
            for i, v in scaled.items():
                out[i] = v
            break
        for i, v in scaled.items():
            if v > 1.0:
                out[i] = 1.0
                free[i] = False
        remaining = float(min(total, n)) - sum(out[i] for i in range(n) if not free[i])
    return out


@dataclass(frozen=True)
class DriverPrediction:
    driver_number: int
    driver_code: str | None
    team: str | None
    position: int
    running: bool
    p_win: float
    p_podium: float
    expected_position: float
    driver_id: str | None = None


def predictions_of(
    state: LapState, p_win: Sequence[float], p_podium: Sequence[float], expected: Sequence[float]
) -> tuple[DriverPrediction, ...]:
    return tuple(
        DriverPrediction(
            driver_number=d.driver_number,
            driver_code=d.driver_code,
            team=d.team,
            position=d.position,
            running=d.running,
            p_win=float(w),
            p_podium=float(p),
            expected_position=float(e),
            driver_id=d.driver_id,
        )
        for d, w, p, e in zip(state.drivers, p_win, p_podium, expected, strict=True)
    )


# --------------------------------------------------------------------------- LightGBM text trees

_CATEGORICAL_MASK = 1
_DEFAULT_LEFT_MASK = 2
_ZERO_THRESHOLD = 1e-35


@dataclass(frozen=True)
class _Tree:
    split_feature: tuple[int, ...]
    threshold: tuple[float, ...]
    decision_type: tuple[int, ...]
    left_child: tuple[int, ...]
    right_child: tuple[int, ...]
    leaf_value: tuple[float, ...]

    def value(self, row: Sequence[float]) -> float:
        if not self.split_feature:
            return self.leaf_value[0]
        node = 0
        while node >= 0:
            fval = row[self.split_feature[node]]
            kind = self.decision_type[node]
            missing = (kind >> 2) & 3  # 0 none, 1 zero, 2 NaN
            if math.isnan(fval) and missing != 2:
                fval = 0.0
            if (missing == 1 and -_ZERO_THRESHOLD <= fval <= _ZERO_THRESHOLD) or (missing == 2 and math.isnan(fval)):
                node = self.left_child[node] if kind & _DEFAULT_LEFT_MASK else self.right_child[node]
            elif fval <= self.threshold[node]:
                node = self.left_child[node]
            else:
                node = self.right_child[node]
        return self.leaf_value[~node]


@dataclass(frozen=True)
class TreeEnsemble:
    """A LightGBM text model (gbdt, numerical splits) evaluated in Python."""

    objective: str
    sigmoid: float
    trees: tuple[_Tree, ...]
    feature_names: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> TreeEnsemble:
        header: dict[str, str] = {}
        trees: list[_Tree] = []
        block: dict[str, str] | None = None
        for line in text.splitlines():
            if line.startswith("Tree="):
                block = {}
                continue
            if line.startswith("end of trees"):
                if block:
                    trees.append(cls._tree(block))
                break
            if "=" not in line:
                if block:
                    trees.append(cls._tree(block))
                    block = None
                continue
            key, _, value = line.partition("=")
            (block if block is not None else header)[key] = value
        objective, *options = header.get("objective", "regression").split()
        sigmoid = 1.0
        for option in options:
            if option.startswith("sigmoid:"):
                sigmoid = float(option.split(":", 1)[1])
        if objective not in ("binary", "regression"):
            raise LiveModelError(f"objective: {objective!r} models are not evaluated without LightGBM")
        return cls(objective, sigmoid, tuple(trees), tuple(header.get("feature_names", "").split()))

    @staticmethod
    def _tree(block: Mapping[str, str]) -> _Tree:
        if int(block.get("num_cat", "0")):
            raise LiveModelError("model: categorical splits are not evaluated without LightGBM")

        def ints(key: str) -> tuple[int, ...]:
            return tuple(int(x) for x in block.get(key, "").split())

        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(x) for x in block.get(key, "").split())

        return _Tree(
            ints("split_feature"),
            floats("threshold"),
            ints("decision_type"),
            ints("left_child"),
            ints("right_child"),
            floats("leaf_value"),
        )

    def raw(self, row: Sequence[float]) -> float:
        return sum(t.value(row) for t in self.trees)

    def predict(self, row: Sequence[float]) -> float:
        raw = self.raw(row)
        if self.objective == "binary":
            return 1.0 / (1.0 + math.exp(-self.sigmoid * raw))
        return raw


# --------------------------------------------------------------------------- the race-wise choice model

LAPS_LEFT_BINS: tuple[int, ...] = (0, 1, 2, 3, 5, 10, 20, 30, 45)
"""Lower edges of the laps-left buckets of the empirical P(win | position, laps left)."""
RULE_FLOOR = 1e-4
"""The empirical rule's P(win) of a cell never seen in training."""
PIT_LOSS_S = 22.0
"""Time a stop still owed costs (s), added to the gap to the leader (``pit_adjusted_gap_z``)."""
LAST_LAP_OFFSET = 0.05
"""``pit_adjusted_gap_z`` divides by sqrt(laps left + 0.05): on the last lap a gap is final (chosen on
2021-2023 against + 1: the last update's winner log loss 0.028 against 0.050, the rest unchanged)."""
LAPPED_GAP_S = 60.0
GAP_CAP_S = 150.0
DRY_COMPOUNDS = ("SOFT", "MEDIUM", "HARD")
STATE_CHOICE_FEATURES: tuple[str, ...] = (
    "pit_adjusted_gap_z",
    "pit_adjusted_gap_z_neutralised",
    "stops_owed",
    "tyre_age_vs_field",
    "pre_race_strength",
)
CHOICE_FEATURES: tuple[str, ...] = ("log_p_rule", "log_p_grid", *STATE_CHOICE_FEATURES)
"""The conditional logit's inputs per running driver at the end of lap N (``choice_inputs``):

- ``log_p_rule``: log of the empirical P(win | running position, laps left) of the training seasons
  (the naive rule as the model's prior);
- ``log_p_grid``: log of the empirical P(win | grid slot);
- ``pit_adjusted_gap_z``: (gap to the leader + ``PIT_LOSS_S`` x stops still owed) minus the field's
  smallest such time, over sqrt(laps left + 0.05) (a lapped car or an unknown gap counts as the
  largest known gap + 60 s; gaps capped at 150 s);
- ``pit_adjusted_gap_z_neutralised``: that time over sqrt(laps left + 1) on a lap under a safety car
  or VSC (gaps shrink), else 0;
- ``stops_owed``: 1 for a car on dry tyres that has not stopped yet with more than 3 laps left;
- ``tyre_age_vs_field``: (tyre age - the running field's median) / 10 x sqrt(laps left) / 5 (older
  tyres cost time on every lap still to run; 0 when unknown);
- ``pre_race_strength``: the team's mean points per car over its previous 6 races / 10
  (``pitwall.live.strength``; 0 when unknown, the same for the whole field is no information).
"""


def laps_left_bin(laps_left: float) -> int:
    return bisect.bisect_right(LAPS_LEFT_BINS, float(laps_left)) - 1


def rule_key(position: float, laps_left: float) -> str:
    return f"{int(position)}|{laps_left_bin(laps_left)}"


def choice_inputs(state: LapState) -> list[list[float]]:
    """``STATE_CHOICE_FEATURES`` per driver of lap N (classification order; NaN for a stopped car).

    Field quantities (largest gap, smallest pit-adjusted time, median tyre age) are over the
    drivers running on lap N."""
    drivers = state.drivers
    running = [d for d in drivers if d.running]
    nan = math.nan
    if not running:
        return [[nan] * len(STATE_CHOICE_FEATURES) for _ in drivers]
    left = state.laps_remaining
    scale = math.sqrt(left + 1)
    neutralised = 1.0 if state.track_status & {"sc", "vsc"} else 0.0
    known = [d.gap_to_leader_s for d in running if d.gap_to_leader_s is not None and not math.isnan(d.gap_to_leader_s)]
    largest = max(known, default=0.0)
    ages = [float(d.tyre_age_laps) for d in running if d.tyre_age_laps is not None]
    median_age = float(statistics.median(ages)) if ages else nan

    def gap(d: DriverState) -> float:
        g = d.gap_to_leader_s
        g = largest + LAPPED_GAP_S if g is None or math.isnan(g) else g
        return min(g, GAP_CAP_S)

    def owed(d: DriverState) -> float:
        return 1.0 if d.stops == 0 and d.compound in DRY_COMPOUNDS and left > 3 else 0.0

    adjusted = {d.driver_number: gap(d) + PIT_LOSS_S * owed(d) for d in running}
    best = min(adjusted.values())
    rows = []
    for d in drivers:
        if not d.running:
            rows.append([nan] * len(STATE_CHOICE_FEATURES))
            continue
        behind = adjusted[d.driver_number] - best
        z = behind / math.sqrt(left + LAST_LAP_OFFSET)
        age = float(d.tyre_age_laps) if d.tyre_age_laps is not None else nan
        rel_age = age - median_age
        rel_age = 0.0 if math.isnan(rel_age) else rel_age / 10.0
        strength = d.pre_race_strength
        rows.append(
            [
                z,
                behind / scale * neutralised,
                owed(d),
                rel_age * math.sqrt(left) / 5.0,
                0.0 if strength is None or math.isnan(strength) else strength / 10.0,
            ]
        )
    return rows


@dataclass(frozen=True)
class EmpiricalRule:
    """The naive rules' tables: P(win | running position, laps-left bin), P(win | grid slot) and
    P(top 3 | running position, laps-left bin)."""

    by_position: Mapping[str, float]
    by_grid: Mapping[str, float]
    podium_by_position: Mapping[str, float]

    def p_position(self, position: float, laps_left: float) -> float:
        return float(self.by_position.get(rule_key(position, laps_left), RULE_FLOOR))

    def p_grid(self, grid: float) -> float:
        return float(self.by_grid.get(str(int(grid)), RULE_FLOOR))

    def p_podium_position(self, position: float, laps_left: float) -> float:
        return float(self.podium_by_position.get(rule_key(position, laps_left), RULE_FLOOR))


def run_share(race_fraction: float) -> float:
    """The share of the race run, from the feature ``race_fraction`` (lap / scheduled laps):
    clipped to 0..1, 0 when the distance is unknown (NaN)."""
    return min(max(race_fraction, 0.0), 1.0) if math.isfinite(race_fraction) else 0.0


def place_utilities(utilities: Sequence[float], log_p_podium: Sequence[float], share: float) -> list[float]:
    """The utilities of the places after the first: (1 - s) x the model's utilities + s x the log of
    the empirical P(top 3 | position, laps left), s = ``run_share``. The model is fitted on who
    wins; late in a race who wins says little about who is third (the winner-only utilities of the
    cars behind the top two are close, and a car 14 s down with a lap to go kept a podium chance),
    where the running order does. Chosen on 2021-2023 (``pitwall.live.template``)."""
    return [(1.0 - share) * u + share * lp for u, lp in zip(utilities, log_p_podium, strict=True)]


PODIUM_RULE_POWER = 4
"""``podium_blend``'s weight of the rule is s ** 4. Chosen on 2021-2023 (models trained on the seasons
before; P(podium) log loss, model - rule, at 50/75/90/95 % of the race and the last update) among
the Plackett-Luce order alone and s ** k for k = 1, 2, 4, 8, 16, 32: the largest summed gain over the
rule (summed over the 3 seasons and 5 moments: k = 1 -1.23, 2 -1.66, 4 -1.93, 8 -2.04, 16 -2.02, 32 -1.96,
the order alone -1.81) of those never worse than it by more than 0.05 in a season and moment (the order
alone: +0.14 at 90 % in 2023 and +0.11 in the last update of 2022; k = 8: +0.065 at 90 % in 2023).
With it no season and moment of 2021-2023 is a loss (paired intervals); on 2024 the last update went
from +0.19 [+0.10, +0.38] to a tie (``benchmarks/live.py``)."""


def podium_blend(
    p_order: Sequence[float], p_rule: Sequence[float], p_win: Sequence[float], share: float
) -> list[float]:
    """P(podium) of the running drivers: (1 - w) x the Plackett-Luce order's + w x the empirical
    P(top 3 | position, laps left) (normalised to sum to 3), w = s ** ``PODIUM_RULE_POWER``, s =
    ``run_share``; then never below the driver's P(win) (what a driver gains to reach it is taken
    from the others' P(podium) above their P(win), in proportion), so the result still sums to 3 (or
    to the number running). A Plackett-Luce order spreads the third place over the whole field (in
    the last update of a 2024 race the fourth car kept 0.11 where the table says 0.08, the second and
    third 0.92 where it says 0.94-0.96); near the end the table, fitted on how races end, is the
    better judge."""
    w = min(max(share, 0.0), 1.0) ** PODIUM_RULE_POWER
    blend = [max((1.0 - w) * a + w * b, c) for a, b, c in zip(p_order, p_rule, p_win, strict=True)]
    excess = sum(blend) - sum(p_order)
    room = sum(b - c for b, c in zip(blend, p_win, strict=True))
    if excess <= 0.0 or room <= 0.0:
        return blend
    return [b - excess * (b - c) / room for b, c in zip(blend, p_win, strict=True)]


def choice_rows(state: LapState, rule: EmpiricalRule) -> tuple[list[int], list[list[float]]]:
    """(indices of the running drivers in ``state.drivers``, their ``CHOICE_FEATURES`` rows)."""
    inputs = choice_inputs(state)
    left = state.laps_remaining
    idx, rows = [], []
    for i, (d, row) in enumerate(zip(state.drivers, inputs, strict=True)):
        if not d.running:
            continue
        grid = d.grid_position if d.grid_position is not None else len(state.drivers)
        p_rule = max(rule.p_position(d.position, left), RULE_FLOOR)
        p_grid = max(rule.p_grid(grid), RULE_FLOOR)
        idx.append(i)
        rows.append([math.log(p_rule), math.log(p_grid), *row])
    return idx, rows


def plackett_luce(
    utilities: Sequence[float], later: Sequence[float] | None = None
) -> tuple[list[float], list[float], list[float]]:
    """(P(first), P(top 3), expected rank) of each item under a Plackett-Luce order whose first place
    is drawn with ``utilities`` and every later place with ``later`` (default: the same).

    P(first) is the softmax of ``utilities``; P(top 3) sums the orders of the first three places
    exactly; the expected rank is P(first) + sum over j of P(j first) x (2 + the number of the
    others expected ahead among the rest: x_k / (x_i + x_k) with x = exp(later))."""
    n = len(utilities)
    if n == 0:
        return [], [], []
    top = max(utilities)
    w = [math.exp(u - top) for u in utilities]
    total = sum(w)
    first = [x / total for x in w]
    v = list(utilities) if later is None else list(later)
    top_v = max(v)
    x = [math.exp(u - top_v) for u in v]
    ahead = [[x[k] / (x[i] + x[k]) if x[i] + x[k] > 0 else 0.5 for k in range(n)] for i in range(n)]
    for i in range(n):
        ahead[i][i] = 0.0
    sums = [math.fsum(row) for row in ahead]
    expected = [
        first[i] + math.fsum(first[j] * (2.0 + sums[i] - ahead[i][j]) for j in range(n) if j != i) for i in range(n)
    ]
    if n <= 3:
        return first, [1.0] * n, expected
    total_x = sum(x)
    podium = list(first)
    for j in range(n):
        rest_j = total_x - x[j]
        for k in range(n):
            if k == j:
                continue
            p_jk = first[j] * (x[k] / rest_j if rest_j > 0 else 1.0 / (n - 1))
            podium[k] += p_jk
            rest_jk = rest_j - x[k]
            for i in range(n):
                if i != j and i != k:
                    podium[i] += p_jk * (x[i] / rest_jk if rest_jk > 0 else 1.0 / (n - 2))
    return first, podium, expected


@dataclass(frozen=True)
class ChoiceModel:
    """A conditional logit over the drivers running on a lap: utility = coefficients . features."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]

    def utility(self, row: Sequence[float]) -> float:
        return math.fsum(c * x for c, x in zip(self.coefficients, row, strict=True))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "coefficients": list(self.coefficients)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ChoiceModel:
        features = tuple(str(f) for f in doc.get("features", ()))
        coefficients = tuple(float(c) for c in doc.get("coefficients", ()))
        if features != CHOICE_FEATURES or len(coefficients) != len(features):
            raise LiveModelError(
                f"model: choice.json has features {list(features)}; this Pitwall computes {list(CHOICE_FEATURES)} "
                "(retrain it with `pitwall live train`)"
            )
        return cls(features, coefficients)


def predict_lap(
    state: LapState, rule: EmpiricalRule, model: ChoiceModel
) -> tuple[list[float], list[float], list[float]]:
    """(P(win), P(podium), expected position) per driver of lap N, from one Plackett-Luce order
    over the running drivers (first place from the model's utilities, the later places from
    ``place_utilities``; so the leader's expected position agrees with their P(win)), P(podium)
    blended into the empirical table as the race ends (``podium_blend``); a stopped driver gets 0,
    0 and keeps their position (behind every running car)."""
    n = len(state.drivers)
    p_win = [0.0] * n
    p_pod = [0.0] * n
    expected = [float(d.position) for d in state.drivers]
    idx, rows = choice_rows(state, rule)
    if idx:
        left = state.laps_remaining
        utilities = [model.utility(r) for r in rows]
        log_podium = [math.log(max(rule.p_podium_position(state.drivers[i].position, left), RULE_FLOOR)) for i in idx]
        fraction = state.lap / state.total_laps if state.total_laps else math.nan  # ``race_fraction``
        share = run_share(fraction)
        later = place_utilities(utilities, log_podium, share)
        first, podium, rank = plackett_luce(utilities, later)
        rule_podium = normalise([math.exp(lp) for lp in log_podium], float(min(3, len(idx))))
        podium = podium_blend(podium, rule_podium, first, share)
        for i, a, b, c in zip(idx, first, podium, rank, strict=True):
            p_win[i], p_pod[i], expected[i] = a, b, c
    return p_win, p_pod, expected


CHOICE_FILE = "choice.json"
MODEL_VERSION = 3
"""3: the conditional logit (``choice.json``) and the P(top 3 | position, laps left) table of its later
places; 2 had no podium table; 1 was three LightGBM boosters."""


@dataclass
class LeanLiveModel:
    """A saved live model evaluated in plain Python (``predict_state`` as ``LiveModel``'s)."""

    name: str
    train_seasons: tuple[int, ...]
    rule: EmpiricalRule
    choice: ChoiceModel

    @property
    def train_until(self) -> int:
        return max(self.train_seasons)

    def check_season(self, season: int | None, allow_in_sample: bool = False) -> None:
        if season is not None and season <= self.train_until and not allow_in_sample:
            raise LiveModelError(
                f"season: model {self.name!r} was trained on seasons up to {self.train_until}; predicting {season} "
                "would score races it saw in training"
            )

    def predict_state(self, state: LapState) -> tuple[DriverPrediction, ...]:
        p_win, p_pod, expected = predict_lap(state, self.rule, self.choice)
        return predictions_of(state, p_win, p_pod, expected)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> LeanLiveModel:
        """From a saved model's files (``metadata.json`` and ``choice.json``), checksum-verified."""
        meta, docs = read_model_files(files)
        return cls(meta["name"], tuple(meta["train_seasons"]), rule_of(meta), ChoiceModel.from_dict(docs[CHOICE_FILE]))

    @classmethod
    def from_dir(cls, path: str | Path) -> LeanLiveModel:
        folder = Path(path)
        return cls.from_files({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})


def read_model_files(files: Mapping[str, bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, file name -> parsed JSON) of a saved live model, every file checksum-verified."""
    if "metadata.json" not in files:
        raise LiveModelError("model: metadata.json is missing")
    meta = json.loads(files["metadata.json"])
    if meta.get("template") != TEMPLATE:
        raise LiveModelError(f"model: not a {TEMPLATE} model")
    if meta.get("version") != MODEL_VERSION or CHOICE_FILE not in meta.get("files", {}):
        raise LiveModelError(
            f"model: {meta.get('name')!r} was saved by an older Pitwall (model format {meta.get('version')}, "
            f"this one reads {MODEL_VERSION}); retrain it with "
            "`pitwall live train NAME --train-until 2023`"
        )
    docs = {}
    for file, digest in meta["files"].items():
        data = files.get(file)
        if data is None:
            raise LiveModelError(f"model: {file} is missing")
        if hashlib.sha256(data).hexdigest() != digest:
            raise LiveModelError(f"model: {file} does not match its recorded sha256 (tampered or corrupt)")
        docs[file] = json.loads(data)
    return meta, docs


def rule_of(meta: Mapping[str, Any]) -> EmpiricalRule:
    base = meta.get("baseline") or {}
    return EmpiricalRule(
        dict(base.get("by_position", {})), dict(base.get("by_grid", {})), dict(base.get("podium_by_position", {}))
    )


def live_models_dir() -> Path:
    """Where saved live models live locally: ``$PITWALL_HOME/live_models/<name>/``."""
    from pitwall.config import pitwall_home

    return pitwall_home() / "live_models"


def model_file_names(metadata: Mapping[str, Any]) -> list[str]:
    """The files of a saved live model (``metadata.json`` first)."""
    return ["metadata.json", *sorted(metadata.get("files", {}))]
