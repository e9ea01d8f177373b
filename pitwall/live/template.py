"""The live race-result template: P(win), P(podium) and expected finishing position per driver,
updated at the end of every lap.

Prediction moment ``in_race``: at the end of lap N, from lap N's ``LapState`` only (laps
remaining, position, gap to the leader and to the car ahead, last lap against the field,
compound and tyre age, stops made against the leader, laps down, track status, grid slot). The
state of lap N is built from the laps ``<= N``, so nothing after lap N feeds the predictions
about laps N+1 onward.

Training: every lap of every stored race of the training seasons (seasons up to the season
before the one predicted), one row per running driver and lap, labelled with the race's final
classification (``results``). Three LightGBM models: binary win and binary podium (monotone in
position and gap), and a regression of the places still to be gained or lost (final
classification order minus current position; on 2023 held out it has an MAE of 2.15 places
against 2.73 for regressing the final order directly and 2.20 for "the current position").

Per lap, P(win) is the softmax of the win model's scores over the running drivers (a
conditional logit: the field's P(win) sums to 1) and P(podium) the podium model's probabilities
scaled to sum to ``min(3, running)``. Drivers who have stopped get 0.

Model choices were made on held-out training seasons, never on the season predicted: with
training on the seasons before 2022 (resp. 2023) and the winner's log loss averaged over 10, 25,
50 and 75 % of each race, small regularised trees (7 leaves, 300 rows a leaf, L2 10) beat the
default LightGBM trees (2022: 0.85 vs 0.99; 2023: 0.51 vs 0.58) and the softmax beat normalised
binary probabilities on average (0.68 vs 0.72); the empirical P(win | position, laps left) scored
1.07 and 0.77.

Naive baselines, fitted on the same training seasons (``EmpiricalBaseline``):

- ``position``: the empirical P(win | running position, laps left) of the training seasons;
- ``grid``: the pre-race rule, the empirical P(win | grid slot).

Artifacts are LightGBM text models plus ``metadata.json`` with the sha256 of every file;
``load_live_model`` verifies them (no pickle).
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
    FEATURES,
    TEMPLATE,
    DriverPrediction,
    LiveModelError,
    feature_rows,
    live_models_dir,
    normalise,
    predict_lap,
    predictions_of,
    softmax,
)
from pitwall.live.state import LapState

__all__ = ["FEATURES", "TEMPLATE", "DriverPrediction", "LiveModel", "LiveModelError", "EmpiricalBaseline"]

# LightGBM monotone constraints: a worse position or a bigger gap never raises P(win)/P(podium)
_MONOTONE = {"position": -1, "gap_to_leader_s": -1, "gap_per_lap_left": -1}
LAPS_LEFT_BINS: tuple[int, ...] = (0, 1, 2, 3, 5, 10, 20, 30, 45)
"""Lower edges of the laps-left buckets of the empirical P(win | position, laps left)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def feature_matrix(state: LapState) -> np.ndarray:
    """Lap N's features, one row per driver in classification order, columns ``FEATURES``."""
    rows = feature_rows(state)
    return np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))


