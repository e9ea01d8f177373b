"""``pitwall predict`` argument checks: refused before any model or data is loaded."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from pitwall.cli import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--race", "monaco"], "--race"),
        (["--race", "2024-8", "--championship", "2024"], "exactly one of --race or --championship"),
        ([], "exactly one of --race or --championship"),
        (["--race", "next", "--moment", "in_race"], "pitwall live"),
        (["--race", "next", "--moment", "pre_lunch"], "pre_practice, pre_qualifying, pre_race"),
        (["--race", "next", "--from-round", "3"], "only with --championship"),
        (["--championship", "2024", "--moment", "pre_race"], "only with --race"),
    ],
)
def test_bad_arguments_name_the_option(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["predict", "some_model", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert message in re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)


def test_predict_is_registered_and_lazy() -> None:
    import sys

    result = CliRunner().invoke(app, ["predict", "--help"])
    assert result.exit_code == 0 and "--championship" in result.output
    import pitwall.cli.predict_cmds as mod

    assert "pitwall.serving.upcoming" not in vars(mod)
    assert mod.__name__ in sys.modules
