"""The live template's prediction step without numpy, pandas or LightGBM: what the cloud poller runs.

A zip Lambda holds boto3 and the Powertools layer only (``infra.python_lambda``), so the poller
cannot import LightGBM. A saved live model is three LightGBM *text* models (``win.txt``,
``podium.txt``, ``position.txt``) plus ``metadata.json``; :class:`TreeEnsemble` evaluates such a
text model in plain Python exactly as LightGBM's ``Tree::NumericalDecision`` does (``<=`` the
threshold goes left; a NaN follows the split's default direction when its missing type is NaN,
otherwise it is read as 0), and :class:`LeanLiveModel` combines the three the same way
:class:`pitwall.live.template.LiveModel` does. A unit test checks both give the same numbers.

The feature rows (:func:`feature_rows`), the softmax over running drivers and the capped
normalisation live here once; the LightGBM-backed template uses them too.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pitwall.live.state import COMPOUNDS, TRACK_STATUSES, LapState

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
MODEL_FILES = ("win.txt", "podium.txt", "position.txt")


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


RowsFunction = Callable[[list[list[float]]], Sequence[float]]


def predict_lap(
    state: LapState, win_scores: RowsFunction, podium_probabilities: RowsFunction, position_change: RowsFunction
) -> tuple[list[float], list[float], list[float]]:
    """(P(win), P(podium), expected position) per driver of a lap from the three models' outputs.

    Each callable takes the running drivers' feature rows and returns one number a
    row: the win model's raw scores, the podium model's probabilities, the places still to gain or
    lose. P(win) is their softmax (sums to 1), P(podium) scaled to ``min(3, running)``; drivers who
    have stopped get 0 and keep their position."""
    rows = feature_rows(state)
    n = len(rows)
    running = [i for i, d in enumerate(state.drivers) if d.running]
    p_win = [0.0] * n
    p_pod = [0.0] * n
    expected = [float(d.position) for d in state.drivers]
    if running:
        xr = [rows[i] for i in running]
        for i, w in zip(running, softmax(list(win_scores(xr))), strict=True):
            p_win[i] = w
        for i, p in zip(running, normalise(list(podium_probabilities(xr)), 3.0), strict=True):
            p_pod[i] = p
        for i, change in zip(running, position_change(xr), strict=True):
            expected[i] = min(max(expected[i] + float(change), 1.0), float(n))
    return p_win, p_pod, expected


@dataclass
class LeanLiveModel:
    """A saved live model evaluated without LightGBM (``predict_state`` as ``LiveModel``'s)."""

    name: str
    train_seasons: tuple[int, ...]
    ensembles: dict[str, TreeEnsemble]
    features: tuple[str, ...] = FEATURES

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
        if self.features != FEATURES:
            raise LiveModelError(f"model: {self.name!r} was trained on other features than this Pitwall computes")
        win, podium, position = self.ensembles["win"], self.ensembles["podium"], self.ensembles["position"]
        p_win, p_pod, expected = predict_lap(
            state,
            lambda xs: [win.raw(x) for x in xs],
            lambda xs: [podium.predict(x) for x in xs],
            lambda xs: [position.predict(x) for x in xs],
        )
        return predictions_of(state, p_win, p_pod, expected)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> LeanLiveModel:
        """From a saved model's files (``metadata.json`` and the three ``*.txt``), checksum-verified."""
        if "metadata.json" not in files:
            raise LiveModelError("model: metadata.json is missing")
        meta = json.loads(files["metadata.json"])
        if meta.get("template") != TEMPLATE:
            raise LiveModelError(f"model: not a {TEMPLATE} model")
        ensembles = {}
        for file, digest in meta["files"].items():
            data = files.get(file)
            if data is None:
                raise LiveModelError(f"model: {file} is missing")
            if hashlib.sha256(data).hexdigest() != digest:
                raise LiveModelError(f"model: {file} does not match its recorded sha256 (tampered or corrupt)")
            ensembles[file.removesuffix(".txt")] = TreeEnsemble.from_text(data.decode())
        return cls(meta["name"], tuple(meta["train_seasons"]), ensembles, tuple(meta["features"]))

    @classmethod
    def from_dir(cls, path: str | Path) -> LeanLiveModel:
        folder = Path(path)
        return cls.from_files({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})


def live_models_dir() -> Path:
    """Where saved live models live locally: ``$PITWALL_HOME/live_models/<name>/``."""
    from pitwall.config import pitwall_home

    return pitwall_home() / "live_models"


def model_file_names(metadata: Mapping[str, Any]) -> list[str]:
    """The files of a saved live model (``metadata.json`` first)."""
    return ["metadata.json", *sorted(metadata.get("files", {}))]
