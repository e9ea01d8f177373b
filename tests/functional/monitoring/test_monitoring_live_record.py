"""Live track record on real data: a model trained on 2022-2023 predicts 2024 races before
they happen (captured through the serving path), each race is then ingested (a summary
event with the list of races) and scored; the scores equal an independent recomputation
from the captured parquet files and the F1DB result files."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pitwall.config import default_data_dir
from pitwall.data.events import RaceIngested
from pitwall.monitoring.alerts import LocalAlertBus
from pitwall.monitoring.record import LIVE, RECONSTRUCTED, race_cutoff, read_record, record_summary
from pitwall.monitoring.subscriber import on_races_ingested
from pitwall.monitoring.summary import read_summary

from .conftest import TENANT, MonitorEnv

NAME = "rw_live"
RECON_NAME = "rw_reconstructed"
LIVE_ROUNDS = list(range(1, 25))  # the whole 2024 season
SEQUENTIAL = LIVE_ROUNDS[:12]  # predict R, ingest R (one per-race event each), then R+1 ...
BATCHED = LIVE_ROUNDS[12:]  # predicted ahead, then one summary event with the list of races
RECONSTRUCTED_ROUNDS = [9, 10]


def _race_dir(season: int, round_: int) -> Path:
    races = default_data_dir() / "f1db" / "src" / "data" / "seasons" / str(season) / "races"
    (found,) = [p for p in races.iterdir() if p.name.startswith(f"{round_:02d}-")]
    return found


def _f1db(season: int, round_: int, file: str) -> list[dict]:
    return yaml.safe_load((_race_dir(season, round_) / file).read_text())


def _race_day(env: MonitorEnv, round_: int) -> pd.Timestamp:
    races = env.store.read("races", [2024])
    return pd.Timestamp(races.loc[races["round"] == round_, "date"].iloc[0])


def _predict(env: MonitorEnv, principal, rnd: int) -> None:  # type: ignore[no-untyped-def]
    cutoff = race_cutoff(_race_day(env, rnd))
    env.clock.now = cutoff - timedelta(days=2)  # an earlier forecast, superseded below
    env.service.invoke(principal, NAME, {"race": f"2024-{rnd:02d}"})
    env.clock.now = cutoff - timedelta(hours=6)  # Saturday evening, grid known
    env.service.invoke(principal, NAME, {"race": f"2024-{rnd:02d}"})
    env.clock.now = cutoff - timedelta(hours=1)  # a what-if grid: never scored as a forecast
    env.service.invoke(principal, NAME, {"race": f"2024-{rnd:02d}", "grid_positions": {"lewis-hamilton": 1}})
    env.clock.now = cutoff + timedelta(hours=20)  # after the race: not live
    env.service.invoke(principal, NAME, {"race": f"2024-{rnd:02d}"})


@pytest.fixture(scope="module")
def replay(monitor_env: MonitorEnv) -> dict:
    """Replay 2024: predict each race before it, ingest it, score it."""
    env = monitor_env
    principal = env.deploy(TENANT, NAME)
    env.deploy(TENANT, RECON_NAME)  # deployed, never called: its record can only be reconstructed
    bus = LocalAlertBus()
    kw = {"store": env.store, "sink": env.sink, "publisher": bus, "check_drift": False}
    outcomes = []
    for rnd in SEQUENTIAL:  # the current per-race event shape
        _predict(env, principal, rnd)
        event = RaceIngested(2024, rnd, f"2024-{rnd:02d}", "f1db")
        outcomes.append(on_races_ingested(event, deployments=[(TENANT, NAME)], **kw))
    for rnd in BATCHED:
        _predict(env, principal, rnd)
    summary = {"source": "f1db", "races": [[2024, r] for r in BATCHED]}  # one event per ingest run
    outcomes.append(on_races_ingested(summary, deployments=[(TENANT, NAME)], **kw))
    recon = {"races": [[2024, r] for r in RECONSTRUCTED_ROUNDS]}
    outcomes.append(on_races_ingested(recon, deployments=[(TENANT, RECON_NAME)], **kw))
    return {"outcomes": outcomes, "bus": bus}


def _captures(env: MonitorEnv) -> pd.DataFrame:
    """Every captured row of the model, read straight from the parquet files."""
    files = sorted((env.home / "monitoring" / "captures" / f"tenant={TENANT}" / f"model={NAME}").glob("*/*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_a_live_record_of_the_whole_season(monitor_env: MonitorEnv, replay: dict) -> None:
    live = read_record(TENANT, NAME, LIVE)
    assert list(live["round"]) == LIVE_ROUNDS
    assert set(live["kind"]) == {LIVE}
    assert read_record(TENANT, NAME, RECONSTRUCTED).empty  # every race had a live forecast
    assert read_record(TENANT, RECON_NAME, LIVE).empty  # no captures: nothing is live
    recon = read_record(TENANT, RECON_NAME, RECONSTRUCTED)
    assert list(recon["round"]) == RECONSTRUCTED_ROUNDS
    assert recon["capture_id"].isna().all()
    summary = record_summary(TENANT, NAME)
    assert summary[LIVE]["label"] == "live verified" and summary[LIVE]["n_races"] == len(LIVE_ROUNDS)
    assert "not live" in record_summary(TENANT, RECON_NAME)[RECONSTRUCTED]["label"]
    # the JSON the API serves (written by the subscriber; read without pandas)
    view = read_summary(TENANT, NAME)
    assert view["live_verified"]["n_races"] == len(LIVE_ROUNDS)
    assert view["live_verified"]["cumulative"] == pytest.approx(live["value"].mean())
    other = read_summary(TENANT, RECON_NAME)
    assert [r["race_id"] for r in other["reconstructed"]["races"]] == [f"2024-{r:02d}" for r in RECONSTRUCTED_ROUNDS]
    assert other["live_verified"]["n_races"] == 0


def test_live_scores_equal_an_independent_recomputation(monitor_env: MonitorEnv, replay: dict) -> None:
    caps = _captures(monitor_env)
    live = read_record(TENANT, NAME, LIVE).set_index("round")
    running, base_running = [], []
    for rnd in LIVE_ROUNDS:
        race = caps[caps["race_id"] == f"2024-{rnd:02d}"]
        day = _race_day(monitor_env, rnd).strftime("%Y-%m-%d")
        plain = race[(race["request_kind"] == "race") & ~race["scenario"] & (race["captured_at"].str[:10] < day)]
        chosen = plain[plain["captured_at"] == plain["captured_at"].max()]
        assert chosen["capture_id"].nunique() == 1
        row = live.loc[rnd]
        assert row["capture_id"] == chosen["capture_id"].iloc[0]
        results = _f1db(2024, rnd, "race-results.yml")
        winner = next(r["driverId"] for r in results if r["position"] == 1)
        pole = next(r["driverId"] for r in _f1db(2024, rnd, "starting-grid-positions.yml") if r["position"] == 1)
        predicted = chosen.loc[chosen["rank"] == 1, "entity"].iloc[0]
        assert row["metric"] == "top1_accuracy"
        assert row["value"] == float(predicted == winner)
        assert row["baseline"] == float(pole == winner)
        # log loss of the captured win probabilities on "won the race" (F1DB positions)
        won = {r["driverId"]: r["position"] == 1 for r in results}
        p = chosen["probability"].clip(1e-15, 1 - 1e-15)
        y = pd.Series([float(won.get(d, False)) for d in chosen["entity"]], index=chosen.index)
        expected = float(-(y * p.map(math.log) + (1 - y) * (1 - p).map(math.log)).mean())
        assert json.loads(row["metrics"])["log_loss"] == pytest.approx(expected)
        running.append(float(predicted == winner))
        base_running.append(float(pole == winner))
        assert row["cumulative"] == pytest.approx(sum(running) / len(running))
        assert row["baseline_cumulative"] == pytest.approx(sum(base_running) / len(base_running))
        assert row["version"] == int(chosen["version"].iloc[0])


def test_reconstructed_scores_use_the_pre_race_rows(monitor_env: MonitorEnv, replay: dict) -> None:
    from pitwall.monitoring.drift import load_record_model
    from pitwall.platform.models import get_model
    from pitwall.templates import get_template, prediction_frame

    recon = read_record(TENANT, RECON_NAME, RECONSTRUCTED).set_index("round")
    model = load_record_model(get_model(TENANT, RECON_NAME))
    spec = get_template("race_winner")
    for rnd in RECONSTRUCTED_ROUNDS:
        rows = prediction_frame(spec.name, monitor_env.store, 2024, rnd)
        predicted = model.predict_frame(rows)
        top = predicted.loc[predicted["predicted_rank"] == 1, spec.entity_col].iloc[0]
        winner = next(r["driverId"] for r in _f1db(2024, rnd, "race-results.yml") if r["position"] == 1)
        assert recon.loc[rnd, "value"] == float(top == winner)


def test_record_cli_prints_live_and_reconstructed_apart(monitor_env: MonitorEnv, replay: dict) -> None:
    from typer.testing import CliRunner

    from pitwall.cli import app

    out = CliRunner().invoke(app, ["monitor", "record", NAME, "--tenant", TENANT])
    assert out.exit_code == 0, out.output
    assert f"live verified ({len(LIVE_ROUNDS)} races)" in out.output
    assert "2024-01" in out.output and "2024-24" in out.output
    out = CliRunner().invoke(app, ["monitor", "record", RECON_NAME, "--tenant", TENANT])
    assert out.exit_code == 0, out.output
    assert f"reconstructed (not live) ({len(RECONSTRUCTED_ROUNDS)} races)" in out.output
    assert "no live verified races yet" in out.output


def test_below_baseline_alerts_follow_the_record(monitor_env: MonitorEnv, replay: dict) -> None:
    from pitwall.monitoring.alerts import LIVE_BELOW_BASELINE
    from pitwall.monitoring.settings import DEFAULT_RECORD_WINDOW as N

    live = read_record(TENANT, NAME, LIVE)
    values, baselines = live["value"].tolist(), live["baseline"].tolist()

    def expected(last_round: int) -> bool:  # top1 accuracy: higher is better
        if last_round < N:
            return False
        window = slice(last_round - N, last_round)
        return sum(values[window]) / N < sum(baselines[window]) / N

    outcomes = replay["outcomes"]
    for rnd, outcome in zip(SEQUENTIAL, outcomes, strict=False):
        kinds = [a.kind for a in outcome.alerts]
        assert (LIVE_BELOW_BASELINE in kinds) == expected(rnd), rnd
    batched = outcomes[len(SEQUENTIAL)]
    assert (LIVE_BELOW_BASELINE in [a.kind for a in batched.alerts]) == expected(LIVE_ROUNDS[-1])


def test_marketplace_card_shows_the_live_verified_record_apart_from_the_backtest(
    monitor_env: MonitorEnv, replay: dict
) -> None:
    from pitwall.api import schemas
    from pitwall.marketplace import rules

    def verify(model):  # type: ignore[no-untyped-def]  # stand-in for the publish-time backtest
        return {"log_loss": 0.3}

    cards = {}
    for name in (NAME, RECON_NAME):
        listing = rules.publish(
            TENANT, name, f"{name} card", "race winner, trained 2022-2023", None, verify, lambda m: None
        )
        cards[name] = rules.show(listing.listing_id)
    card = cards[NAME]
    assert card.verified_metrics == {"log_loss": 0.3}  # the backtest figures stay what they were
    live = card.live_verified
    record = read_record(TENANT, NAME, LIVE)
    assert live is not None and live["label"] == "live verified" and live["version"] == card.model_version
    assert live["n_races"] == len(LIVE_ROUNDS) == len(record)
    assert [r["race_id"] for r in live["races"]] == list(record["race_id"])
    assert live["mean"] == pytest.approx(float(record["value"].mean()))
    assert live["baseline_mean"] == pytest.approx(float(record["baseline"].mean()))
    # reconstructed races are never shown as live on the card
    assert read_record(TENANT, RECON_NAME, RECONSTRUCTED)["race_id"].nunique() == len(RECONSTRUCTED_ROUNDS)
    assert cards[RECON_NAME].live_verified["n_races"] == 0
    info = schemas.ModelCardInfo.model_validate({**card.to_dict(), "verified": True, "my_rating": None})
    assert info.live_verified is not None and info.live_verified.n_races == len(LIVE_ROUNDS)
    from typer.testing import CliRunner

    from pitwall.cli import app

    shown = CliRunner().invoke(app, ["market", "show", card.listing_id])
    assert shown.exit_code == 0, shown.output
    assert f"live verified (v{card.model_version}): {len(LIVE_ROUNDS)} races" in shown.output
