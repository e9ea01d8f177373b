"""Live race mode on real data: replays of 2024 races with a model trained on 2022-2023, an OpenF1
stream of the same laps from a loopback stand-in, and the point-in-time guarantee."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from pitwall.data.store import LocalStore
from pitwall.live.sources.openf1 import OpenF1Client, OpenF1Source
from pitwall.live.sources.replay import ReplaySource, load_race
from pitwall.live.stream import connect_to_stream
from pitwall.live.template import LiveModelError

from .conftest import SESSION_KEY, openf1_fixtures

ROUND = 8  # Monaco 2024: red flag on lap 1, a lap-1 pit stop for most of the field


def test_replay_gives_one_update_per_lap(live_lake, live_model):
    laps = live_lake.read("laps", [2024])
    laps = laps[laps["round"] == ROUND]
    updates = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake))

    assert [u.lap for u in updates] == list(range(1, int(laps["lap_number"].max()) + 1))
    for u in updates:
        running = [p for p in u.predictions if p.running]
        assert math.isclose(sum(p.p_win for p in u.predictions), 1.0, abs_tol=1e-9)
        assert math.isclose(sum(p.p_podium for p in u.predictions), min(3, len(running)), abs_tol=1e-9)
        assert all(p.p_win == 0.0 and p.p_podium == 0.0 for p in u.predictions if not p.running)
        # one Plackett-Luce order: expected positions of the running cars are 1..n on average, and a
        # near-certain winner is expected first
        expected = [p.expected_position for p in running]
        assert math.isclose(sum(expected), len(running) * (len(running) + 1) / 2, rel_tol=1e-9)
        for p in running:
            assert p.expected_position <= 1.0 + (len(running) - 1) * (1.0 - p.p_win) + 1e-9
            assert p.p_podium >= p.p_win - 1e-12
        assert [d.position for d in u.state.drivers] == list(range(1, len(u.state.drivers) + 1))
        # every driver who completed this lap in the stored laps is running in the update
        on_lap = set(laps.loc[laps["lap_number"] == u.lap, "driver_number"].astype(int))
        assert {d.driver_number for d in u.state.drivers if d.running} == on_lap


def test_eventual_winner_leads_the_last_update(live_lake, live_model):
    results = live_lake.read("results", [2024])
    for round_ in (ROUND, 1, 12):
        winner = results[(results["round"] == round_) & (results["position"] == 1)]["driver_id"].iloc[0]
        last = list(connect_to_stream(live_model, source="replay", season=2024, round=round_, store=live_lake))[-1]
        p_win = {p.driver_id: p.p_win for p in last.predictions}
        assert p_win[winner] > 0.9, (round_, winner, p_win[winner])


def _perturb_after(store: LocalStore, season: int, round_: int, lap: int) -> None:
    """Rewrite the race's laps after ``lap`` (order reversed, times, tyres, status) and its later stops."""
    laps = store.read("laps", [season])
    race = laps[laps["round"] == round_].copy()
    later = race["lap_number"] > lap
    rng = np.random.default_rng(0)
    race.loc[later, "position"] = (21 - race.loc[later, "position"].astype(float)).round().astype("Int64")
    race.loc[later, "lap_time_s"] = race.loc[later, "lap_time_s"] + rng.uniform(-5, 5, later.sum())
    race.loc[later, "session_time_s"] = race.loc[later, "session_time_s"] + rng.uniform(0, 30, later.sum())
    race.loc[later, "compound"] = "WET"
    race.loc[later, "stint"] = race.loc[later, "stint"] + 1
    race.loc[later, "tyre_life"] = 1.0
    race.loc[later, "track_status"] = "45"
    stops = store.read("pit_stops", [season])
    stops = stops[stops["round"] == round_]
    extra = stops.head(5).assign(stop=stops["stop"].max() + 1, lap=lap + 1)
    store.replace_races(season, [round_], {"laps": race, "pit_stops": pd.concat([stops, extra])})


