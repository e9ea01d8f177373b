"""Lap-level models in the live stream: at the end of lap N, each running driver's lap N+1 predicted
by a lap-level template model (``lap_time``), from laps ``<= N`` only.

The features are the template's own (``pitwall.features.laps.lap_frame`` and
``pitwall.templates.strategy.lap_inputs``), computed point-in-time: the race's stored laps cut at
lap N plus, per driver who completed lap N, a row for lap N+1 that holds only what is known when
it starts (the same stint and compound, tyre life + 1, no time, no position, no status). Every
``prev_*`` input of that row therefore comes from laps ``<= N``; perturbing later laps cannot
change it (a test checks this, and that the row equals the stored lap N+1's inputs).

The template's scope is a green lap after a clean lap of the same stint: a driver whose lap N was
not clean (pit entry, yellow/SC, the first lap) gets no prediction, and the prediction says what
lap N+1 would be if it runs green. A replay reads the race's stored laps; an OpenF1 stream builds the
same table from its feed as laps complete (``OpenF1Source.lap_rows``, ``set_laps``): lap times, session
times, stints and tyre life, pit in/out laps and the lap's track status (race control's, the same
for every car; the stored FastF1 laps carry each car's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pitwall.data.store import Store
from pitwall.live.state import LapState

LAP_TEMPLATE = "lap_time"
MAX_LAP_TIME_S = 200.0


def template_inputs(lf: pd.DataFrame) -> pd.DataFrame:
    """The lap templates' inputs of ``lap_frame`` rows: ``strategy._laps``' encodings (as the
    template's frame builder applies them to the stored lap features) and ``strategy.lap_inputs``."""
    from pitwall.templates.strategy import COMPOUND_CODES, encode, lap_inputs

    lf = lf.copy()
    lf["compound_code"] = encode(lf["compound"], COMPOUND_CODES)
    lf["fresh_tyre_flag"] = lf["fresh_tyre"].astype("boolean").astype("float64")
    return lap_inputs(lf)


class _PointInTime:
    """The inputs ``lap_frame`` reads, with the laps table replaced by the cut one."""

    def __init__(self, base: Any, laps: pd.DataFrame) -> None:
        self._base = base
        self.laps = laps
        self.starts = base.starts
        self.circuit_pit = base.circuit_pit

    def memo(self, key: str, build: Any) -> pd.DataFrame:
        return self._base.memo(key, build)


@dataclass
class NextLapPredictor:
    """A lap-level model (``predict(frame)``, ``input_columns``) for one stored race's live stream."""

    model: Any
    laps: pd.DataFrame  # the race's canonical laps (FeatureInputs.laps rows of the race)
    inputs: Any  # FeatureInputs of the store (starts, pit-loss history)
    name: str = LAP_TEMPLATE

    @classmethod
    def for_race(cls, model: Any, store: Store, season: int, round_: int, name: str = LAP_TEMPLATE) -> NextLapPredictor:
        from pitwall.features.inputs import FeatureInputs

        inputs = FeatureInputs.from_store(store, max_season=int(season))
        laps = inputs.laps
        race = laps[(laps["season"] == int(season)) & (laps["round"] == int(round_))].reset_index(drop=True)
        return cls(model, race, inputs, name)

    def set_laps(self, rows: list[dict[str, Any]]) -> None:
        """The race's laps so far from a live feed, as rows of the lake's ``laps`` table
        (``OpenF1Source.lap_rows``), given the race columns and keys ``FeatureInputs.laps`` adds."""
        from pitwall.data.schema import conform

        if not rows:
            self.laps = self.laps.iloc[0:0]
            return
        lp = self.inputs._with_race(conform("laps", pd.DataFrame(rows)), ("seq", "circuit_id", "scheduled_laps"))
        lp["clean"] = False  # lap_frame derives its own clean flags
        lp["car_key"] = lp["seq"].astype("int64") * 100 + lp["driver_number"].astype("int64")
        lp["stint_key"] = lp["car_key"] * 100 + lp["stint"].fillna(0).astype("int64")
        self.laps = self.inputs.add_keys(lp)

    def next_lap_rows(self, lap: int) -> pd.DataFrame:
        """The template's input rows of lap ``lap + 1`` from the race's laps ``<= lap``."""
        from pitwall.features.laps import lap_frame

        known = self.laps[self.laps["lap_number"] <= lap]
        last = known[known["lap_number"] == lap]
        stub = last.copy()
        stub["lap_number"] = lap + 1
        unknown = pd.Series(False, index=stub.index)
        for col in ("lap_time_s", "session_time_s", "position", "pit_in_time_s", "pit_out_time_s", "track_status"):
            stub[col] = stub[col].where(unknown)  # not known when lap N+1 starts (dtype kept)
        stub["tyre_life"] = stub["tyre_life"] + 1
        stub["is_pit_in_lap"] = False
        stub["is_pit_out_lap"] = False
        stub["clean"] = False
        cut = pd.concat([known, stub], ignore_index=True)
        frame = lap_frame(_PointInTime(self.inputs, cut))  # type: ignore[arg-type]
        rows = template_inputs(frame[frame["lap_number"] == lap + 1]).reset_index(drop=True)
        # in scope: lap N clean and timed (the template's rows also need lap N+1 green: unknown yet)
        scope = rows["prev_clean"].astype(bool) & rows["prev_lap_time_s"].lt(MAX_LAP_TIME_S)
        return rows[scope.to_numpy()].reset_index(drop=True)

    def predict(self, state: LapState) -> dict[int, dict[str, Any]]:
        """driver number -> ``{"lap": N+1, "lap_time_s": ...}`` for the drivers in the template's scope."""
        if state.lap >= state.total_laps:
            return {}
        rows = self.next_lap_rows(state.lap)
        if rows.empty:
            return {}
        columns = list(self.model.input_columns)
        values = self.model.predict(rows[columns].astype("float64"))
        number_of = {d.driver_code: d.driver_number for d in state.drivers}
        out = {}
        for code, value in zip(rows["driver_code"], np.asarray(values, dtype=float), strict=True):
            number = number_of.get(str(code))
            if number is not None and np.isfinite(value):
                out[number] = {"lap": state.lap + 1, "lap_time_s": round(float(value), 3)}
        return out
