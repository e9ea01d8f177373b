"""``pitwall live`` end to end (Typer runner), the SDK hook, and the OpenF1 token from the config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pitwall.cli import app
from pitwall.live.sources.openf1 import openf1_token
from pitwall.live.sources.replay import load_race

from .conftest import SESSION_KEY, openf1_fixtures

runner = CliRunner()


@pytest.fixture
def saved_model(home_lake, live_model):
    live_model.save()  # under this test's PITWALL_HOME/live_models/live_test
    return live_model


def test_live_replay_prints_one_json_update_per_lap(saved_model, home_lake):
    result = runner.invoke(app, ["live", "replay", "2024", "8", "--model", "live_test", "--jsonl"])
    assert result.exit_code == 0, result.output
    updates = [json.loads(line) for line in result.output.splitlines()]
    assert [u["lap"] for u in updates] == list(range(1, len(updates) + 1))
    assert updates[-1]["race_id"] == "2024-08" and updates[-1]["drivers"][0]["driver_code"] == "LEC"
    assert abs(sum(d["p_win"] for d in updates[-1]["drivers"]) - 1.0) < 1e-9


def test_live_replay_table(saved_model, home_lake):
    result = runner.invoke(app, ["live", "replay", "2024", "8", "--model", "live_test", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "2024-08" in result.output and "lap 77/78" in result.output
    assert "P(win)" in result.output and "LEC" in result.output


def test_live_replay_errors_are_one_line(saved_model, home_lake):
    unknown = runner.invoke(app, ["live", "replay", "2024", "8", "--model", "nope"])
    assert unknown.exit_code == 2 and "no live model named 'nope'" in unknown.output
    in_sample = runner.invoke(app, ["live", "replay", "2023", "8", "--model", "live_test"])
    assert in_sample.exit_code == 2 and "trained on seasons up to 2023" in in_sample.output
    missing = runner.invoke(app, ["live", "replay", "2024", "20", "--model", "live_test"])
    assert missing.exit_code == 2 and "no laps stored" in missing.output
    assert "Traceback" not in unknown.output + in_sample.output + missing.output


def test_live_openf1_command_against_a_stand_in(saved_model, home_lake, openf1_server):
    base_url = openf1_server.serve(openf1_fixtures(load_race(home_lake, 2024, 8)))
    args = ["live", "openf1", "--session", str(SESSION_KEY), "--model", "live_test", "--base-url", base_url, "--jsonl"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    updates = [json.loads(line) for line in result.output.splitlines()]
    assert len(updates) == 77 and updates[0]["race_id"] == "2024-08"


def test_live_openf1_offline_is_a_clear_error(saved_model, home_lake):
    # a closed loopback port: every attempt is refused
    args = ["live", "openf1", "--model", "live_test", "--base-url", "http://127.0.0.1:9/v1", "--jsonl"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "cannot reach OpenF1" in result.output and "offline" in result.output


def test_sdk_model_connects_to_a_stream(saved_model, home_lake):
    from pitwall.sdk import Model

    sdk_model = Model("live_test", "local", saved_model, Path("."))
    seen = []
    stream = sdk_model.connect_to_stream(source="replay", season=2024, round=8, callback=seen.append)
    last = stream.run()
    assert last is not None and last.lap == 77 and len(seen) == 77


def test_openf1_token_from_env_or_config(monkeypatch: pytest.MonkeyPatch, _isolated_home: Path):
    monkeypatch.delenv("OPENF1_TOKEN", raising=False)
    monkeypatch.delenv("PITWALL_OPENF1_TOKEN", raising=False)
    assert openf1_token() is None
    _isolated_home.mkdir(parents=True, exist_ok=True)
    (_isolated_home / "config.toml").write_text('[openf1]\ntoken = "from-config"\n')
    assert openf1_token() == "from-config"
    monkeypatch.setenv("OPENF1_TOKEN", "from-env")
    assert openf1_token() == "from-env"


def test_saved_model_round_trips_and_tampering_is_refused(live_lake, live_model, tmp_path):
    from pitwall.live.sources.replay import load_race
    from pitwall.live.template import LiveModelError, load_live_model

    path = live_model.save(tmp_path / "m")
    loaded = load_live_model(path)
    state = load_race(live_lake, 2024, 8).state(40)
    assert loaded.predict_state(state) == live_model.predict_state(state)
    assert loaded.train_seasons == (2022, 2023) and loaded.baseline == live_model.baseline

    text = (path / "choice.json").read_text()
    (path / "choice.json").write_text(text.replace('"coefficients": [', '"coefficients": [9', 1))
    with pytest.raises(LiveModelError, match="sha256"):
        load_live_model(path)


def test_live_replay_publish_feeds_the_snapshot_and_upload_puts_the_model_where_the_poller_reads(
    saved_model, home_lake
):
    import boto3
    from moto import mock_aws

    from pitwall.live.aws import S3LiveModels
    from pitwall.live.feed import LocalFeed, latest_snapshot
    from pitwall.live.predictors import LeanLiveModel

    result = runner.invoke(app, ["live", "replay", "2024", "8", "--model", "live_test", "--jsonl", "--publish"])
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.splitlines()[-1])
    snap = latest_snapshot(LocalFeed(), "live_test")
    assert snap is not None and (snap["session"], snap["lap"], snap["finished"]) == ("2024-08", last["lap"], True)
    assert [d["p_win"] for d in snap["drivers"]] == pytest.approx([d["p_win"] for d in last["drivers"]], abs=1e-6)

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="models")
        uploaded = runner.invoke(app, ["live", "upload", "live_test", "--to", "s3://models/live_models"])
        assert uploaded.exit_code == 0, uploaded.output
        assert "no upcoming race" in uploaded.output  # every stored 2024 race has results
        lean = LeanLiveModel.from_files(S3LiveModels("s3://models/live_models").files("live_test"))
        assert lean.name == "live_test" and lean.choice == saved_model.choice
        assert S3LiveModels("s3://models/live_models").strengths() is None
        args = ["live", "upload", "live_test", "--to", "s3://models/live_models", "--strengths-for", "2024-08"]
        with_strengths = runner.invoke(app, args)
        assert with_strengths.exit_code == 0, with_strengths.output
        doc = S3LiveModels("s3://models/live_models").strengths()
        assert doc is not None and (doc["season"], doc["round"]) == (2024, 8)
        lec = load_race(home_lake, 2024, 8).entrants[16]  # Leclerc's Ferrari
        assert doc["by_driver_number"]["16"] == lec.pre_race_strength > 0
        missing = runner.invoke(app, ["live", "upload", "nobody", "--to", "s3://models/live_models"])
        assert missing.exit_code != 0 and "nobody" in missing.output
