"""``pitwall market list|top|show|publish|download|fork|rate|unpublish``: the model marketplace.

Each command calls the ``pw.marketplace`` function of the same verb (:mod:`pitwall.marketplace`,
which the API calls too), acting for ``--tenant`` (default ``$PITWALL_TENANT`` or ``local``).
Errors are one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pitwall.cli.common import TenantOption, console, error_message, fail, resolve_tenant
from pitwall.errors import PitwallError

if TYPE_CHECKING:
    from rich.table import Table


market_app = typer.Typer(
    help="Model marketplace: discover, download, fork, rate and publish models.", no_args_is_help=True
)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _listings_table(rows: list, title: str, weekly: bool = False) -> Table:  # type: ignore[type-arg]
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    columns = ["id", "title", "author", "template", "algorithm", "downloads", "rating"]
    if weekly:
        columns += ["7d downloads", "7d ratings"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        x = row.listing if weekly else row  # user text goes in as Text: never read as markup
        rating = "" if x.rating_avg is None else f"{x.rating_avg:.2f} ({x.rating_count})"
        cells = [
            x.listing_id,
            Text(x.title),
            Text(x.author_tenant_id),
            x.template,
            x.algorithm,
            str(x.downloads),
            rating,
        ]
        if weekly:
            cells += [str(row.downloads_7d), str(row.ratings_7d)]
        table.add_row(*cells)
    return table


def _parse_metrics(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"expected NAME=NUMBER, got {item!r}", param_hint="--metric") from None
    return out


@market_app.command("list")
def list_cmd(
    template: str = typer.Option(None, "--template", help="only this template"),
    text: str = typer.Option(None, "--text", help="text in the title or description"),
    author: str = typer.Option(None, "--author", help="only this author tenant"),
    sort: str = typer.Option("recent", "--sort", help="rating, downloads or recent"),
    limit: int = typer.Option(20, "--limit", help="page size (1-100)"),
    next_token: str = typer.Option(None, "--next-token", help="continue from a previous page"),
) -> None:
    """Search listings."""
    from pitwall import marketplace

    try:
        page = marketplace.list(
            template=template, text=text, author=author, sort=sort, limit=limit, next_token=next_token
        )
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(_listings_table(page.items, f"marketplace ({sort})"))
    if page.next_token:
        console.print(f"more: --next-token {page.next_token}")


@market_app.command("top")
def top_cmd(limit: int = typer.Option(10, "--limit", help="how many (1-100)")) -> None:
    """Top models of the last 7 days (downloads + new ratings)."""
    from pitwall import marketplace

    try:
        entries = marketplace.top(limit)
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(_listings_table(entries, "top this week", weekly=True))


@market_app.command("show")
def show_cmd(listing_id: str = typer.Argument(..., help="listing id (lst_...)")) -> None:
    """A listing's model card: verified and reported metrics, features, feature importance."""
    from rich.table import Table
    from rich.text import Text

    from pitwall import marketplace

    try:
        card = marketplace.show(listing_id)
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(Text(card.title, style="bold"), Text(f"({card.listing_id})"), highlight=False)
    console.print(card.description, markup=False, highlight=False)
    console.print(
        f"author {card.author_tenant_id} | model {card.model_name} v{card.model_version} | template {card.template} "
        f"| {card.algorithm} | target {card.target} | data {card.data_window}",
        markup=False,
    )
    rating = "unrated" if card.rating_avg is None else f"{card.rating_avg:.2f} from {card.rating_count} ratings"
    console.print(f"downloads {card.downloads} | {rating} | published {card.created_at}", markup=False)
    metrics = Table(title=f"metrics (verified {card.verified_at})")
    for column in ("metric", "verified", "reported", "baseline (training holdout)"):
        metrics.add_column(column)
    names = list(dict.fromkeys([*card.verified_metrics, *card.reported_metrics, *card.baseline_metrics]))
    for name in names:
        metrics.add_row(
            Text(name),
            _num(card.verified_metrics.get(name)),
            _num(card.reported_metrics.get(name)),
            _num(card.baseline_metrics.get(name)),
        )
    console.print(metrics)
    live = card.live_verified
    if live is not None:  # scored race by race from predictions captured before each race
        mean = "-" if live["mean"] is None else _num(live["mean"])
        base = "-" if live["baseline_mean"] is None else _num(live["baseline_mean"])
        console.print(
            f"live verified (v{live['version']}): {live['n_races']} races | {live['metric'] or 'metric'} "
            f"{mean} vs baseline {base} (not the backtest)",
            markup=False,
        )
    if card.feature_importance:
        importance = Table(title="feature importance")
        importance.add_column("feature")
        importance.add_column("importance")
        for name, value in sorted(card.feature_importance.items(), key=lambda kv: -kv[1])[:25]:
            importance.add_row(Text(name), f"{value:.4f}")
        console.print(importance)
    console.print(card.metrics_note, markup=False)


