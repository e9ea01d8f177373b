"""The canonical tables features are computed from, read once, plus the shared derived frames.

``FeatureInputs`` holds the raw canonical race tables (all seasons up to the last one
needed: career features reach back to 1950) and derives, lazily and once, the per-(race,
driver) histories every feature group uses. Every derived frame carries ``seq`` = ``season *
100 + round``, the time order of races.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from pitwall.data.schema import conform, empty
from pitwall.data.store import Store
from pitwall.features.spec import (
    DNF_POSITION,
    DOWNFORCE_TRACK_INDEX,
    DRY_BELOW_WET_SHARE,
    KNOWN_COMPOUNDS,
    NON_STARTS,
    NOT_ENTRANTS,
    PIT_STOP_OUTLIER_S,
    POWER_TRACK_INDEX,
    TRACK_SPEED_WINDOW,
    WET_COMPOUNDS,
    WET_FROM_WET_SHARE,
)

INPUT_TABLES: tuple[str, ...] = (
    "races",
    "results",
    "sprint_results",
    "qualifying",
    "starting_grid",
    "practice",
    "pit_stops",
    "fastest_laps",
    "laps",
    "entries",
)

# Reasons of retirement that are not a failure of the car (matched as lower-case substrings).
NON_TECHNICAL_REASONS: tuple[str, ...] = (
    "accident",
    "collision",
    "spun",
    "spin",
    "withdrew",
    "physical",
    "injury",
    "illness",
    "unwell",
    "unfit",
    "ignored",
    "illegal",
    "disqualif",
    "penalty",
    "misled",
    "money",
    "car raced by",
    "practice only",
    "reserve driver",
    "safety concerns",
    "overtaking",
    "rejoined",
    "outside assistance",
    "incorrect",
    "scrutineering",
    "weight check",
    "underweight",
    "tyre dispute",
    "reversed in pits",
    "push start",
    "driving too slowly",
    "seized by police",
    "technical infringements",
    "fuel sample",
    "wrong tyres",
)


ID_KEYS: dict[str, str] = {"driver_id": "driver_key", "constructor_id": "constructor_key", "circuit_id": "circuit_key"}


def race_seq(season: pd.Series | int, round_: pd.Series | int) -> pd.Series | int:
    """Time order of races: ``season * 100 + round``."""
    if isinstance(season, pd.Series):
        return season.astype("int64") * 100 + pd.Series(round_).astype("int64")
    return int(season) * 100 + int(round_)


def stored_seasons(store: Store, dataset: str) -> list[int]:
    """Seasons with a partition of ``dataset``."""
    return store.seasons(dataset)


def input_fingerprint(store: Store) -> tuple[tuple[str, str], ...]:
    """Identity of the input partitions: ``(key, version token)`` of each object (``Store.versions``).

    The Store replaces whole objects on every write, so an unchanged fingerprint means unchanged inputs.
    """
    return tuple(item for name in INPUT_TABLES for item in store.versions(name).items())


def read_dataset(store: Store, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame:
    """Read a season-partitioned dataset through ``store.read`` (canonical tables conformed to their schema)."""
    season_list = None if seasons is None else sorted({int(s) for s in seasons})
    df = store.read(dataset, season_list)
    if dataset in INPUT_TABLES and not len(df):
        return empty(dataset)
    return df


def status_flag(status: pd.Series, digit: str) -> np.ndarray:
    """Whether each FastF1 track-status string contains ``digit`` (False when missing).

    Evaluated once per distinct status string (there are a few dozen) rather than per lap.
    """
    text = status.astype(object).where(status.notna(), "")
    codes, uniques = pd.factorize(text)
    hits = np.array([digit in str(u) for u in uniques], dtype=bool)
    return hits[codes] if len(uniques) else np.zeros(len(status), dtype=bool)


def _pct_gap(times: pd.Series, by: pd.Series) -> pd.Series:
    best = times.groupby(by).transform("min")
    return (times / best - 1.0) * 100.0


STATE_FRAMES: tuple[str, ...] = (
    "race_rows",
    "weekend_points",
    "starts",
    "entrants",
    "quali",
    "grid",
    "practice_pace",
    "pit_stops",
    "circuit_pit",
    "race_conditions",
    "lap_pace",
    "lap_sectors",
    "constructor_points",
    "constructor_entries",
    "team_race_pct",
)
"""The derived frames that are per race (a race's rows depend on that race's input rows only).