def state_frame(state: LapState) -> pd.DataFrame:
    """One row per driver of lap N's state: identifiers, ``running`` and the model's features."""
    frame = pd.DataFrame(feature_matrix(state), columns=list(FEATURES))
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
    """P(win | running position, laps left) and P(win | grid slot) from earlier seasons."""

    by_position: dict[str, float]  # "<position>|<laps-left bin>" -> smoothed win rate
    by_grid: dict[str, float]  # "<grid slot>" -> smoothed win rate

    @classmethod
    def fit(cls, rows: pd.DataFrame, alpha: float = 0.5) -> EmpiricalBaseline:
        run = rows[rows["running"]]
        key = run["position"].astype(int).astype(str) + "|" + _laps_left_bin(run["laps_remaining"]).astype(str)
        g = run.groupby(key)["won"]
        by_position = ((g.sum() + alpha * 0.05) / (g.count() + alpha)).to_dict()
        first = rows.drop_duplicates(["race_id", "driver_number"])
        g = first.groupby(first["grid_position"].astype(int).astype(str))["won"]
        by_grid = ((g.sum() + alpha * 0.05) / (g.count() + alpha)).to_dict()
        return cls({str(k): float(v) for k, v in by_position.items()}, {str(k): float(v) for k, v in by_grid.items()})

    def p_win_position(self, frame: pd.DataFrame) -> np.ndarray:
        """Per lap state frame: the empirical P(win) of each running driver, normalised to 1."""
        keys = frame["position"].astype(int).astype(str) + "|" + _laps_left_bin(frame["laps_remaining"]).astype(str)
        raw = np.array([self.by_position.get(k, 1e-4) for k in keys])
        return self._finish(raw, frame["running"].to_numpy(bool))

    def p_win_grid(self, frame: pd.DataFrame) -> np.ndarray:
        """The pre-race rule: empirical P(win | grid slot), over every starter, normalised to 1."""
        raw = np.array([self.by_grid.get(str(int(g)), 1e-4) for g in frame["grid_position"]])
        return _normalise(raw, 1.0)

    @staticmethod
    def _finish(raw: np.ndarray, running: np.ndarray) -> np.ndarray:
        out = np.zeros(len(raw))
        if running.any():
            out[running] = _normalise(raw[running], 1.0)
        return out