def test_perturbing_laps_after_n_leaves_lap_n_unchanged(live_lake, live_model, tmp_path):
    copy = LocalStore(tmp_path / "lake")
    shutil.copytree(live_lake.root, copy.root, dirs_exist_ok=True)
    n = 30
    _perturb_after(copy, 2024, ROUND, n)

    original = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake))
    perturbed = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=copy))

    for lap in range(1, n + 1):
        assert perturbed[lap - 1].comparable() == original[lap - 1].comparable(), lap
    # the perturbation is real: the next lap's update changes
    assert perturbed[n].comparable() != original[n].comparable()


def test_openf1_stream_equals_replay_of_the_same_laps(live_lake, live_model, openf1_server):
    race = load_race(live_lake, 2024, ROUND)
    base_url = openf1_server.serve(openf1_fixtures(race))
    client = OpenF1Client(base_url, timeout_s=5)

    from_openf1 = list(
        connect_to_stream(live_model, source="openf1", session_key=SESSION_KEY, client=client, store=live_lake)
    )
    from_replay = list(connect_to_stream(live_model, source="replay", season=2024, round=ROUND, store=live_lake))

    assert len(from_openf1) == len(from_replay) == race.last_lap
    assert from_openf1[0].state.race_id == "2024-08"  # resolved from the stored calendar by date
    for a, b in zip(from_openf1, from_replay, strict=True):
        assert a.comparable() == b.comparable(), a.lap
    assert {p.split("?")[0].rsplit("/", 1)[-1] for p in openf1_server.requests} >= {
        "sessions",
        "drivers",
        "laps",
        "position",
        "intervals",
        "pit",
        "stints",
        "race_control",
        "weather",
    }


def test_live_openf1_session_is_polled_until_laps_complete(live_lake, live_model, openf1_server):
    """A session still running is polled; laps appear as the stand-in's data grows."""
    race = load_race(live_lake, 2024, ROUND)
    full = openf1_fixtures(race)
    t_end = full["sessions"][0]["date_end"]

    def upto(lap: int) -> dict:
        out = {k: list(v) for k, v in full.items()}
        # laps up to the one in progress, which has no duration yet
        out["laps"] = [
            dict(r, lap_duration=None) if r["lap_number"] == lap else r for r in full["laps"] if r["lap_number"] <= lap
        ]
        out["sessions"] = [{**full["sessions"][0], "date_end": t_end}]
        return out

    polls = iter([5, 9, 12])
    base_url = openf1_server.serve(upto(next(polls)))

    def sleep(_: float) -> None:
        openf1_server.serve(upto(next(polls)))

    from datetime import datetime

    source = OpenF1Source(
        SESSION_KEY,
        client=OpenF1Client(base_url),
        store=live_lake,
        sleep=sleep,
        now=lambda: datetime.fromisoformat(full["sessions"][0]["date_start"]),  # during the race
        max_polls=3,
    )
    laps = [s.lap for s in source]
    # lap N is emitted once lap N+1 is under way for the field: 4 laps, then 8, then 11
    assert laps == list(range(1, 12))
    # the sampled endpoints are asked only for what is new after the first poll
    intervals = [r for r in openf1_server.requests if "/intervals?" in r]
    assert len(intervals) == 3 and "date%3E=" not in intervals[0] and all("date%3E=" in r for r in intervals[1:])


def test_replay_of_a_training_season_is_refused(live_lake, live_model):
    with pytest.raises(LiveModelError, match="trained on seasons up to 2023"):
        connect_to_stream(live_model, source="replay", season=2023, round=5, store=live_lake)


def test_replay_speed_factor_waits_the_leaders_lap_times(live_lake):
    waits: list[float] = []
    race = load_race(live_lake, 2024, ROUND)
    states = list(ReplaySource(2024, ROUND, race=race, speed=10.0, sleep=waits.append))
    assert len(waits) == len(states) - 1
    lap5 = race.leader_lap_end_s[5] - race.leader_lap_end_s[4]  # type: ignore[operator]
    assert waits[3] == pytest.approx(lap5 / 10.0)
