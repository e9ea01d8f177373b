"""`pitwall --help` lists every command, in the workflow's order (``COMMAND_ORDER``)."""

from __future__ import annotations

import typer

from pitwall.cli import COMMAND_ORDER, app


def test_every_command_has_its_place_in_the_help_order() -> None:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    listed = group.list_commands(ctx)  # type: ignore[attr-defined]
    assert set(listed) == set(COMMAND_ORDER), f"add to or remove from COMMAND_ORDER: {set(listed) ^ set(COMMAND_ORDER)}"
    assert listed == list(COMMAND_ORDER)