@dataclass
class LiveModel:
    """A trained live race-result model (three LightGBM boosters and the empirical baselines)."""

    name: str
    train_seasons: tuple[int, ...]
    boosters: dict[str, Any]  # "win" | "podium" | "position" -> lightgbm.Booster
    baseline: EmpiricalBaseline
    features: tuple[str, ...] = FEATURES
    metrics: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    @property
    def train_until(self) -> int:
        return max(self.train_seasons)

    def check_season(self, season: int | None, allow_in_sample: bool = False) -> None:
        """Refuse to predict a season the model was trained on (unless asked to)."""
        if season is not None and season <= self.train_until and not allow_in_sample:
            raise LiveModelError(
                f"season: model {self.name!r} was trained on seasons up to {self.train_until}; predicting {season} "
                "would score races it saw in training (train with --train-until "
                f"{season - 1}, or pass allow_in_sample=True / --allow-in-sample)"
            )

    def predict_matrix(self, x: np.ndarray, running: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(win), P(podium), expected position) per row of a lap's ``feature_matrix``."""
        n = len(x)
        p_win = np.zeros(n)
        p_pod = np.zeros(n)
        exp_pos = x[:, FEATURES.index("position")].astype(float).copy()
        if running.any():
            xr = x[running]
            p_win[running] = softmax(list(self.boosters["win"].predict(xr, raw_score=True, num_threads=1)))
            p_pod[running] = _normalise(self.boosters["podium"].predict(xr, num_threads=1), 3.0)
            change = self.boosters["position"].predict(xr, num_threads=1)  # final order minus current position
            exp_pos[running] = np.clip(exp_pos[running] + change, 1.0, float(n))
        return p_win, p_pod, exp_pos

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One lap's ``state_frame`` plus ``p_win``, ``p_podium``, ``expected_position``."""
        p_win, p_pod, exp_pos = self.predict_matrix(
            frame[list(self.features)].to_numpy(float), frame["running"].to_numpy(bool)
        )
        return frame.assign(p_win=p_win, p_podium=p_pod, expected_position=exp_pos)

    def predict_state(self, state: LapState) -> tuple[DriverPrediction, ...]:
        if self.features != FEATURES:
            raise LiveModelError(f"model: {self.name!r} was trained on other features than this Pitwall computes")
        boosters = self.boosters

        def run(key: str, raw: bool = False):  # type: ignore[no-untyped-def]
            return lambda rows: boosters[key].predict(np.array(rows, dtype=float), raw_score=raw, num_threads=1)

        p_win, p_pod, expected = predict_lap(state, run("win", raw=True), run("podium"), run("position"))
        return predictions_of(state, p_win, p_pod, expected)

    def connect_to_stream(self, source: str = "replay", update_frequency: str = "per_lap", callback=None, **kwargs):  # type: ignore[no-untyped-def]
        """Live per-lap updates of this model (see ``pitwall.live.stream.connect_to_stream``)."""
        from pitwall.live.stream import connect_to_stream

        return connect_to_stream(self, source=source, update_frequency=update_frequency, callback=callback, **kwargs)

    def save(self, directory: str | Path | None = None) -> Path:
        """Write the boosters (LightGBM text) and ``metadata.json`` (with sha256 of each file)."""
        path = Path(directory) if directory is not None else live_models_dir() / self.name
        path.mkdir(parents=True, exist_ok=True)
        files = {}
        for key, booster in self.boosters.items():
            target = path / f"{key}.txt"
            target.write_text(booster.model_to_string())
            files[target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
        meta = {
            "template": TEMPLATE,
            "name": self.name,
            "train_seasons": list(self.train_seasons),
            "features": list(self.features),
            "metrics": self.metrics,
            "baseline": {"by_position": self.baseline.by_position, "by_grid": self.baseline.by_grid},
            "files": files,
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
    import lightgbm as lgb

    path = Path(name_or_path)
    if not (path / "metadata.json").exists():
        path = live_models_dir() / check_name(str(name_or_path))
    meta_file = path / "metadata.json"
    if not meta_file.exists():
        known = sorted(p.name for p in live_models_dir().glob("*") if (p / "metadata.json").exists())
        raise LiveModelError(
            f"model: no live model named {str(name_or_path)!r} (known: {known or 'none'}); "
            "train one with `pitwall live train NAME --train-until 2023`"
        )
    meta = json.loads(meta_file.read_text())
    if meta.get("template") != TEMPLATE:
        raise LiveModelError(f"model: {path} is not a {TEMPLATE} model")
    boosters = {}
    for file, digest in meta["files"].items():
        data = (path / file).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise LiveModelError(f"model: {path / file} does not match its recorded sha256 (tampered or corrupt)")
        boosters[file.removesuffix(".txt")] = lgb.Booster(model_str=data.decode())
    return LiveModel(
        name=meta["name"],
        train_seasons=tuple(meta["train_seasons"]),
        boosters=boosters,
        baseline=EmpiricalBaseline(meta["baseline"]["by_position"], meta["baseline"]["by_grid"]),
        features=tuple(meta["features"]),
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
        parts.append(feature_matrix(state))
        numbers += [d.driver_number for d in state.drivers]
        ids += [d.driver_id for d in state.drivers]
        running += [d.running for d in state.drivers]
    rows = pd.DataFrame(np.vstack(parts), columns=list(FEATURES))
    rows.insert(0, "race_id", f"{int(season)}-{int(round_):02d}")
    rows.insert(1, "driver_number", numbers)
    rows.insert(2, "driver_id", ids)
    rows.insert(3, "running", running)
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


def train_live_model(
    name: str = "live_race",
    *,
    train_until: int | None = None,
    seasons: Sequence[int] | None = None,
    store: Store | None = None,
    num_boost_round: int = 300,
    save: bool = True,
) -> LiveModel:
    """Train the live template on every lap of ``seasons`` (default: all stored seasons ``<= train_until``)."""
    import lightgbm as lgb

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
    x = run[list(FEATURES)].to_numpy(float)
    base = {  # small, regularised trees: chosen on 2022 and 2023 held out (see the module docstring)
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 300,
        "lambda_l2": 10.0,
        "feature_fraction": 0.9,
        "verbose": -1,
        "num_threads": 2,
        "seed": 7,
        "deterministic": True,
    }
    mono = [_MONOTONE.get(f, 0) for f in FEATURES]
    boosters = {}
    for key, target, params in (
        ("win", run["won"], {**base, "monotone_constraints": mono}),
        ("podium", run["podium"], {**base, "monotone_constraints": mono}),
        ("position", run["final_order"] - run["position"], {**base, "objective": "regression"}),
    ):
        ds = lgb.Dataset(x, label=target.to_numpy(float), feature_name=list(FEATURES), free_raw_data=True)
        boosters[key] = lgb.train(params, ds, num_boost_round=num_boost_round)
    model = LiveModel(
        name=name,
        train_seasons=tuple(seasons),
        boosters=boosters,
        baseline=EmpiricalBaseline.fit(rows),
        metrics={"train_rows": float(len(run)), "train_races": float(rows["race_id"].nunique())},
    )
    if save:
        model.save()
    return model
