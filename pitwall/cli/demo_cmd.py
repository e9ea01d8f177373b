"""``pitwall demo``: the main job end to end on the embedded local defaults.

ingest (F1DB + FastF1 laps from $PITWALL_DATA) -> feature tables -> train the race-winner
template -> deploy it -> start the local API server -> create an API key -> ask the API
for a prediction of a real race over HTTP.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from pitwall.cli.common import console, fail, print_card_note
from pitwall.errors import PitwallError

DEMO_TENANT = "demo"


def _post(url: str, key: str, body: dict) -> dict:
    import urllib.request

    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", "x-api-key": key}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def demo_cmd(
    data: Path = typer.Option(None, "--data", help="folder with f1db/ and fastf1-laps/ (default: $PITWALL_DATA)"),
    template: str = typer.Option("race_winner", "--template"),
    race: str = typer.Option("monaco_2024", "--race", help="race to predict (grand prix + season, or 2024-08)"),
    seasons: str = typer.Option("2014-2023", "--seasons", help="training seasons"),
) -> None:
    """Ingest -> features -> train -> serve a prediction, all offline."""
    from pitwall import refs
    from pitwall.api.server import LocalApiServer
    from pitwall.cli.common import parse_seasons
    from pitwall.config import default_data_dir, pitwall_home
    from pitwall.data.catalog import refresh_catalog
    from pitwall.data.ingest import ingest_data_dir
    from pitwall.data.store import get_store
    from pitwall.features import build_feature_tables
    from pitwall.platform.keys import create_key
    from pitwall.serving.deploy import deploy_model
    from pitwall.training import train_template

    try:
        refs.parse_race_ref(race, field="--race")
        training_seasons = parse_seasons(seasons)
    except (refs.RefError, typer.BadParameter) as exc:
        fail(str(exc))
        return
    root = data or default_data_dir()
    store = get_store()
    console.rule(f"Pitwall demo (home: {pitwall_home()})")
    try:
        t0 = time.perf_counter()
        f1db_report, laps_report = ingest_data_dir(store, root)
        console.print(f1db_report.summary().splitlines()[0])
        console.print(laps_report.summary().splitlines()[-1])
        t1 = time.perf_counter()
        build_feature_tables(store)
        refresh_catalog(store)  # the API's data catalogue (pitwall.data.catalog)
        console.print(f"feature tables built in {time.perf_counter() - t1:.1f}s")
        name = f"{template}_demo"
        result = train_template(template, seasons=training_seasons, name=name, tenant_id=DEMO_TENANT)
        m, b = result.metrics, result.baseline_metrics
        console.print(f"trained {name} v{result.record.version} ({result.model.algorithm}) on {seasons}")
        shown = [k for k in ("top1_accuracy", "topk_overlap", "spearman", "mae", "accuracy", "f1") if k in m]
        console.print(f"  evaluated on {result.evaluated_on}")
        for k in shown:
            console.print(f"  {k}: model {m[k]:.3f}  vs naive baseline {b.get(k, float('nan')):.3f}")
        print_card_note(template, indent="  ")  # one season's figures are not the verdict
        key = create_key(DEMO_TENANT, "free")  # creates the tenant on first use
        deploy_model(DEMO_TENANT, name)
        with LocalApiServer("127.0.0.1", 0) as server:
            url = f"{server.url}/api/v1/predict/{name}"
            console.print(f"serving on {server.url}; POST {url} {{'race': '{race}'}}")
            answer = _post(url, key, {"race": race})
    except (PitwallError, ValueError, OSError) as exc:
        fail(str(exc))
        return
    _print_answer(answer)
    console.print(
        f"done in {time.perf_counter() - t0:.0f}s. Try: "
        f"pitwall predict {name} --tenant {DEMO_TENANT} --race {race} --moment pre_qualifying, "
        f"pitwall backtest {template} --season 2024",
        markup=False,
    )
    console.print(
        "web UI (Pitwall Studio): run `pitwall serve --port 8000` and open http://127.0.0.1:8000/ "
        f"with the demo's API key {key}"
    )


def _print_answer(answer: dict) -> None:
    race = answer.get("race") or {}
    label = race.get("race_id") or race if race else "the given rows"
    console.print(f"prediction from {answer.get('model')} v{answer.get('version')} for {label}:")
    for row in (answer.get("predictions") or [])[:5]:
        p = row.get("probability")
        tail = f"  p(win)={p:.3f}" if isinstance(p, int | float) else f"  {row.get('value', row.get('label', ''))}"
        console.print(f"  {row.get('rank', '-')}. {row.get('driver_id')}{tail}")