Every feature is computed from these (plus the raw rows of the races it is computed for), so
they are the state an incremental build carries forward: ``FeatureInputs(tables, prior=...)``
takes them for the races before the raw ``tables`` (``pitwall.features.state``)."""


def strip_keys(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the integer key columns ``add_keys`` adds (they depend on the id index)."""
    keys = [k for k in ID_KEYS.values() if k in df.columns]
    return df.drop(columns=keys) if keys else df


@dataclass
class FeatureInputs:
    """Canonical race tables, conformed, plus lazily derived histories.

    ``prior``: the :data:`STATE_FRAMES` of every race before the races of ``tables`` (string ids,
    no key columns), e.g. read from the lake's feature state. Each derived frame is then the
    prior rows followed by the rows derived from ``tables``: the same frame, row for row, as one
    derived from the raw tables of all those races, without reading or deriving them again.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    prior: Mapping[str, pd.DataFrame] | None = None
    _memo: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def memo(self, key: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """``build()`` once per inputs object (history frames shared by several feature groups)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_store(cls, store: Store, max_season: int | None = None) -> FeatureInputs:
        """Read every input table (all seasons, or seasons up to ``max_season``)."""
        seasons = None
        if max_season is not None:
            seasons = [s for s in stored_seasons(store, "races") if s <= max_season]
        return cls({name: read_dataset(store, name, seasons) for name in INPUT_TABLES})

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> FeatureInputs:
        """From in-memory canonical tables (missing tables are empty)."""
        out: dict[str, pd.DataFrame] = {}
        for name in INPUT_TABLES:
            df = frames.get(name)
            out[name] = conform(name, df) if df is not None and len(df) else empty(name)
        return cls(out)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    # --- integer keys ---------------------------------------------------------------------
    @cached_property
    def _id_index(self) -> dict[str, pd.Index]:
        """Every id of each kind seen in the inputs, sorted: the code of an id is its position."""
        out = {}
        frames = [*self.tables.values(), *(self.prior or {}).values()]
        for col in ID_KEYS:
            values = [t[col].dropna().unique() for t in frames if col in t.columns]
            ids = pd.Index(np.concatenate(values) if values else np.array([], dtype=object)).unique()
            out[col] = pd.Index(sorted(ids.astype(str)))
        return out

    def add_keys(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with an int64 key column for each id column it has (``driver_id`` -> ``driver_key``).

        Grouping and as-of joins use these keys: integers are much cheaper than strings. Unknown or
        missing ids get -1 (they never match any history).
        """
        keys = {
            key: self._id_index[col].get_indexer(df[col].astype(object)).astype("int64")
            for col, key in ID_KEYS.items()
            if col in df.columns
        }
        return df.assign(**keys)

    # --- races ----------------------------------------------------------------------------
    # --- state: prior rows + rows derived from the tables ------------------------------------
    @cached_property
    def fresh(self) -> FeatureInputs:
        """The inputs of ``tables`` alone (``self`` when there is no prior)."""
        return self if self.prior is None else FeatureInputs(self.tables)

    def _stateful(self, name: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Derived frame ``name``: ``build()`` without a prior, else the prior rows then the fresh ones."""
        if self.prior is None:
            return build()
        built = getattr(self.fresh, name)
        fresh = strip_keys(built)
        keyed = len(fresh.columns) < len(built.columns)
        prior = self.prior.get(name)
        if prior is None or not len(prior):
            out = fresh
        elif not len(fresh):
            out = strip_keys(prior)[list(fresh.columns)] if set(fresh.columns) <= set(prior.columns) else prior
        else:
            prior = strip_keys(prior)[list(fresh.columns)].astype(fresh.dtypes.to_dict())
            out = pd.concat([prior, fresh], ignore_index=True)
        out = out.reset_index(drop=True)
        return self.add_keys(out) if keyed else out

    def state_frames(self) -> dict[str, pd.DataFrame]:
        """The :data:`STATE_FRAMES` of every race of these inputs (string ids, no key columns)."""
        return {name: strip_keys(getattr(self, name)) for name in STATE_FRAMES}

    # --- races ----------------------------------------------------------------------------
    @cached_property
    def races(self) -> pd.DataFrame:
        """One row per race, time-ordered, with ``seq`` and the track speed index."""
        out = self.race_rows.copy()
        median = out["lap_speed_kmh"].rolling(TRACK_SPEED_WINDOW, min_periods=5).median()
        out["speed_index"] = out["lap_speed_kmh"] / median
        out["is_power"] = out["speed_index"] >= POWER_TRACK_INDEX
        out["is_downforce"] = out["speed_index"] <= DOWNFORCE_TRACK_INDEX
        return self.add_keys(out)

    @cached_property
    def race_rows(self) -> pd.DataFrame:
        """One row per race, time-ordered, with ``seq`` and its lap speed (no cross-race columns)."""
        return self._stateful("race_rows", self._build_race_rows)

    def _build_race_rows(self) -> pd.DataFrame:
        r = self.tables["races"]
        out = pd.DataFrame(
            {
                "season": r["season"].astype("int64"),
                "round": r["round"].astype("int64"),
                "race_id": r["race_id"].astype("string"),
                "circuit_id": r["circuit_id"].astype("string"),
                "circuit_type": r["circuit_type"].astype("string"),
                "course_length_km": r["course_length_km"].astype("float64"),
                "scheduled_laps": r["scheduled_laps"].astype("float64"),
                "has_sprint": r["has_sprint"].fillna(False).astype(bool),
            }
        )
        out["seq"] = race_seq(out["season"], out["round"])
        out = out.sort_values("seq").reset_index(drop=True)
        # lap speed: course length over the fastest of pole time and the race's fastest lap
        q = self.tables["qualifying"]
        fl = self.tables["fastest_laps"]
        pole = q.groupby("race_id")["best_s"].min().astype("float64")
        fast = fl.groupby("race_id")["time_s"].min().astype("float64")
        best = pd.concat([pole, fast], axis=1).min(axis=1)
        lap_s = out["race_id"].map(best).astype("float64")
        out["lap_speed_kmh"] = out["course_length_km"] * 3600.0 / lap_s
        return out

    def _with_race(self, df: pd.DataFrame, cols: Iterable[str] = ("seq", "circuit_id")) -> pd.DataFrame:
        """``df`` (in its order) with race columns added; rows of races not in ``races`` are dropped."""
        pos = pd.Index(self.races["race_id"]).get_indexer(df["race_id"])
        found = pos >= 0
        out = df[found].reset_index(drop=True) if not found.all() else df.reset_index(drop=True)
        take = pos[found]
        for col in cols:
            if col in out.columns:
                out = out.drop(columns=col)
            out[col] = self.races[col].to_numpy()[take]
            if isinstance(self.races[col].dtype, pd.StringDtype):
                out[col] = out[col].astype("string")
        return out

    # --- results-derived ------------------------------------------------------------------
    @cached_property
    def weekend_points(self) -> pd.DataFrame:
        """Points per (race, driver): Grand Prix points (all the driver's cars) plus sprint points."""
        return self._stateful("weekend_points", self._build_weekend_points)

    def _build_weekend_points(self) -> pd.DataFrame:
        res = self.tables["results"]
        spr = self.tables["sprint_results"]
        gp = res.groupby(["race_id", "driver_id"], observed=True)["points"].sum().astype("float64")
        sp = spr.groupby(["race_id", "driver_id"], observed=True)["points"].sum().astype("float64")
        pts = pd.concat([gp.rename("gp"), sp.rename("sprint")], axis=1).fillna(0.0)
        pts["points"] = pts["gp"] + pts["sprint"]
        out = pts[["points"]].reset_index()
        out["race_id"] = out["race_id"].astype("string")
        out["driver_id"] = out["driver_id"].astype("string")
        return self.add_keys(self._with_race(out, ("seq", "season")))

    @cached_property
    def starts(self) -> pd.DataFrame:
        """One row per (race, driver) race start, the driver's best result when he shared cars.

        Columns: seq, season, round, race_id, circuit_id, driver_id, constructor_id,
        position (classified, NaN otherwise), finish_pos (position or 21), classified, grid,
        win, technical_dnf, points (weekend, GP + sprint).
        """
        return self._stateful("starts", self._build_starts)

    def _build_starts(self) -> pd.DataFrame:
        res = self.tables["results"]
        res = res[~res["position_text"].isin(NON_STARTS)]
        res = res.sort_values(["race_id", "driver_id", "position_order"], kind="stable")
        best = res.drop_duplicates(["race_id", "driver_id"], keep="first")
        reason = best["reason_retired"].fillna("").astype(str).str.lower()
        verdict = {r: any(w in r for w in NON_TECHNICAL_REASONS) for r in reason.unique()}
        non_tech = reason.map(verdict).to_numpy(dtype=bool)
        classified = best["finished"].fillna(False).astype(bool).to_numpy()
        has_reason = (reason != "").to_numpy()
        position = best["position"].astype("float64")
        out = pd.DataFrame(
            {
                "race_id": best["race_id"].astype("string"),
                "season": best["season"].astype("int64"),
                "round": best["round"].astype("int64"),
                "driver_id": best["driver_id"].astype("string"),
                "constructor_id": best["constructor_id"].astype("string"),
                "position": position.to_numpy(),
                "finish_pos": position.fillna(float(DNF_POSITION)).to_numpy(),
                "classified": classified,
                "grid": best["grid_position"].astype("float64").to_numpy(),
                "win": (position == 1).to_numpy(),
                "technical_dnf": ~classified & has_reason & ~non_tech,
            }
        )
        out = self._with_race(out, ("seq", "circuit_id"))
        pts = self.weekend_points[["race_id", "driver_id", "points"]]
        out = out.merge(pts, on=["race_id", "driver_id"], how="left")
        out["points"] = out["points"].fillna(0.0)
        return self.add_keys(out.sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True))

    @cached_property
    def entrants(self) -> pd.DataFrame:
        """The row set: drivers in each race (starting grid, or results other than DNQ/DNPQ/DNP);
        a race with neither (an upcoming race) takes its entry list (table ``entries``).

        Columns: seq, season, round, race_id, driver_id, constructor_id, circuit_id.
        """
        return self._stateful("entrants", self._build_entrants)

    def _build_entrants(self) -> pd.DataFrame:
        res = self.tables["results"]
        res = res[~res["position_text"].isin(NOT_ENTRANTS)].sort_values(
            ["race_id", "driver_id", "position_order"], kind="stable"
        )
        grid = self.tables["starting_grid"]
        a = res[["race_id", "driver_id", "constructor_id"]]
        b = grid.sort_values(["race_id", "driver_id", "position"], kind="stable")[
            ["race_id", "driver_id", "constructor_id"]
        ]
        entries = self.tables["entries"]
        c = entries[~entries["race_id"].isin(pd.concat([a["race_id"], b["race_id"]]))]
        c = c.sort_values(["race_id", "driver_id"], kind="stable")[["race_id", "driver_id", "constructor_id"]]
        both = pd.concat([a, b, c], ignore_index=True).drop_duplicates(["race_id", "driver_id"], keep="first")
        both = both.astype({"race_id": "string", "driver_id": "string", "constructor_id": "string"})
        out = self._with_race(both, ("seq", "season", "round", "circuit_id"))
        out = out.sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True)
        return self.add_keys(out[["seq", "season", "round", "race_id", "driver_id", "constructor_id", "circuit_id"]])

    # --- qualifying / grid / practice -----------------------------------------------------
    @cached_property
    def quali(self) -> pd.DataFrame:
        """One row per (race, driver) qualifying result: position, best time, gap (%) to pole time."""
        return self._stateful("quali", self._build_quali)

    def _build_quali(self) -> pd.DataFrame:
        q = self.tables["qualifying"].sort_values(["race_id", "driver_id", "position"], kind="stable")
        q = q.drop_duplicates(["race_id", "driver_id"], keep="first")
        out = pd.DataFrame(
            {
                "race_id": q["race_id"].astype("string"),
                "driver_id": q["driver_id"].astype("string"),
                "constructor_id": q["constructor_id"].astype("string"),
                "quali_position": q["position"].astype("float64").to_numpy(),
                "best_s": q["best_s"].astype("float64").to_numpy(),
            }
        )
        out["gap_pct"] = _pct_gap(out["best_s"], out["race_id"])
        return self.add_keys(
            self._with_race(out).sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True)
        )

    @cached_property
    def grid(self) -> pd.DataFrame:
        """One row per (race, driver) starting-grid slot; pit-lane starts get the number of cars on the grid."""
        return self._stateful("grid", self._build_grid)

    def _build_grid(self) -> pd.DataFrame:
        g = self.tables["starting_grid"]
        g = g.sort_values(["race_id", "driver_id", "position"], kind="stable").drop_duplicates(
            ["race_id", "driver_id"], keep="first"
        )
        out = pd.DataFrame(
            {
                "race_id": g["race_id"].astype("string"),
                "driver_id": g["driver_id"].astype("string"),
                "slot": g["position"].astype("float64").to_numpy(),
            }
        )
        cars = out.groupby("race_id")["driver_id"].transform("size").astype("float64")
        out["start_position"] = out["slot"].fillna(cars)
        out["pole"] = out["slot"] == 1
        return self.add_keys(
            self._with_race(out).sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True)
        )

    @cached_property
    def practice_pace(self) -> pd.DataFrame:
        """Per (race, driver): rank of the best lap over practice sessions held before qualifying."""
        return self._stateful("practice_pace", self._build_practice_pace)

    def _build_practice_pace(self) -> pd.DataFrame:
        p = self.tables["practice"]
        sprint = self.races.set_index("race_id")["has_sprint"]
        p = p[~p["race_id"].map(sprint).fillna(False).astype(bool) | (p["session"] == 1)]
        p = p[p["time_s"].notna()]
        best = p.groupby(["race_id", "driver_id"], observed=True)["time_s"].min().astype("float64").reset_index()
        best["fp_pace_ranking"] = best.groupby("race_id")["time_s"].rank(method="min")
        best = best.astype({"race_id": "string", "driver_id": "string"})
        return best[["race_id", "driver_id", "fp_pace_ranking"]]

    # --- pit stops ------------------------------------------------------------------------
    @cached_property
    def pit_stops(self) -> pd.DataFrame:
        """Pit stops with ``seq``/``circuit_id`` and an ``outlier`` flag (pit-lane time > 120 s or missing)."""
        return self._stateful("pit_stops", self._build_pit_stops)

    def _build_pit_stops(self) -> pd.DataFrame:
        ps = self.tables["pit_stops"]
        out = pd.DataFrame(
            {
                "race_id": ps["race_id"].astype("string"),
                "season": ps["season"].astype("int64"),
                "round": ps["round"].astype("int64"),
                "driver_id": ps["driver_id"].astype("string"),
                "constructor_id": ps["constructor_id"].astype("string"),
                "stop": ps["stop"].astype("int64"),
                "lap": ps["lap"].astype("float64"),
                "time_s": ps["time_s"].astype("float64"),
            }
        )
        out["outlier"] = ~(out["time_s"] <= PIT_STOP_OUTLIER_S)
        out = self._with_race(out, ("seq", "circuit_id", "scheduled_laps"))
        return self.add_keys(out.sort_values(["seq", "driver_id", "stop"], kind="stable").reset_index(drop=True))

    @cached_property
    def circuit_pit(self) -> pd.DataFrame:
        """Per race with stops: circuit, median pit-lane time (valid stops), median stops per classified finisher."""
        return self._stateful("circuit_pit", self._build_circuit_pit)

    def _build_circuit_pit(self) -> pd.DataFrame:
        ps = self.pit_stops[~self.pit_stops["outlier"]]
        med = ps.groupby("race_id")["time_s"].median().rename("median_pit_s")
        counts = ps.groupby(["race_id", "driver_id"]).size().rename("stops").reset_index()
        fin = self.starts[self.starts["classified"]][["race_id", "driver_id"]]
        fin = fin[fin["race_id"].isin(med.index)]
        fin = fin.merge(counts, on=["race_id", "driver_id"], how="left").fillna({"stops": 0})
        stops = fin.groupby("race_id")["stops"].median().astype("float64").rename("median_stops")
        out = pd.concat([med, stops], axis=1).reset_index().rename(columns={"index": "race_id"})
        out["race_id"] = out["race_id"].astype("string")
        return self.add_keys(self._with_race(out).sort_values("seq", kind="stable").reset_index(drop=True))

    # --- laps -----------------------------------------------------------------------------
    @cached_property
    def laps(self) -> pd.DataFrame:
        """FastF1 laps with ``seq``, circuit, scheduled laps and the clean-lap flag."""
        lp = self.tables["laps"]
        if not len(lp):  # no lap data stored (yet): every canonical column, no rows
            out = lp.copy()
            for col, dtype in (
                ("seq", "int64"),
                ("circuit_id", "string"),
                ("scheduled_laps", "float64"),
                ("clean", "bool"),
                ("car_key", "int64"),
                ("stint_key", "int64"),
            ):
                out[col] = pd.Series(dtype=dtype)
            return self.add_keys(out)
        status = lp["track_status"].fillna("")
        clean = (
            lp["is_accurate"].fillna(False).astype(bool)
            & (status == "1").astype(bool)
            & ~lp["is_pit_in_lap"].fillna(False).astype(bool)
            & ~lp["is_pit_out_lap"].fillna(False).astype(bool)
            & (lp["lap_number"] > 1)
            & lp["lap_time_s"].notna()
        )
        out = lp.copy()
        out["clean"] = clean.to_numpy(dtype=bool)
        out = self._with_race(out, ("seq", "circuit_id", "scheduled_laps"))
        # integer keys: (race, car) and (race, car, stint); car numbers are unique within a race
        out["car_key"] = out["seq"].astype("int64") * 100 + out["driver_number"].astype("int64")
        out["stint_key"] = out["car_key"] * 100 + out["stint"].fillna(0).astype("int64")
        return self.add_keys(out)

    @cached_property
    def race_conditions(self) -> pd.DataFrame:
        """Per race with lap data: wet share, condition, and track-status events (SC, VSC, red flag)."""
        return self._stateful("race_conditions", self._build_race_conditions)

    def _build_race_conditions(self) -> pd.DataFrame:
        lp = self.laps  # empty (a season without lap data): the same columns and dtypes, no rows
        comp = lp["compound"].astype("string")
        known = comp.isin(KNOWN_COMPOUNDS).to_numpy(dtype=bool)
        wet = comp.isin(WET_COMPOUNDS).to_numpy(dtype=bool)
        status = lp["track_status"]
        frame = pd.DataFrame(
            {
                "seq": lp["seq"].to_numpy(),
                "known": known,
                "wet": wet & known,
                "sc": status_flag(status, "4"),
                "vsc": status_flag(status, "6"),
                "red": status_flag(status, "5"),
            }
        )
        g = frame.groupby("seq")
        out = pd.DataFrame(
            {
                "wet_share": g["wet"].sum() / g["known"].sum().replace(0, np.nan),
                "safety_car": g["sc"].any(),
                "vsc": g["vsc"].any(),
                "red_flag": g["red"].any(),
            }
        )
        share = out["wet_share"]
        cond = np.where(share < DRY_BELOW_WET_SHARE, "dry", np.where(share >= WET_FROM_WET_SHARE, "wet", "mixed"))
        out["observed_weather"] = pd.Series(cond, index=out.index, dtype="string").where(share.notna())
        out = out.reset_index()
        ids = self.races.set_index("seq")["race_id"]
        out.insert(0, "race_id", out["seq"].map(ids).astype("string"))
        return out.sort_values("seq").reset_index(drop=True)

    @cached_property
    def lap_pace(self) -> pd.DataFrame:
        """Per (race, driver) with clean laps: pace vs teammates (%) and fuel-corrected degradation slope."""
        return self._stateful("lap_pace", self._build_lap_pace)

    def _build_lap_pace(self) -> pd.DataFrame:
        lp = self.laps
        cols = ["race_id", "seq", "driver_id", "pace_vs_teammate", "deg_rate"]
        if not len(lp):
            return self.add_keys(pd.DataFrame(columns=cols))
        clean = lp[lp["clean"] & lp["driver_id"].notna()]
        cars = lp.drop_duplicates("car_key").set_index("car_key")[["race_id", "driver_id"]]
        med = clean.groupby("car_key")["lap_time_s"].median().astype("float64").rename("median_s")
        pace = cars.join(med, how="inner").reset_index(drop=True)
        pace = pace[pace["driver_id"].notna()]
        teams = self.starts[["race_id", "driver_id", "constructor_id"]]
        pace = pace.merge(teams, on=["race_id", "driver_id"], how="inner")
        grp = pace.groupby(["race_id", "constructor_id"], observed=True)["median_s"]
        total, n = grp.transform("sum"), grp.transform("count")
        mate = (total - pace["median_s"]) / (n - 1).where(n > 1)
        pace["pace_vs_teammate"] = (pace["median_s"] / mate - 1.0) * 100.0
        # degradation: per-stint slope of fuel-corrected clean dry laps vs tyre life
        from pitwall.features.spec import FUEL_EFFECT_S_PER_LAP, STINT_MIN_CLEAN_LAPS

        dry = clean[clean["compound"].isin(KNOWN_COMPOUNDS - WET_COMPOUNDS) & clean["tyre_life"].notna()]
        y = dry["lap_time_s"].astype("float64") - FUEL_EFFECT_S_PER_LAP * (
            dry["scheduled_laps"] - dry["lap_number"].astype("float64")
        ).clip(lower=0)
        dry = dry[dry["stint"].notna()]
        y = y.loc[dry.index]
        stint_med = y.groupby(dry["stint_key"].to_numpy()).transform("median")
        keep = (y <= stint_med * 1.05).to_numpy()
        s = pd.DataFrame(
            {
                "car_key": dry["car_key"].to_numpy(),
                "stint_key": dry["stint_key"].to_numpy(),
                "x": dry["tyre_life"].astype("float64").to_numpy(),
                "y": y.to_numpy(),
            }
        )[keep]
        s["xy"] = s["x"] * s["y"]
        s["xx"] = s["x"] * s["x"]
        sums = s.groupby(["car_key", "stint_key"]).agg(
            n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxy=("xy", "sum"), sxx=("xx", "sum")
        )
        sums = sums[sums["n"] >= STINT_MIN_CLEAN_LAPS]
        denom = sums["n"] * sums["sxx"] - sums["sx"] ** 2
        sums["slope"] = (sums["n"] * sums["sxy"] - sums["sx"] * sums["sy"]) / denom.where(denom > 0)
        deg = sums.groupby(level="car_key")["slope"].mean().rename("deg_rate")
        deg = cars.join(deg, how="inner").reset_index(drop=True)
        deg = deg[deg["driver_id"].notna()].astype({"race_id": "string", "driver_id": "string"})
        out = pace[["race_id", "driver_id", "pace_vs_teammate"]].merge(deg, on=["race_id", "driver_id"], how="outer")
        out = self._with_race(out, ("seq",))
        return self.add_keys(out.sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True)[cols])

    @cached_property
    def lap_sectors(self) -> pd.DataFrame:
        """Per (race, driver) with clean laps carrying sector times or speed traps (FastF1 downloads;
        the bundled exports have none): ``ideal_lap_pct``, the driver's ideal lap (sum of his best
        sector 1, 2 and 3 times over his clean laps) over the race's best ideal lap, minus 1, times
        100; ``trap_speed_pct``, his median speed-trap speed (``speed_st_kmh``) over his clean laps
        over the median of all cars' medians, minus 1, times 100."""
        return self._stateful("lap_sectors", self._build_lap_sectors)

    def _build_lap_sectors(self) -> pd.DataFrame:
        lp = self.laps
        cols = ["race_id", "seq", "driver_id", "ideal_lap_pct", "trap_speed_pct"]
        sectors = ["sector1_time_s", "sector2_time_s", "sector3_time_s"]
        timed = sectors + ["speed_st_kmh"]
        # the mask from the few columns it needs, and only those columns copied: laps are large
        # and (in the bundled exports) carry no sector times at all
        keep = lp[timed].notna().any(axis=1) & lp["clean"] & lp["driver_id"].notna() if len(lp) else None
        if keep is None or not keep.any():
            frame = pd.DataFrame(
                {
                    "race_id": pd.Series(dtype="string"),
                    "seq": pd.Series(dtype="int64"),
                    "driver_id": pd.Series(dtype="string"),
                    "ideal_lap_pct": pd.Series(dtype="float64"),
                    "trap_speed_pct": pd.Series(dtype="float64"),
                }
            )
            return self.add_keys(frame)
        clean = lp.loc[keep.to_numpy(dtype=bool), ["car_key", "race_id", "seq", "driver_id", *timed]]
        cars = clean.drop_duplicates("car_key").set_index("car_key")[["race_id", "seq", "driver_id"]]
        by_car = clean.groupby("car_key")
        best = by_car[sectors].min().astype("float64")
        ideal = best.sum(axis=1, skipna=False)  # null unless all three sectors were timed
        trap = by_car["speed_st_kmh"].median().astype("float64")
        out = cars.join(pd.DataFrame({"ideal": ideal, "trap": trap}))
        race_best = out.groupby("seq")["ideal"].transform("min")
        out["ideal_lap_pct"] = (out["ideal"] / race_best - 1.0) * 100.0
        field = out.groupby("seq")["trap"].transform("median")
        out["trap_speed_pct"] = (out["trap"] / field - 1.0) * 100.0
        types = {"race_id": "string", "seq": "int64", "driver_id": "string"}
        out = out.reset_index(drop=True).astype({**types, "ideal_lap_pct": "float64", "trap_speed_pct": "float64"})
        return self.add_keys(out.sort_values(["seq", "driver_id"], kind="stable").reset_index(drop=True)[cols])

    # --- constructors ---------------------------------------------------------------------
    @cached_property
    def constructor_points(self) -> pd.DataFrame:
        """Points per (race ``seq``, constructor): Grand Prix plus sprint points of all its cars."""
        return self._stateful("constructor_points", self._build_constructor_points)

    def _build_constructor_points(self) -> pd.DataFrame:
        frames = []
        for name in ("results", "sprint_results"):
            t = self.tables[name]
            t = t[t["constructor_id"].notna()]
            t = pd.DataFrame(
                {
                    "seq": race_seq(t["season"], t["round"]),
                    "constructor_id": t["constructor_id"].astype("string"),
                    "points": t["points"].astype("float64"),
                }
            )
            frames.append(t.groupby(["seq", "constructor_id"], observed=True)["points"].sum())
        out = pd.concat(frames, axis=1).fillna(0.0).sum(axis=1).rename("points").reset_index()
        out = out.astype({"seq": "int64", "constructor_id": "string", "points": "float64"})
        return self.add_keys(out.sort_values(["seq", "constructor_id"], kind="stable").reset_index(drop=True))

    @cached_property
    def constructor_entries(self) -> pd.DataFrame:
        """One row per (race ``seq``, constructor with a result in it), in results order."""
        return self._stateful("constructor_entries", self._build_constructor_entries)

    def _build_constructor_entries(self) -> pd.DataFrame:
        res = self.tables["results"]
        res = res[res["constructor_id"].notna()]
        out = pd.DataFrame(
            {
                "seq": race_seq(res["season"], res["round"]).astype("int64"),
                "constructor_id": res["constructor_id"].astype("string"),
            }
        )
        out = out[out["seq"].isin(self.races["seq"])].drop_duplicates(["seq", "constructor_id"])
        return self.add_keys(out.reset_index(drop=True))

    @cached_property
    def team_race_pct(self) -> pd.DataFrame:
        """Per (race, constructor) with clean laps: the mean of its cars' median clean-lap times over
        the field's median (%), ``pct``."""
        return self._stateful("team_race_pct", self._build_team_race_pct)

    def _build_team_race_pct(self) -> pd.DataFrame:
        lp = self.laps
        empty_frame = pd.DataFrame(
            {
                "seq": pd.Series(dtype="int64"),
                "constructor_id": pd.Series(dtype="string"),
                "pct": pd.Series(dtype="float64"),
            }
        )
        if not len(lp):
            return self.add_keys(empty_frame)
        clean = lp[lp["clean"] & lp["driver_id"].notna()]
        car = clean.groupby(["seq", "car_key", "driver_id"], observed=True)["lap_time_s"].median().reset_index()
        car["race_id"] = car["seq"].map(self.races.set_index("seq")["race_id"]).astype("string")
        car["driver_id"] = car["driver_id"].astype("string")
        teams = self.starts[["race_id", "driver_id", "constructor_id"]]
        car = car.merge(teams, on=["race_id", "driver_id"], how="inner")
        car = car[car["constructor_id"].notna()]
        if not len(car):
            return self.add_keys(empty_frame)
        field_median = car.groupby("seq")["lap_time_s"].transform("median")
        car["pct"] = (car["lap_time_s"] / field_median - 1.0) * 100.0
        out = car.groupby(["seq", "constructor_id"], observed=True)["pct"].mean().reset_index()
        out = out.astype({"seq": "int64", "constructor_id": "string", "pct": "float64"})
        return self.add_keys(out.sort_values(["seq", "constructor_id"], kind="stable").reset_index(drop=True))
