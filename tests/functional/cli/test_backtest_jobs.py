"""``pitwall backtest --jobs``: a bad process count (option or ``$PITWALL_JOBS``) is refused with
a clear message before any data is read."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pitwall.cli import app
from pitwall.ml.errors import MLInputError
from pitwall.training import backtest_template

runner = CliRunner()


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_a_bad_jobs_option_is_refused(jobs: str) -> None:
    r = runner.invoke(app, ["backtest", "race_winner", "--season", "2024", "--jobs", jobs])
    assert r.exit_code == 2 and "--jobs: must be a positive integer" in r.output and "Traceback" not in r.output


def test_a_bad_jobs_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_JOBS", "many")
    r = runner.invoke(app, ["backtest", "race_winner", "--season", "2024"])
    assert r.exit_code == 2 and "PITWALL_JOBS: must be a positive integer" in r.output


def test_backtest_template_checks_n_jobs_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import pitwall.training as training

    monkeypatch.setattr(training, "get_store", lambda: pytest.fail("the store was read before n_jobs was checked"))
    with pytest.raises(MLInputError, match="n_jobs: must be a positive integer"):
        backtest_template("race_winner", season=2024, n_jobs=0)
    with pytest.raises(MLInputError, match="n_jobs"):
        backtest_template("race_winner", season=2024, n_jobs=True)  # type: ignore[arg-type]


def test_the_backtest_is_logged_for_the_commands_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    import pitwall.training as training

    seen: list[str] = []

    def fake(template: str, **kwargs: object) -> None:
        seen.append(str(kwargs["tenant_id"]))
        raise ValueError("stop here")

    monkeypatch.setattr(training, "backtest_template", fake)
    monkeypatch.delenv("PITWALL_TENANT", raising=False)
    for args in ([], ["--tenant", "acme"]):
        r = runner.invoke(app, ["backtest", "race_winner", "--season", "2024", *args])
        assert r.exit_code == 2 and "stop here" in r.output
    monkeypatch.setenv("PITWALL_TENANT", "team-b")
    runner.invoke(app, ["backtest", "race_winner", "--season", "2024"])
    assert seen == ["local", "acme", "team-b"]
