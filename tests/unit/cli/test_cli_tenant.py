"""One tenant rule for the CLI: ``--tenant``, else ``$PITWALL_TENANT``, else ``local``."""

from __future__ import annotations

import pytest
import typer

from pitwall.cli import app
from pitwall.cli.common import resolve_tenant


def test_the_flag_wins_then_the_environment_then_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PITWALL_TENANT", raising=False)
    assert resolve_tenant(None) == "local"
    monkeypatch.setenv("PITWALL_TENANT", "team-a")
    assert resolve_tenant(None) == "team-a"
    assert resolve_tenant("team-b") == "team-b"


def _commands(group: typer.core.TyperGroup, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out.update(_commands(cmd, f"{prefix}{name} "))  # type: ignore[arg-type]
        else:
            out[f"{prefix}{name}"] = cmd
    return out


def test_every_command_acting_for_a_tenant_follows_the_rule() -> None:
    commands = _commands(typer.main.get_command(app))  # type: ignore[arg-type]
    with_tenant = {
        name: p
        for name, cmd in commands.items()
        for p in cmd.params
        if "--tenant" in getattr(p, "opts", ())  # type: ignore[attr-defined]
    }
    acting = {"predict", "train", "evaluate", "deploy", "undeploy", "market fork", "monitor report", "experiments list"}
    assert acting | {"experiments compare"} <= set(with_tenant)
    for name, param in with_tenant.items():
        if name.startswith("keys "):  # key management names its tenant explicitly
            continue
        assert param.default is None and "PITWALL_TENANT" in (param.help or ""), name


def test_a_model_the_tenant_lacks_names_the_tenant_searched() -> None:
    from pitwall.cli.common import error_message
    from pitwall.errors import NotFound

    message = error_message(NotFound("model 'rw' not found", field="name"), "local")
    assert message == "model 'rw' not found for tenant 'local' (another: --tenant or $PITWALL_TENANT)"
    assert error_message(NotFound("tenant 'x' not found", field="tenant_id"), "x") == "tenant 'x' not found"
    assert error_message(ValueError("season: must be a year"), "local") == "season: must be a year"


def test_help_texts_are_plain_words() -> None:
    # docstrings become --help: reST markup (``code``, :mod:) shows literally there
    for name, cmd in _commands(typer.main.get_command(app)).items():  # type: ignore[arg-type]
        texts = [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]  # type: ignore[attr-defined]
        assert not [t for t in texts if "``" in t or ":mod:" in t or ":func:" in t], name
