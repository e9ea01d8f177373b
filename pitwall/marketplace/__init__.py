"""The model marketplace, and its SDK face ``pw.marketplace``: discover, inspect, download,
fork, rate and publish shared models.

One verb per operation, the same in the SDK, the CLI (``pitwall market <verb>``), the API
(operation id ``market_<verb>``) and the code::

    import pitwall as pw
    for entry in pw.marketplace.top():
        print(entry.listing.title, entry.downloads_7d)
    page = pw.marketplace.list(template="race_winner", sort="rating")
    card = pw.marketplace.show(page.items[0].listing_id)      # verified + reported metrics
    folder = pw.marketplace.download(card.listing_id)          # checked artifact folder
    model = pw.load_model(folder)
    mine = pw.marketplace.fork(card.listing_id, "my_winner")   # deploy/retrain like your own
    pw.marketplace.rate(card.listing_id, 5)
    pw.marketplace.publish("my_model", "Title", "What it does")  # waits for its verification job

Calls act for ``tenant`` (default ``"local"``; a tenant that does not exist yet is created on
the free tier) against this environment's records (embedded locally, DynamoDB with
``PITWALL_BACKEND=aws``).

- :mod:`.rules`: the listing records and rules (list, top, show, rate, unpublish, the record
  side of publish, download and fork: ``verifying`` -> ``listed``/``rejected``, downloads
  counted once per tenant per day, forks never published as originals).
- :mod:`.service`: publish, download and fork (rules + artifacts + the verification job).
- :mod:`.bundles`: archives, the one artifact check, S3 (presigned URLs, forks).
- :mod:`.snapshots`: the checked bundle the verification job keeps in S3 (cloud downloads and
  forks without ML libraries).
- :mod:`.verify`: the verification backtest and the job's result
  (run by :mod:`pitwall.workflow.verification` on the model image or in process).
"""

from __future__ import annotations

import os
from pathlib import Path

from pitwall.config import LOCAL_TENANT
from pitwall.errors import ValidationFailed
from pitwall.marketplace.rules import (
    ListingPage,
    ModelCard,
    Tenant,
    WeeklyEntry,
    list,
    rate,
    show,
    top,
    unpublish,
)
from pitwall.marketplace.service import download as _download
from pitwall.marketplace.service import fork, publish

__all__ = [
    "ListingPage",
    "ModelCard",
    "WeeklyEntry",
    "download",
    "fork",
    "list",
    "publish",
    "rate",
    "show",
    "top",
    "unpublish",
]


def download(
    listing_id: str, dest: str | Path | None = None, *, unpack: bool = True, tenant: Tenant = LOCAL_TENANT
) -> Path:
    """Download a listed model, check the bytes received and write them to ``dest``; returns it.

    ``unpack=True``: the artifact folder (new or empty), ready for ``pw.load_model``; default
    ``$PITWALL_HOME/downloads/<listing>-<sha>``. ``unpack=False``: the zip bundle file; default
    ``$PITWALL_HOME/downloads/<model>-v<version>-<sha>.zip``. An explicit ``dest`` that already
    holds something is refused before anything is downloaded. Counts against the tenant's
    daily downloads; nothing is written when the check fails.
    """
    from pitwall.config import pitwall_home

    target = Path(dest) if dest is not None else None
    if target is not None and target.exists() and (not unpack or not target.is_dir() or any(target.iterdir())):
        raise ValidationFailed(f"dest: {str(target)!r} already exists; choose a new path", field="dest")
    answer = _download(listing_id, tenant=tenant)
    verified = answer.received()
    downloads = pitwall_home() / "downloads"
    if unpack:
        from pitwall.ml.artifacts import import_bundle

        return import_bundle(verified.bundle, target or downloads / f"{listing_id}-{verified.sha256[:12]}")
    target = target or downloads / answer.file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(verified.bundle)
    os.replace(partial, target)
    return target
