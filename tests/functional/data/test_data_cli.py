"""The data commands of the CLI, run in-process with typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pitwall.cli import app

runner = CliRunner()


def test_ingest_one_race_then_status_and_sql(shared_data: Path) -> None:
    r = runner.invoke(app, ["ingest", "f1db", str(shared_data / "f1db"), "--seasons", "2024", "--round", "8"])
    assert r.exit_code == 0, r.output
    assert "f1db: 1 race (season 2024)" in r.output
    r = runner.invoke(app, ["ingest", "laps", str(shared_data / "fastf1-laps" / "laps_2024.csv"), "--round", "8"])
    assert r.exit_code == 0, r.output
    assert "100.00%" in r.output
    r = runner.invoke(app, ["data", "status"])
    assert r.exit_code == 0 and "results" in r.output and "laps" in r.output
    r = runner.invoke(app, ["sql", "SELECT driver_id FROM results WHERE position = 1"])
    assert r.exit_code == 0 and "charles-leclerc" in r.output


def test_bad_input_is_a_one_line_error_not_a_traceback(shared_data: Path) -> None:
    r = runner.invoke(app, ["ingest", "f1db", str(shared_data / "f1db"), "--seasons", "2024", "--round", "99"])
    assert r.exit_code == 2
    assert "no round(s) [99]" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["ingest", "f1db", "/nonexistent", "--seasons", "2024"])
    assert r.exit_code == 2 and "not an F1DB source tree" in r.output
    r = runner.invoke(app, ["ingest", "f1db", "--seasons", "20x4"])
    assert r.exit_code != 0 and "expected a season" in r.output
    r = runner.invoke(app, ["sql", "SELECT * FROM no_such_table"])
    assert r.exit_code == 2 and "query failed" in r.output
