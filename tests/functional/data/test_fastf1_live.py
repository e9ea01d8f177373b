"""Live FastF1 source against a fake session built from recorded 2024 Monaco data (no network).

The fixtures in tests/fixtures/fastf1 are FastF1-shaped frames of the 2024 Monaco Grand Prix
(season 2024, round 8): results and qualifying reshaped from F1DB, every lap of LEC, VER and
STR from the FastF1 laps export. Expectations come from the real data: F1DB (pit stops,
classification, grid) and the same laps parsed through the CSV-export path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from pitwall.data.events import LocalEventBus
from pitwall.data.ingest import ingest_f1db
from pitwall.data.schema import conform
from pitwall.data.sources import fastf1_live, laps_csv
from pitwall.data.sources.fastf1_live import LiveTimingUnavailable, fetch_race, ingest_fastf1, load_race
from pitwall.data.store import LocalStore
from pitwall.data.validation import SourceValidationError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fastf1"
SEASON, ROUND = 2024, 8
LAP_TIMEDELTAS = ("Time", "LapTime", "PitOutTime", "PitInTime", "LapStartTime")


class FakeSession:
    """Stands in for a loaded ``fastf1.core.Session``: same attributes, FastF1 dtypes."""

    def __init__(self, kind: str, laps_edit=None, results_edit=None, track_status: pd.DataFrame | None = None):
        if kind == "Q":
            q = pd.read_csv(FIXTURES / "qualifying_results.csv", dtype={"DriverNumber": str})
            for col in ("Q1", "Q2", "Q3"):
                q[col] = pd.to_timedelta(q[col])
            self.results = q.set_index("DriverNumber", drop=False)
            return
        res = pd.read_csv(FIXTURES / "race_results.csv", dtype={"DriverNumber": str})
        res["Time"] = pd.to_timedelta(res["Time"])
        self.results = (results_edit(res) if results_edit else res).set_index("DriverNumber", drop=False)
        laps = pd.read_csv(FIXTURES / "race_laps.csv", dtype={"DriverNumber": str, "TrackStatus": str})
        for col in LAP_TIMEDELTAS:
            laps[col] = pd.to_timedelta(laps[col])
        self.laps = laps_edit(laps) if laps_edit else laps
        weather = pd.read_csv(FIXTURES / "weather.csv")
        weather["Time"] = pd.to_timedelta(weather["Time"])
        self.weather_data = weather
        self.track_status = (
            track_status if track_status is not None else pd.DataFrame({"Time": [], "Status": [], "Message": []})
        )
        self.event = {"EventName": "Monaco Grand Prix", "RoundNumber": ROUND}


def fake_loader(**kwargs: Any):
    calls: list[tuple[int, int, str]] = []

    def load(season: int, round_: int, kind: str) -> FakeSession:
        calls.append((season, round_, kind))
        return FakeSession(kind, **kwargs)

    load.calls = calls  # type: ignore[attr-defined]
    return load


@pytest.fixture(scope="module")
def monaco_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> LocalStore:
    """F1DB 2024 round 8 (Monaco) and the reference tables; read-only for tests."""
    store = LocalStore(tmp_path_factory.mktemp("f1db-monaco"))
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[ROUND])
    return store


@pytest.fixture(scope="module")
def monaco(monaco_store: LocalStore) -> fastf1_live.LiveRace:
    return fetch_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader())


def test_loads_race_and_qualifying_sessions_only(monaco_store: LocalStore) -> None:
    loader = fake_loader()
    tables = load_race(SEASON, ROUND, store=monaco_store, session_loader=loader)
    assert loader.calls == [(SEASON, ROUND, "R"), (SEASON, ROUND, "Q")]
    assert set(tables) == {"results", "qualifying", "starting_grid", "pit_stops", "laps", "weather"}


def test_results_match_f1db_classification(monaco: fastf1_live.LiveRace, monaco_store: LocalStore) -> None:
    live = monaco.tables["results"].set_index("driver_id")
    f1db = monaco_store.read("results", [SEASON]).query("round == @ROUND").set_index("driver_id")
    assert sorted(live.index) == sorted(f1db.index) and len(live) == 20
    live = live.loc[f1db.index]
    for col in ("constructor_id", "driver_number", "position", "position_text", "position_order", "grid_position"):
        assert live[col].tolist() == f1db[col].tolist(), col
    for col in ("laps", "points", "reason_retired", "finished", "pit_lane_start"):
        assert live[col].tolist() == f1db[col].tolist(), col
    # FastF1 gives the winner's total and the others' gaps; own times are rebuilt from them
    pd.testing.assert_series_equal(live["gap_s"], f1db["gap_s"], check_exact=False, atol=1e-6)
    pd.testing.assert_series_equal(live["time_s"], f1db["time_s"], check_exact=False, atol=1e-6)
    assert set(live.loc[live["position"].isna(), "position_text"]) == {"DNF"}


def test_qualifying_and_grid_match_f1db(monaco: fastf1_live.LiveRace, monaco_store: LocalStore) -> None:
    quali = monaco.tables["qualifying"].set_index("driver_id")
    f1db_q = monaco_store.read("qualifying", [SEASON]).query("round == @ROUND").set_index("driver_id").loc[quali.index]
    for col in ("position", "q1_s", "q2_s", "q3_s", "best_s", "constructor_id"):
        pd.testing.assert_series_equal(quali[col], f1db_q[col], check_exact=False, atol=1e-6)
    grid = monaco.tables["starting_grid"].set_index("driver_id")
    f1db_g = monaco_store.read("starting_grid", [SEASON]).query("round == @ROUND").set_index("driver_id")
    assert sorted(grid.index) == sorted(f1db_g.index)
    assert grid["position"].tolist() == f1db_g.loc[grid.index, "position"].tolist()
    assert grid["position"].is_monotonic_increasing


def test_pit_stops_from_laps_match_f1db(monaco: fastf1_live.LiveRace, monaco_store: LocalStore) -> None:
    live = monaco.tables["pit_stops"]
    f1db = monaco_store.read("pit_stops", [SEASON]).query("round == @ROUND")
    f1db = f1db[f1db["driver_id"].isin(set(monaco.tables["laps"]["driver_id"]))]
    key = ["driver_id", "stop"]
    merged = live.merge(f1db, on=key, how="outer", suffixes=("_live", "_f1db"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert merged["lap_live"].tolist() == merged["lap_f1db"].tolist()
    timed = merged[merged["time_s_live"].notna()]
    assert len(timed) == 3  # STR laps 42 and 48, VER lap 52
    assert (timed["time_s_live"] - timed["time_s_f1db"]).abs().max() < 0.5
    # lap-1 stops under the red flag: no recorded pit entry, so no pit-lane time
    red_flag = merged[merged["lap_live"] == 1]
    assert len(red_flag) == 3 and red_flag["time_s_live"].isna().all()
    assert (red_flag["time_s_f1db"] > 30 * 60).all()


def test_laps_equal_the_csv_export_path(monaco: fastf1_live.LiveRace, monaco_store: LocalStore, shared_data: Path):
    exported = laps_csv.read_laps_file(shared_data / "fastf1-laps" / f"laps_{SEASON}.csv")
    exported = exported[(exported["round"] == ROUND) & exported["driver_code"].isin(["LEC", "VER", "STR"])]
    exported, _ = laps_csv.join_drivers(
        exported.reset_index(drop=True),
        monaco_store.read("results", [SEASON]),
        monaco_store.read("drivers"),
    )
    order = ["driver_code", "lap_number"]
    live = monaco.tables["laps"].sort_values(order).reset_index(drop=True)
    exported = conform("laps", exported.sort_values(order))
    pd.testing.assert_frame_equal(live, exported)
    assert monaco.join.rows == len(live) == monaco.join.joined


def test_weather_samples_are_converted(monaco: fastf1_live.LiveRace) -> None:
    weather = monaco.tables["weather"]
    raw = pd.read_csv(FIXTURES / "weather.csv")
    assert len(weather) == len(raw)
    assert weather["session_time_s"].tolist() == pd.to_timedelta(raw["Time"]).dt.total_seconds().tolist()
    assert weather["air_temp_c"].tolist() == raw["AirTemp"].tolist()
    assert weather["wind_direction_deg"].tolist() == raw["WindDirection"].astype(float).tolist()
    assert weather["rainfall"].tolist() == raw["Rainfall"].tolist()
    assert (weather["race_id"] == "2024-08").all()


def _safety_car_timeline(laps: pd.DataFrame) -> pd.DataFrame:
    ver = laps[laps["Driver"] == "VER"].set_index("LapNumber")
    sc_start = ver.loc[10.0, "LapStartTime"] + pd.Timedelta(seconds=5)
    sc_end = ver.loc[12.0, "Time"] - pd.Timedelta(seconds=5)
    return pd.DataFrame(
        {
            "Time": [pd.Timedelta(0), sc_start, sc_end],
            "Status": ["1", "4", "1"],
            "Message": ["AllClear", "SCDeployed", "AllClear"],
        }
    )


def test_track_status_is_folded_into_laps_when_missing(monaco_store: LocalStore) -> None:
    raw = FakeSession("R").laps
    timeline = _safety_car_timeline(raw)
    loader = fake_loader(laps_edit=lambda df: df.assign(TrackStatus=""), track_status=timeline)
    laps = load_race(SEASON, ROUND, store=monaco_store, session_loader=loader)["laps"]
    ver = laps[laps["driver_code"] == "VER"].set_index("lap_number")["track_status"]
    assert ver.loc[[9, 10, 11, 12, 13]].tolist() == ["1", "14", "4", "41", "1"]
    assert laps["track_status"].notna().all()
    # laps that carry FastF1's own TrackStatus keep it
    kept = load_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader(track_status=timeline))["laps"]
    assert (
        kept.loc[kept["driver_code"] == "VER", "track_status"].tolist()
        == raw.loc[raw["Driver"] == "VER", "TrackStatus"].tolist()
    )


def test_join_uses_season_entries_when_f1db_lacks_the_race(tmp_path: Path, shared_data: Path, monaco) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[7])  # Imola only
    race = fetch_race(SEASON, ROUND, store=store, session_loader=fake_loader())
    for table in ("results", "qualifying", "pit_stops"):
        cols = ["driver_number", "driver_id", "constructor_id"]
        got = race.tables[table][cols].sort_values(cols).reset_index(drop=True)
        want = monaco.tables[table][cols].sort_values(cols).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
    assert race.dropped == {} and race.join.coverage == 1.0


def test_unknown_driver_is_reported_and_left_out(monaco_store: LocalStore) -> None:
    def renumber(df: pd.DataFrame) -> pd.DataFrame:
        col = "Driver" if "Driver" in df.columns else "Abbreviation"
        mask = df[col] == "VER"
        df.loc[mask, "DriverNumber"] = "99"
        df.loc[mask, col] = "ZZZ"
        return df

    race = fetch_race(
        SEASON, ROUND, store=monaco_store, session_loader=fake_loader(laps_edit=renumber, results_edit=renumber)
    )
    n_ver = int((FakeSession("R").laps["Driver"] == "VER").sum())
    assert race.join.unjoined == {(SEASON, ROUND, "ZZZ"): n_ver}
    assert race.join.unjoined_rows == n_ver and race.join.joined == race.join.rows - n_ver
    laps = race.tables["laps"]
    assert laps.loc[laps["driver_code"] == "ZZZ", "driver_id"].isna().all()
    assert race.dropped == {"results": ["ZZZ"], "starting_grid": ["ZZZ"], "pit_stops": ["ZZZ"]}
    assert len(race.tables["results"]) == 19
    assert "max-verstappen" not in set(race.tables["pit_stops"]["driver_id"])


def test_ingest_fastf1_writes_tables_and_is_idempotent(tmp_path: Path, shared_data: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[ROUND])
    bus = LocalEventBus()
    report = ingest_fastf1(store, SEASON, ROUND, publisher=bus, session_loader=fake_loader())
    assert report.races == [(SEASON, ROUND)]
    laps = store.read("laps", [SEASON])
    assert len(laps) == report.rows["laps"] == len(FakeSession("R").laps)
    assert report.join is not None and report.join.coverage == 1.0
    assert [(e.season, e.round, e.source) for e in bus.published] == [(SEASON, ROUND, "fastf1")]
    assert bus.published[0].tables["weather"] == len(store.read("weather", [SEASON]))
    before = {name: store.read(name, [SEASON]) for name in ("results", "pit_stops", "laps", "weather")}
    again = ingest_fastf1(store, SEASON, None, session_loader=fake_loader(), rounds_loader=lambda season: [ROUND])
    assert again.races == [(SEASON, ROUND)]
    for name, frame in before.items():
        pd.testing.assert_frame_equal(store.read(name, [SEASON]), frame)
    assert "laps" in report.summary()


def test_needs_f1db_drivers_in_the_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drivers: the store has no F1DB drivers"):
        load_race(SEASON, ROUND, store=LocalStore(tmp_path / "empty"), session_loader=fake_loader())


def test_bad_lap_value_names_the_session_and_field(monaco_store: LocalStore) -> None:
    def corrupt(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[5, "Compound"] = "SUPERSOFT-X"
        return df

    with pytest.raises(SourceValidationError) as err:
        load_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader(laps_edit=corrupt))
    assert err.value.field == "Compound" and "season 2024 round 8" in err.value.file
    assert "SUPERSOFT-X" in str(err.value)


# --- offline and rate limits (the real fastf1 loader, with fastf1's own calls made to fail) ---


def _offline_message_is_clear(exc: BaseException) -> None:
    assert isinstance(exc, ConnectionError)
    text = str(exc)
    assert "could not reach the FastF1 live timing API" in text
    assert "season 2024 round 8" in text
    assert "use `pitwall ingest laps` with local exports instead" in text


def test_offline_requests_error_gives_a_clear_message(monaco_store, monkeypatch, _isolated_home: Path) -> None:
    import fastf1

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise requests.exceptions.ConnectionError("Max retries exceeded with url: /static/2024/Index.json")

    monkeypatch.setattr(fastf1, "get_session", no_network)
    with pytest.raises(LiveTimingUnavailable) as err:
        load_race(SEASON, ROUND, store=monaco_store)
    _offline_message_is_clear(err.value)
    assert "ConnectionError" in str(err.value)
    assert (_isolated_home / "fastf1-cache").is_dir()  # FastF1's cache is used, under PITWALL_HOME


def test_offline_schedule_failure_gives_a_clear_message(monaco_store, monkeypatch) -> None:
    import fastf1

    def no_schedule(*args: Any, **kwargs: Any) -> None:
        raise ValueError("Failed to load any schedule data.")  # what fastf1 3.9 raises offline

    monkeypatch.setattr(fastf1, "get_session", no_schedule)
    with pytest.raises(LiveTimingUnavailable) as err:
        load_race(SEASON, ROUND, store=monaco_store)
    _offline_message_is_clear(err.value)


def test_session_without_data_gives_a_clear_message(monaco_store: LocalStore) -> None:
    from fastf1.exceptions import DataNotLoadedError

    class NotLoaded(FakeSession):
        @property
        def laps(self) -> pd.DataFrame:  # what Session.laps does when every download failed softly
            raise DataNotLoadedError("The data you are trying to access has not been loaded yet.")

        @laps.setter
        def laps(self, value: pd.DataFrame) -> None:
            pass

    with pytest.raises(LiveTimingUnavailable, match="returned no usable data for season 2024 round 8"):
        load_race(SEASON, ROUND, store=monaco_store, session_loader=lambda s, r, k: NotLoaded(k))


def test_rate_limit_is_reported(monaco_store: LocalStore, tmp_path: Path) -> None:
    from fastf1.req import RateLimitExceededError

    def limited(season: int, round_: int, kind: str) -> None:
        raise RateLimitExceededError("500 calls/h")

    with pytest.raises(LiveTimingUnavailable) as err:
        load_race(SEASON, ROUND, tmp_path / "cache", store=monaco_store, session_loader=limited)
    assert "rate limit was exceeded" in str(err.value) and str(tmp_path / "cache") in str(err.value)


def test_offline_season_ingest_leaves_the_store_untouched(tmp_path: Path, shared_data: Path) -> None:
    store = LocalStore(tmp_path / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[ROUND])
    keys = store._list_keys()

    def offline_schedule(season: int) -> list[int]:
        raise requests.exceptions.ConnectionError("Name or service not known")

    with pytest.raises(ConnectionError, match="could not reach the FastF1 live timing API for the season 2024"):
        ingest_fastf1(store, SEASON, session_loader=fake_loader(), rounds_loader=offline_schedule)
    assert store._list_keys() == keys


def test_season_ingest_takes_the_rounds_already_run_from_the_schedule(monaco_store, monkeypatch) -> None:
    import fastf1

    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    schedule = pd.DataFrame(
        {
            "RoundNumber": [7, 8, 9],
            "EventName": ["Emilia Romagna Grand Prix", "Monaco Grand Prix", "Canadian Grand Prix"],
            "Session5DateUtc": [now - pd.Timedelta(days=14), now - pd.Timedelta(days=7), now + pd.Timedelta(days=7)],
        }
    )
    asked: list[tuple[int, bool]] = []

    def get_event_schedule(year: int, *, include_testing: bool = True) -> pd.DataFrame:
        asked.append((year, include_testing))
        return schedule

    monkeypatch.setattr(fastf1, "get_event_schedule", get_event_schedule)
    assert fastf1_live.fastf1_rounds_loader()(SEASON) == [7, 8]
    assert asked == [(SEASON, False)]

    def offline(year: int, *, include_testing: bool = True) -> pd.DataFrame:
        raise ValueError("Failed to load any schedule data.")

    monkeypatch.setattr(fastf1, "get_event_schedule", offline)
    with pytest.raises(LiveTimingUnavailable, match="the season 2024 schedule"):
        ingest_fastf1(monaco_store, SEASON, session_loader=fake_loader())


def _with_sectors(df: pd.DataFrame) -> pd.DataFrame:
    """FastF1's sector times (Timedelta; NaT on lap 1's sector 1) and speed traps (km/h, some NaN)."""
    lap = df["LapTime"]
    df["Sector1Time"] = (lap * 0.3).where(df["LapNumber"] > 1)
    df["Sector2Time"] = lap * 0.45
    df["Sector3Time"] = lap - (lap * 0.3) - (lap * 0.45)
    df["SpeedI1"] = 200.0 + df["LapNumber"]
    df["SpeedI2"] = 150.0 + df["LapNumber"]
    df["SpeedFL"] = (250.0 + df["LapNumber"]).where(df["LapNumber"] % 7 != 0)
    df["SpeedST"] = 280.0 + df["LapNumber"] / 2
    return df


def test_sector_times_and_speed_traps_are_kept(monaco_store: LocalStore) -> None:
    raw = _with_sectors(FakeSession("R").laps)
    laps = load_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader(laps_edit=_with_sectors))["laps"]
    order = ["Driver", "LapNumber"]
    raw = raw.sort_values(order).reset_index(drop=True)
    laps = laps.sort_values(["driver_code", "lap_number"]).reset_index(drop=True)
    assert len(laps) == len(raw)
    for col, name in laps_csv.SECTOR_COLUMNS.items():
        want = raw[col].dt.total_seconds()
        assert laps[name].isna().tolist() == want.isna().tolist(), col
        assert laps[name].dropna().tolist() == pytest.approx(want.dropna().tolist(), abs=1e-6), col
    assert laps.loc[laps["lap_number"] == 1, "sector1_time_s"].isna().all()
    for col, name in laps_csv.SPEED_COLUMNS.items():
        assert laps[name].astype("float64").fillna(-1).tolist() == raw[col].fillna(-1).tolist(), col
    # the fixture without those columns (as the bundled exports): null, not an error
    plain = load_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader())["laps"]
    assert plain[list(laps_csv.SECTOR_COLUMNS.values()) + list(laps_csv.SPEED_COLUMNS.values())].isna().all().all()


def test_bad_sector_time_names_the_session_and_field(monaco_store: LocalStore) -> None:
    def corrupt(df: pd.DataFrame) -> pd.DataFrame:
        df = _with_sectors(df)
        df.loc[7, "Sector2Time"] = pd.Timedelta(seconds=-3)
        return df

    with pytest.raises(SourceValidationError) as err:
        load_race(SEASON, ROUND, store=monaco_store, session_loader=fake_loader(laps_edit=corrupt))
    assert err.value.field == "Sector2Time" and "season 2024 round 8" in err.value.file
    assert "sector time must be positive" in str(err.value)
