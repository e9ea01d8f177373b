"""``pw.marketplace``: discover, inspect, download, fork, rate and publish shared models.

Acts for a tenant (``tenant_id``, default ``"local"``; a tenant that does not exist yet is
created on the free tier) against this environment's records (embedded locally, DynamoDB
with ``PITWALL_BACKEND=aws``)::

    import pitwall as pw
    for entry in pw.marketplace.top():
        print(entry.listing.title, entry.downloads_7d)
    page = pw.marketplace.list(template="race_winner", sort="rating")
    card = pw.marketplace.show(page.items[0].listing_id)      # verified + reported metrics
    folder = pw.marketplace.download(card.listing_id)          # verified artifact folder
    model = pw.load_model(folder)
    mine = pw.marketplace.fork(card.listing_id, "my_winner")  # deploy/retrain like your own
    pw.marketplace.share("my_model", "Title", "What it does")  # publish (verified backtest)

Everything goes through :mod:`pitwall.market_service`, the implementation the API and the
CLI use too.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pitwall import market_service
from pitwall.platform.marketplace import ListingPage, ModelCard, WeeklyEntry
from pitwall.platform.records import Listing, ModelRecord

__all__ = ["top", "list", "show", "publish", "share", "download", "download_bundle", "fork", "rate", "unpublish"]


def top(limit: int = 10) -> builtins.list[WeeklyEntry]:
    """The most downloaded and rated listings of the last 7 days."""
    return market_service.top(limit)


def list(  # noqa: A001 - ``pw.marketplace.list`` is the SDK's name for search
    template: str | None = None,
    text: str | None = None,
    author: str | None = None,
    sort: str = "recent",
    limit: int = 20,
    next_token: str | None = None,
) -> ListingPage:
    """Search listings by template, text (title/description) and author; sort by ``rating``,
    ``downloads`` or ``recent``; ``next_token`` from the previous page continues it."""
    return market_service.search(
        template=template, text=text, author=author, sort=sort, limit=limit, next_token=next_token
    )


def show(listing_id: str) -> ModelCard:
    """The model card of a listing (verified and reported metrics, feature importance...)."""
    return market_service.card(listing_id)


def publish(
    model_name: str,
    title: str,
    description: str,
    reported_metrics: Mapping[str, float] | None = None,
    *,
    version: int | None = None,
    tenant_id: str = "local",
    store: Any = None,
) -> Listing:
    """Publish one of your models (runs the verification backtest; see
    :func:`pitwall.market_service.verify`)."""
    return market_service.publish(
        tenant_id, model_name, title, description, reported_metrics, version=version, store=store
    )


share = market_service.share


def _default_folder(listing_id: str, sha256: str) -> Path:
    from pitwall.config import pitwall_home

    return pitwall_home() / "downloads" / f"{listing_id}-{sha256[:12]}"


def download(listing_id: str, dest: str | Path | None = None, *, tenant_id: str = "local") -> Path:
    """Download a listed model, verify it and unpack it into ``dest`` (a new or empty folder;
    default ``$PITWALL_HOME/downloads/<listing>-<sha>``); returns the folder, ready for
    ``pw.load_model``. Counts against the tenant's daily downloads."""
    from pitwall.ml.artifacts import import_bundle

    principal = market_service.local_principal(tenant_id)
    result, verified = market_service.download_checked(principal, listing_id)
    folder = Path(dest) if dest is not None else _default_folder(listing_id, result.sha256)
    return import_bundle(verified.bundle, folder)


def download_bundle(listing_id: str, path: str | Path, *, tenant_id: str = "local") -> Path:
    """Download a listed model's verified zip bundle to the file ``path`` and return it."""
    principal = market_service.local_principal(tenant_id)
    _, verified = market_service.download_checked(principal, listing_id)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(verified.bundle)
    os.replace(partial, target)
    return target


def fork(listing_id: str, new_name: str | None = None, *, tenant_id: str = "local") -> ModelRecord:
    """Copy a listed model into your models (lineage kept); counts as a download."""
    return market_service.fork(market_service.local_principal(tenant_id), listing_id, new_name)


def rate(listing_id: str, stars: int, *, tenant_id: str = "local") -> Listing:
    """Rate a listing 1-5 (again to change your rating; not your own listing)."""
    return market_service.rate(tenant_id, listing_id, stars)


def unpublish(listing_id: str, *, tenant_id: str = "local") -> None:
    """Remove your listing (forks made from it keep working)."""
    market_service.unpublish(tenant_id, listing_id)