@market_app.command("publish")
def publish_cmd(
    model_name: str = typer.Argument(..., help="one of your registered models"),
    title: str = typer.Option(..., "--title", help="one line, at most 100 characters"),
    description: str = typer.Option(..., "--description", help="plain text, at most 2000 characters"),
    version: int = typer.Option(None, "--version", min=1, help="version to list (default: latest)"),
    metric: list[str] = typer.Option(None, "--metric", help="a metric you report, NAME=NUMBER (repeatable)"),
    tenant: str = TenantOption,
) -> None:
    """Publish a model: its artifact is verified and Pitwall's standard backtest is run."""
    from pitwall import marketplace
    from pitwall.marketplace.verify import VERIFY_STANDARD

    tenant_id = resolve_tenant(tenant)
    try:
        listing = marketplace.publish(
            model_name, title, description, _parse_metrics(metric), version=version, tenant=tenant_id
        )
    except PitwallError as exc:
        fail(error_message(exc, tenant_id))
        return
    console.print(f"published [bold]{listing.listing_id}[/bold]: {model_name} v{listing.model_version}")
    verified = ", ".join(f"{k}={_num(v)}" for k, v in listing.verified_metrics.items())
    console.print(f"verified metrics ({VERIFY_STANDARD}): {verified}", markup=False)


@market_app.command("download")
def download_cmd(
    listing_id: str = typer.Argument(..., help="listing id"),
    output: Path = typer.Option(
        None, "--output", "-o", help="bundle file (default: $PITWALL_HOME/downloads/<model>-v<version>-<sha>.zip)"
    ),
    unpack: bool = typer.Option(False, "--unpack", help="write the artifact folder instead of the zip bundle"),
    tenant: str = TenantOption,
) -> None:
    """Download a listed model's bundle (or, with --unpack, its folder) after checking it
    (checksums, safe formats)."""
    from pitwall import marketplace

    try:
        target = marketplace.download(listing_id, output, unpack=unpack, tenant=resolve_tenant(tenant))
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"downloaded {listing_id} -> {target} (checked: checksums, safe formats)", markup=False)


@market_app.command("fork")
def fork_cmd(
    listing_id: str = typer.Argument(..., help="listing id"),
    name: str = typer.Option(None, "--name", help="name of your copy (default: the listed model's name)"),
    tenant: str = TenantOption,
) -> None:
    """Copy a listed model into your models (deploy or retrain it like your own)."""
    from pitwall import marketplace

    try:
        record = marketplace.fork(listing_id, name, tenant=resolve_tenant(tenant))
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"forked {listing_id} -> model [bold]{record.name}[/bold] v{record.version}")
    console.print(f"deploy it with: pitwall deploy {record.name} --tenant {record.tenant_id}", markup=False)


@market_app.command("rate")
def rate_cmd(
    listing_id: str = typer.Argument(..., help="listing id"),
    stars: int = typer.Argument(..., help="1 to 5"),
    tenant: str = TenantOption,
) -> None:
    """Rate a listing 1-5 (rating again replaces your rating)."""
    from pitwall import marketplace

    try:
        listing = marketplace.rate(listing_id, stars, tenant=resolve_tenant(tenant))
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"rated {listing_id} {stars}/5; average {listing.rating_avg:.2f} from {listing.rating_count}")


@market_app.command("unpublish")
def unpublish_cmd(listing_id: str = typer.Argument(..., help="listing id"), tenant: str = TenantOption) -> None:
    """Remove your listing (forks made from it keep working)."""
    from pitwall import marketplace

    try:
        marketplace.unpublish(listing_id, tenant=resolve_tenant(tenant))
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"unpublished {listing_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(market_app, name="market")
