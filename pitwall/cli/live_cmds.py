"""``pitwall live``: train the live race-result model and follow a race lap by lap.

    pitwall live train live_v1 --train-until 2023
    pitwall live replay 2024 8 --model live_v1 [--speed 10] [--jsonl] [--publish]
    pitwall live openf1 --session latest --model live_v1 [--publish]

``pitwall live upload NAME`` puts a saved live model where the cloud poller reads it.
``--publish`` writes each lap to the live feed that ``GET /api/v1/live/MODEL`` (and its SSE stream
under ``pitwall serve``) reads.

Imports stay inside the commands so ``pitwall --help`` does not load pandas or LightGBM.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from pitwall.cli.common import console, fail, parse_seasons

live_app = typer.Typer(help="Live race mode: per-lap P(win), P(podium) and expected position.", no_args_is_help=True)


def _errors() -> tuple[type[Exception], ...]:
    from pitwall.live.sources.openf1 import OpenF1Error
    from pitwall.live.sources.replay import RaceNotStored
    from pitwall.live.template import LiveModelError

    return (LiveModelError, RaceNotStored, OpenF1Error, ValueError)


def _table(update: Any, top: int) -> Any:
    from rich.table import Table

    state = update.state
    status = ", ".join(sorted(state.track_status)) or "green"
    where = state.race_id or f"session {state.session_key}"
    table = Table(
        title=f"{where}  lap {update.lap}/{update.total_laps}  ({update.laps_remaining} to go, {status})  "
        f"model {update.model}  {update.latency_ms:.1f} ms"
    )
    for col, justify in (
        ("pos", "right"),
        ("driver", "left"),
        ("team", "left"),
        ("gap", "right"),
        ("tyre", "left"),
        ("stops", "right"),
        ("P(win)", "right"),
        ("P(podium)", "right"),
        ("E(pos)", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d, p in list(zip(state.drivers, update.predictions, strict=True))[:top]:
        if not d.running:
            behind = update.lap - d.laps_completed
            # lap N's state cannot tell a lapped car still on track from a stopped one: a car one or
            # two laps short is shown as lapped, one further back as out
            gap = "" if behind <= 0 else f"+{behind} lap{'s' if behind > 1 else ''}" if behind <= 2 else "out"
        elif d.gap_to_leader_s is None:
            gap = f"+{d.laps_down} lap" if d.laps_down else ""
        else:
            gap = "leader" if d.position == 1 else f"+{d.gap_to_leader_s:.3f}"
        tyre = f"{(d.compound or '?')[:1]}{d.tyre_age_laps if d.tyre_age_laps is not None else ''}"
        table.add_row(
            str(d.position),
            d.driver_code or str(d.driver_number),
            d.team or "",
            gap,
            tyre,
            str(d.stops),
            f"{p.p_win:.3f}",
            f"{p.p_podium:.3f}",
            f"{p.expected_position:.1f}",
        )
    return table


def _follow(stream: Any, top: int, jsonl: bool) -> None:
    from rich.live import Live

    if jsonl:
        for update in stream:
            typer.echo(json.dumps(update.to_dict()))
        return
    last = None
    with Live(console=console.rich, auto_refresh=False, transient=False) as live:
        for update in stream:
            last = update
            live.update(_table(update, top), refresh=True)
    if last is None:
        console.print("no completed laps yet")


ModelOption = typer.Option(..., "--model", help="live model name (see `pitwall live train`)")
TopOption = typer.Option(20, "--top", min=1, max=30, help="rows of the table")
JsonlOption = typer.Option(False, "--jsonl", help="one JSON update per lap instead of the table")
PublishOption = typer.Option(
    False, "--publish", help="publish each lap to the live feed (GET /api/v1/live/MODEL and its SSE stream)"
)


def _publisher(publish: bool) -> Any:
    from pitwall.live.feed import publisher

    return publisher() if publish else None


@live_app.command("train")
def train_cmd(
    name: str = typer.Argument(..., help="name to save the model under"),
    train_until: int = typer.Option(None, "--train-until", help="last training season (all stored seasons up to it)"),
    seasons: str = typer.Option(None, "--seasons", help="training seasons instead, e.g. 2018-2023"),
) -> None:
    """Train the live race-result template on every lap of the training seasons."""
    from pitwall.live.template import train_live_model

    season_list = parse_seasons(seasons)
    if train_until is None and season_list is None:
        fail("--train-until or --seasons: give the training seasons")
    try:
        model = train_live_model(name, train_until=train_until, seasons=season_list)
    except _errors() as exc:
        fail(str(exc))
        return
    console.print(
        f"trained live model [bold]{model.name}[/bold] on {len(model.train_seasons)} season(s) "
        f"{model.train_seasons[0]}-{model.train_until}: {int(model.metrics['train_races'])} races, "
        f"{int(model.metrics['train_rows']):,} driver-laps; saved to {model.path}"
    )


@live_app.command("replay")
def replay_cmd(
    season: int = typer.Argument(..., help="season, e.g. 2024"),
    round_: int = typer.Argument(..., metavar="round", help="round, e.g. 8"),
    model: str = ModelOption,
    speed: float = typer.Option(None, "--speed", min=0.001, help="replay speed (1 = real time; default: at once)"),
    top: int = TopOption,
    jsonl: bool = JsonlOption,
    allow_in_sample: bool = typer.Option(False, "--allow-in-sample", help="allow a season the model trained on"),
    publish: bool = PublishOption,
) -> None:
    """Replay a stored race lap by lap with live predictions."""
    from pitwall.live.stream import connect_to_stream

    try:
        stream = connect_to_stream(
            model,
            source="replay",
            season=season,
            round=round_,
            speed=speed,
            allow_in_sample=allow_in_sample,
            callback=_publisher(publish),
        )
        _follow(stream, top, jsonl)
    except _errors() as exc:
        fail(str(exc))


@live_app.command("openf1")
def openf1_cmd(
    model: str = ModelOption,
    session: str = typer.Option("latest", "--session", help="OpenF1 session_key of a race, or 'latest'"),
    laps: int = typer.Option(None, "--laps", min=1, help="race distance (default: from the stored calendar)"),
    poll: float = typer.Option(4.0, "--poll", min=0.5, help="seconds between polls while the session is live"),
    base_url: str = typer.Option(None, "--base-url", help="OpenF1 API base URL (default https://api.openf1.org/v1)"),
    top: int = TopOption,
    jsonl: bool = JsonlOption,
    publish: bool = PublishOption,
) -> None:
    """Follow an OpenF1 race session (live ones need OPENF1_TOKEN) with live predictions."""
    from pitwall.live.sources.openf1 import BASE_URL, OpenF1Client
    from pitwall.live.stream import connect_to_stream

    key: int | str = int(session) if session.isdigit() else session
    if key != "latest" and not isinstance(key, int):
        fail(f"--session: expected a session_key number or 'latest', got {session!r}")
    try:
        stream = connect_to_stream(
            model,
            source="openf1",
            session_key=key,
            client=OpenF1Client(base_url or BASE_URL),
            total_laps=laps,
            poll_interval_s=poll,
            callback=_publisher(publish),
        )
        _follow(stream, top, jsonl)
    except _errors() as exc:
        fail(str(exc))


@live_app.command("upload")
def upload_cmd(
    name: str = typer.Argument(..., help="saved live model to upload"),
    to: str = typer.Option(
        None, "--to", help="s3://bucket/prefix (default: $PITWALL_LIVE_MODELS_URI, the poller's location)"
    ),
    strengths_for: str = typer.Option(
        None,
        "--strengths-for",
        help="SEASON-ROUND whose pre-race strengths to upload beside the models (default: the next race without "
        "stored results; run again after each race's ingest)",
    ),
) -> None:
    """Upload a saved live model where the cloud poller reads it (s3://<models bucket>/live_models),
    with the pre-race strengths of the coming race (strengths.json)."""
    import os

    from pitwall.live.aws import LIVE_MODELS_URI_ENV, S3LiveModels
    from pitwall.live.predictors import LeanLiveModel, live_models_dir

    uri = to or os.environ.get(LIVE_MODELS_URI_ENV)
    if not uri:
        fail(f"--to: give s3://bucket/prefix (or set {LIVE_MODELS_URI_ENV})")
        return
    race = _strength_race(strengths_for)
    folder = live_models_dir() / name
    try:
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        LeanLiveModel.from_files(files)  # checksums verified; the poller can evaluate it
        models = S3LiveModels(uri)
        models.upload(name, files)
        doc = _strength_doc(race)
        if doc is not None:
            models.upload_strengths(doc)
    except (FileNotFoundError, ValueError) as exc:
        fail(f"{name}: {exc}")
        return
    console.print(f"uploaded live model [bold]{name}[/bold] ({len(files)} files) to {uri.rstrip('/')}/{name}/")
    if doc is None:
        console.print("no upcoming race in the stored calendar: no pre-race strengths uploaded (--strengths-for)")
    else:
        console.print(
            f"pre-race strengths of {doc['season']}-{doc['round']:02d} "
            f"({len(doc['by_driver_number'])} cars) uploaded to {uri.rstrip('/')}/strengths.json"
        )


def _strength_race(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    season, sep, round_ = text.partition("-")
    if not (sep and season.isdigit() and round_.isdigit()):
        fail(f"--strengths-for: expected SEASON-ROUND such as 2024-08, got {text!r}")
    return int(season), int(round_)


def _strength_doc(race: tuple[int, int] | None) -> dict[str, Any] | None:
    """The strengths of ``race`` (default: the next race without stored results), None when none."""
    from pitwall.data.store import get_store
    from pitwall.live.sources.replay import form_results
    from pitwall.live.strength import strength_doc, upcoming_race

    store = get_store()
    if race is None:
        seasons = store.seasons("races") if "races" in store.datasets() else []
        if not seasons:
            return None
        latest = max(seasons)
        stored = latest in store.seasons("results") if "results" in store.datasets() else False
        results = store.read("results", [latest]) if stored else None
        race = upcoming_race(store.read("races", [latest]), results)
        if race is None:
            return None
    return strength_doc(form_results(store, race[0]), race[0], race[1])


def register(app: typer.Typer) -> None:
    app.add_typer(live_app, name="live")
