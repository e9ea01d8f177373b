"""``sector_times`` and ``straight_line_speed`` from FastF1 sector times and speed traps, end to end.

F1DB 2024 rounds 1-4 (real) plus a test-written ``laps_2024.csv`` in FastF1's ``session.laps``
column layout (sector times as the Timedelta strings ``Laps.to_csv()`` writes, speed traps in
km/h) for VER, PER, LEC and NOR in rounds 1-3, ingested through ``pitwall ingest laps``'s path
(``read_laps_file`` + the driver join). Expected values are worked out by hand below.

Per driver and race the clean laps are 2, 4 and 5 (lap 1 and the safety-car lap 3 are not clean
and carry absurdly fast sectors and traps that must be ignored). With a per-(race, driver) offset
``o``, the best sectors are 30 + o, 40 + o and 20 + o: the ideal lap is 90 + 3o. The median
speed-trap speed over the clean laps is 302 + v.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pitwall.data.ingest import ingest_f1db, ingest_laps_csv
from pitwall.data.store import LocalStore
from pitwall.features.compute import compute_features
from pitwall.features.inputs import STATE_FRAMES, FeatureInputs

SEASON = 2024
NUMBERS = {"VER": 1, "PER": 11, "LEC": 16, "NOR": 4}
# sector offset o per race; None: no sector times for that driver in that race
OFFSETS = {
    1: {"VER": 0.0, "PER": 0.3, "LEC": 0.1, "NOR": 0.2},
    2: {"VER": 0.1, "PER": 0.2, "LEC": 0.0, "NOR": 0.3},
    3: {"VER": 0.0, "PER": 0.1, "LEC": 0.2, "NOR": None},
}
# speed-trap offset v per race; None: no speed traps at all in that race
TRAPS = {1: {"VER": 8, "PER": 4, "LEC": 0, "NOR": 2}, 2: None, 3: {"VER": 0, "PER": 2, "LEC": 4, "NOR": 6}}
# clean laps' (s1, s2, s3) minus o, and speed trap minus v; laps 1 and 3 are not clean
CLEAN = {2: ((30.0, 40.5, 20.2), 300), 4: ((30.3, 40.0, 20.4), 302), 5: ((30.2, 40.3, 20.0), 310)}
DIRTY = ((25.0, 35.0, 15.0), 400)


def _td(seconds: float) -> str:
    return str(pd.Timedelta(seconds=round(seconds, 3)))  # "0 days 00:00:30.100000", as Laps.to_csv writes


def laps_csv_frame(offsets=OFFSETS, traps=TRAPS, round4_sectors: float | None = None) -> pd.DataFrame:
    """FastF1 ``session.laps`` columns (plus Season/RoundNumber/EventName, as the exports have)."""
    rows = []
    for rnd in (1, 2, 3, 4):
        for pos, (code, number) in enumerate(NUMBERS.items(), start=1):
            t = 3600.0
            for lap in range(1, 6):
                (s1, s2, s3), trap = CLEAN.get(lap, DIRTY)
                o = offsets.get(rnd, {}).get(code) if rnd < 4 else round4_sectors
                v = traps[rnd][code] if rnd < 4 and traps[rnd] is not None else None
                lap_time = 95.0 + lap * 0.1
                t += lap_time
                row = {
                    "Season": SEASON,
                    "Time": _td(t),
                    "Driver": code,
                    "DriverNumber": str(number),
                    "LapTime": lap_time,
                    "LapNumber": float(lap),
                    "Stint": 1.0,
                    "PitOutTime": "",
                    "PitInTime": "",
                    "Sector1Time": _td(s1 + o) if o is not None else "",
                    "Sector2Time": _td(s2 + o) if o is not None else "",
                    "Sector3Time": _td(s3 + o) if o is not None else "",
                    "SpeedI1": 250.0 + lap if v is not None else "",
                    "SpeedI2": 260.0 + lap if v is not None else "",
                    "SpeedFL": 280.0 + lap if v is not None else "",
                    "SpeedST": float(trap + v) if v is not None else "",
                    "IsPersonalBest": False,
                    "Compound": "MEDIUM",
                    "TyreLife": float(lap),
                    "FreshTyre": True,
                    "Team": "Team",
                    "TrackStatus": "4" if lap == 3 else "1",
                    "Position": float(pos),
                    "IsAccurate": True,
                    "RoundNumber": rnd,
                    "EventName": f"Round {rnd}",
                }
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def f1db_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("f1db-2024-r1-4"))
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[1, 2, 3, 4])
    return store


def features_for(f1db_store: LocalStore, tmp_path: Path, laps: pd.DataFrame, name: str) -> pd.DataFrame:
    store = LocalStore(shutil.copytree(f1db_store.root, tmp_path / name))
    folder = tmp_path / f"{name}-csv"
    folder.mkdir()
    laps.to_csv(folder / f"laps_{SEASON}.csv", index=False)
    report = ingest_laps_csv(store, folder)
    assert report.join is not None and report.join.coverage == 1.0
    out = compute_features(FeatureInputs.from_store(store), seasons=[SEASON])
    return out.set_index(["round", "driver_id"]).sort_index()


@pytest.fixture(scope="module")
def base(f1db_store: LocalStore, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return features_for(f1db_store, tmp_path_factory.mktemp("base"), laps_csv_frame(), "lake")


DRIVERS = {"VER": "max-verstappen", "PER": "sergio-perez", "LEC": "charles-leclerc", "NOR": "lando-norris"}


def _value(frame: pd.DataFrame, rnd: int, code: str, col: str) -> float:
    return float(frame.loc[(rnd, DRIVERS[code]), col])


def test_stored_laps_carry_sector_times_and_speed_traps(f1db_store: LocalStore, tmp_path: Path) -> None:
    features_for(f1db_store, tmp_path, laps_csv_frame(), "lake")
    laps = LocalStore(tmp_path / "lake").read("laps", [SEASON])
    lap = laps[(laps["round"] == 1) & (laps["driver_code"] == "PER") & (laps["lap_number"] == 2)].iloc[0]
    assert lap["sector1_time_s"] == pytest.approx(30.3) and lap["sector3_time_s"] == pytest.approx(20.5)
    assert (lap["speed_i1_kmh"], lap["speed_i2_kmh"], lap["speed_fl_kmh"], lap["speed_st_kmh"]) == (252, 262, 282, 304)
    r4 = laps[laps["round"] == 4]
    assert r4[["sector1_time_s", "speed_st_kmh"]].isna().all().all()
    assert laps["driver_id"].notna().all()


def test_sector_times_are_the_mean_ideal_lap_deficit_of_past_races(base: pd.DataFrame) -> None:
    # race deficits (%): (90 + 3o) / (90 + 3 * race's min o) - 1; NOR has no sectors in race 3
    race1 = {"VER": 0.0, "PER": 0.9 / 90 * 100, "LEC": 0.3 / 90 * 100, "NOR": 0.6 / 90 * 100}
    race2 = {"VER": 0.3 / 90 * 100, "PER": 0.6 / 90 * 100, "LEC": 0.0, "NOR": 0.9 / 90 * 100}
    race3 = {"VER": 0.0, "PER": 0.3 / 90 * 100, "LEC": 0.6 / 90 * 100}
    for code in NUMBERS:
        assert math.isnan(_value(base, 1, code, "sector_times")), code  # no past race
        assert _value(base, 2, code, "sector_times") == pytest.approx(race1[code], abs=1e-9), code
        assert _value(base, 3, code, "sector_times") == pytest.approx((race1[code] + race2[code]) / 2, abs=1e-9)
        past = [race[code] for race in (race1, race2, race3) if code in race]
        assert _value(base, 4, code, "sector_times") == pytest.approx(sum(past) / len(past), abs=1e-9), code
    assert _value(base, 4, "VER", "sector_times") == pytest.approx(0.3 / 90 * 100 / 3, abs=1e-9)
    assert _value(base, 4, "NOR", "sector_times") == pytest.approx((0.6 + 0.9) / 90 * 100 / 2, abs=1e-9)
    # drivers without lap data (everyone else on the grid) stay null
    others = base.drop(index=list(DRIVERS.values()), level="driver_id")
    assert len(others) > 30 and others["sector_times"].isna().all() and others["straight_line_speed"].isna().all()
    assert base["avg_corner_speed"].isna().all()  # no source has corner speeds


def test_straight_line_speed_is_the_mean_trap_speed_edge_of_past_races(base: pd.DataFrame) -> None:
    # median trap over clean laps 302 + v; field median of the four cars 305 in races 1 and 3
    race1 = {code: ((302 + v) / 305 - 1) * 100 for code, v in TRAPS[1].items()}
    race3 = {code: ((302 + v) / 305 - 1) * 100 for code, v in TRAPS[3].items()}
    assert race1["VER"] == pytest.approx((310 / 305 - 1) * 100)
    for code in NUMBERS:
        assert math.isnan(_value(base, 1, code, "straight_line_speed")), code
        # race 2 had no speed traps: races 2 and 3 see race 1 only
        assert _value(base, 2, code, "straight_line_speed") == pytest.approx(race1[code], abs=1e-9), code
        assert _value(base, 3, code, "straight_line_speed") == pytest.approx(race1[code], abs=1e-9), code
        want = (race1[code] + race3[code]) / 2
        assert _value(base, 4, code, "straight_line_speed") == pytest.approx(want, abs=1e-9), code


def test_a_race_own_laps_never_move_its_features(base, f1db_store: LocalStore, tmp_path: Path) -> None:
    # race 3's own sector times and traps scrambled: features of races 1-3 unchanged, race 4's move
    scrambled = {**OFFSETS, 3: {"VER": 0.5, "PER": 0.0, "LEC": 0.9, "NOR": 0.1}}
    traps = {**TRAPS, 3: {"VER": 20, "PER": 0, "LEC": 9, "NOR": 1}}
    changed = features_for(f1db_store, tmp_path, laps_csv_frame(scrambled, traps), "scrambled")
    cols = ["sector_times", "straight_line_speed", "avg_corner_speed"]
    upto3 = base.index.get_level_values("round") <= 3
    pd.testing.assert_frame_equal(changed.loc[upto3, cols], base.loc[upto3, cols])
    mine = [(4, d) for d in DRIVERS.values()]
    assert (changed.loc[mine, "sector_times"] - base.loc[mine, "sector_times"]).abs().min() > 1e-3
    assert (changed.loc[mine, "straight_line_speed"] - base.loc[mine, "straight_line_speed"]).abs().min() > 1e-3
    # the predicted race gains sector times of its own: its features stay as they were
    own = features_for(f1db_store, tmp_path, laps_csv_frame(round4_sectors=0.0), "own")
    pd.testing.assert_frame_equal(own[cols], base[cols])


def test_incremental_inputs_equal_the_full_build(f1db_store: LocalStore, tmp_path: Path) -> None:
    """Round 4 from the lake's state frames of rounds 1-3 plus round 4's raw rows equals a full build."""
    features_for(f1db_store, tmp_path, laps_csv_frame(), "lake")
    full = FeatureInputs.from_store(LocalStore(tmp_path / "lake"))
    assert "lap_sectors" in STATE_FRAMES
    assert len(full.lap_sectors) == 4 * 3  # every car of races 1-3 has sector times or speed traps

    def before_round4(frame: pd.DataFrame) -> pd.DataFrame:
        race = frame["race_id"].astype(str) if "race_id" in frame else (frame["seq"] % 100).map("2024-{:02d}".format)
        return frame[(race < "2024-04").to_numpy()].reset_index(drop=True)

    prior = {name: before_round4(frame) for name, frame in full.state_frames().items()}
    tables = {name: df[df["round"] == 4].reset_index(drop=True) for name, df in full.tables.items()}
    inc = FeatureInputs(tables, prior=prior)
    assert len(inc.lap_sectors) == len(full.lap_sectors)  # prior rows, and none from round 4's laps
    cols = ["round", "driver_id", "sector_times", "straight_line_speed"]
    got = compute_features(inc, seasons=[SEASON])
    got = got[got["round"] == 4][cols].sort_values(cols[:2]).reset_index(drop=True)
    want = compute_features(full, seasons=[SEASON])
    want = want[want["round"] == 4][cols].sort_values(cols[:2]).reset_index(drop=True)
    assert want["sector_times"].notna().sum() == 4
    pd.testing.assert_frame_equal(got, want)
