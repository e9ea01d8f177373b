"""Build or refresh the materialised feature tables: the feature job's entry point.

Runs the same functions as ``pitwall features build``, against ``get_store()`` (local parquet
under ``$PITWALL_HOME/lake``, or S3/Glue with ``PITWALL_BACKEND=aws``).

    python -m feature_jobs.build_features                  # full rebuild, every season
    python -m feature_jobs.build_features 2014-2024        # full rebuild of these seasons
    python -m feature_jobs.build_features --update         # incremental: from the first changed race

``handler(event, context)`` serves the same job as a Lambda function: an EventBridge
``RaceIngested`` event (``detail.season``/``detail.round``) triggers an incremental update,
``{"seasons": [2014, 2024]}`` a full rebuild of that inclusive range, anything else a full
rebuild of every season.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pitwall.data.catalog import refresh_catalog
from pitwall.data.store import Store, get_store
from pitwall.features.errors import FeatureInputError
from pitwall.features.tables import BuildReport, build_feature_tables, update_feature_tables


def parse_season_range(text: str) -> list[int]:
    """``"2024"`` or ``"2014-2024"`` (inclusive) as a list of seasons."""
    parts = text.split("-")
    try:
        bounds = [int(p) for p in parts]
    except ValueError:
        raise FeatureInputError(f"seasons: {text!r} is not a year or a range like 2014-2024", field="seasons") from None
    if len(bounds) == 1:
        return bounds
    if len(bounds) != 2 or bounds[0] > bounds[1]:
        raise FeatureInputError(f"seasons: {text!r} is not a range like 2014-2024", field="seasons")
    return list(range(bounds[0], bounds[1] + 1))


def run(seasons: Sequence[int] | None = None, update: bool = False, store: Store | None = None) -> BuildReport:
    """Full rebuild of ``seasons`` (default: all), or with ``update`` an incremental refresh."""
    store = store if store is not None else get_store()
    report = update_feature_tables(store) if update else build_feature_tables(store, seasons)
    refresh_catalog(store)  # the API's data catalogue (pitwall.data.catalog) counts the feature tables too
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    update = "--update" in args
    rest = [a for a in args if a != "--update"]
    try:
        if len(rest) > 1 or any(a.startswith("-") for a in rest):
            raise FeatureInputError(f"arguments: expected [SEASONS] [--update], got {' '.join(args)}", field="argv")
        seasons = parse_season_range(rest[0]) if rest else None
        report = run(seasons, update=update)
    except FeatureInputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point (see the module docstring). The weekly schedule's event (detail-type
    ``Scheduled Event``) first ingests the latest race (``feature_jobs.ingest_latest``)."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        from feature_jobs.ingest_latest import ingest_latest_race
        from pitwall.runtime import event_publisher

        return ingest_latest_race(get_store(), event_publisher())
    detail = event.get("detail") if isinstance(event, dict) else None
    if isinstance(detail, dict) and "season" in detail:
        report = run(update=True)
    elif isinstance(event, dict) and isinstance(event.get("seasons"), list) and len(event["seasons"]) == 2:
        lo, hi = (int(s) for s in event["seasons"])
        report = run(list(range(lo, hi + 1)))
    else:
        report = run()
    return {
        "first_changed_race": report.first_changed_race,
        "seasons_written": report.seasons_written,
        "rows": report.rows,
        "seconds": round(report.seconds, 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
