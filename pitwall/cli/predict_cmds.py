"""``pitwall predict``: a registered model's predictions for a race or the rest of a season.

    pitwall predict race_winner_v1 --race next                  # the next race, as far as known
    pitwall predict race_winner_v1 --race 2024-08 --moment pre_qualifying
    pitwall predict race_winner_v1 --race monaco_2024 --json
    pitwall predict race_winner_v1 --championship 2024 [--from-round 12] [--simulations 10000]

Race references and moments are those of :mod:`pitwall.refs` and :mod:`pitwall.vocabulary`.
Imports stay inside the command so ``pitwall --help`` does not load pandas or the models.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from pitwall.cli.common import TenantOption, console, error_message, fail, resolve_tenant

MOMENT_HELP = "pre_practice, pre_qualifying or pre_race (default: the latest the stored data reaches)"


def _check_moment(moment: str | None) -> str | None:
    from pitwall.vocabulary import MOMENTS

    weekend = [m for m in MOMENTS if m != "in_race"]
    if moment == "in_race":
        raise typer.BadParameter("in-race predictions are live: see 'pitwall live'", param_hint="--moment")
    if moment is not None and moment not in weekend:
        raise typer.BadParameter(f"must be one of {', '.join(weekend)}; got {moment!r}", param_hint="--moment")
    return moment


def _check_race(race: str) -> str:
    from pitwall import refs

    try:
        refs.parse_race_ref(race, field="--race")
    except refs.RefError as exc:
        raise typer.BadParameter(str(exc)) from None
    return race


def _print_race(answer: dict[str, Any], top: int) -> None:
    from rich.table import Table

    race = answer["race"]
    title = f"{answer['model']}: {race['race_id']} {race.get('name') or ''} ({race.get('date') or 'no date'})"
    table = Table(title=title)
    rows = answer["predictions"][:top]
    skip = {"season", "round", "race_id"}
    columns = [c for c in (rows[0] if rows else {}) if c not in skip]
    for col in columns:
        table.add_column(col, justify="left" if col.endswith("_id") else "right")
    for row in rows:
        table.add_row(*[_cell(row[c]) for c in columns])
    console.print(table)
    for note in answer["notes"]:  # one line each, the terminal's width (a caption wraps them to the table's)
        console.print(f"- {note}", highlight=False, markup=False)
    if answer["unknown_inputs"]:
        console.print(f"inputs not known at {answer['moment']}: {', '.join(answer['unknown_inputs'])}")


def _print_championship(answer: dict[str, Any], top: int) -> None:
    from rich.table import Table

    first = answer["simulated_rounds"][0] if answer["simulated_rounds"] else None
    head = f"{answer['season']} championship from round {first}" if first else f"{answer['season']} championship"
    for what, key in (("drivers", "driver_id"), ("constructors", "constructor_id")):
        table = Table(title=f"{head}: {what} ({answer['simulations']} simulations)")
        for col in (key, "current", "expected", "P(title)"):
            table.add_column(col, justify="left" if col == key else "right")
        for row in answer[what][:top]:
            table.add_row(
                row[key],
                f"{row['current_points']:.0f}",
                f"{row['expected_points']:.1f}",
                f"{row['title_probability']:.3f}",
            )
        console.print(table)
    for note in (answer["known"], f"points: {answer['points_system']}"):  # once, below both tables
        console.print(f"- {note}", highlight=False, markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def predict_cmd(
    model: str = typer.Argument(..., help="registered model name"),
    race: str = typer.Option(None, "--race", help="next, <season>-<round> (2024-08) or <grand-prix>_<season>"),
    moment: str = typer.Option(None, "--moment", help=MOMENT_HELP),
    championship: int = typer.Option(None, "--championship", help="forecast this season's championship"),
    from_round: int = typer.Option(None, "--from-round", help="first round simulated (default: first not run)"),
    simulations: int = typer.Option(10_000, "--simulations", min=1, max=100_000),
    seed: int = typer.Option(None, "--seed", help="random seed of the Monte Carlo"),
    version: int = typer.Option(None, "--version", help="model version (default: latest)"),
    top: int = typer.Option(25, "--top", min=1, help="rows to show"),
    as_json: bool = typer.Option(False, "--json", help="print the answer as JSON"),
    tenant: str = TenantOption,
) -> None:
    """Predict a race (stored or upcoming, at a weekend moment) or the rest of a season."""
    from pitwall.errors import PitwallError

    if (race is None) == (championship is None):
        raise typer.BadParameter("give exactly one of --race or --championship", param_hint="--race")
    if championship is None and from_round is not None:
        raise typer.BadParameter("only with --championship", param_hint="--from-round")
    if race is not None:
        _check_race(race)
    elif moment is not None:
        raise typer.BadParameter("only with --race", param_hint="--moment")
    _check_moment(moment)

    from pitwall.sdk import load

    tenant_id = resolve_tenant(tenant)
    try:
        loaded = load(model, version, tenant_id=tenant_id)
        if race is not None:
            answer = loaded.predict(race=race, moment=moment).to_dict()
        else:
            answer = loaded.predict_championship(
                championship, from_round=from_round, simulations=simulations, seed=seed
            )
    except (PitwallError, ValueError) as exc:
        fail(error_message(exc, tenant_id))
    if as_json:
        typer.echo(json.dumps(answer, default=str))
    elif race is not None:
        _print_race(answer, top)
    else:
        _print_championship(answer, top)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_cmd)
