"""The ``pitwall`` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from pitwall.cli import (
    data_cmds,
    demo_cmd,
    keys_cmds,
    live_cmds,
    market_cmds,
    ml_cmds,
    monitor_cmds,
    predict_cmds,
    serve_cmds,
)

# `pitwall --help` lists the commands in the order of the workflow (data, features, models,
# serving, operations); a command missing here is listed last
COMMAND_ORDER = (
    "demo",
    "ingest",
    "data",
    "features",
    "sql",
    "templates",
    "train",
    "evaluate",
    "backtest",
    "experiments",
    "predict",
    "deploy",
    "undeploy",
    "serve",
    "keys",
    "monitor",
    "market",
    "live",
)


class WorkflowOrder(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))


app = typer.Typer(
    name="pitwall",
    cls=WorkflowOrder,
    context_settings={"max_content_width": 120},  # click wraps at 80 columns otherwise
    help="Pitwall: an ML playground for Formula 1 data (offline by default; AWS with PITWALL_BACKEND=aws).",
    no_args_is_help=True,
    # plain (click) help and usage errors: typer's rich renderer imports rich.markdown and
    # rich.traceback, 2.5x a bare typer import, on every --help (benchmarks/cli_start.py)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
data_cmds.register(app)
ml_cmds.register(app)
serve_cmds.register(app)
keys_cmds.register(app)
market_cmds.register(app)
monitor_cmds.register(app)
live_cmds.register(app)
predict_cmds.register(app)
app.command("demo")(demo_cmd.demo_cmd)


def main() -> None:  # pragma: no cover - console entry point
    app()
