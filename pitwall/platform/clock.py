"""UTC time helpers shared by quotas, jobs and the marketplace.

Quota windows are UTC calendar days (``"2026-03-01"``); timestamps are ISO-8601 strings in
UTC. Rule functions accept an optional ``now`` so tests can pin the clock.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(now: datetime | None) -> datetime:
    """``now`` converted to aware UTC (naive datetimes are taken to be UTC); current time if None."""
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def iso(now: datetime) -> str:
    """ISO-8601 UTC timestamp with microseconds, e.g. ``2026-03-01T12:00:00.000000+00:00``."""
    return as_utc(now).isoformat(timespec="microseconds")


def utc_day(now: datetime) -> str:
    """The UTC calendar day of ``now`` as ``YYYY-MM-DD`` (the quota window id)."""
    return as_utc(now).date().isoformat()


def next_midnight(now: datetime) -> datetime:
    """The start of the next UTC day after ``now``."""
    d = as_utc(now).date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def seconds_until_midnight(now: datetime) -> int:
    """Whole seconds (rounded up, at least 1) until the next UTC midnight: a Retry-After value."""
    remaining = (next_midnight(now) - as_utc(now)).total_seconds()
    return max(1, math.ceil(remaining))


def epoch_seconds(now: datetime) -> float:
    """``now`` as Unix epoch seconds."""
    return as_utc(now).timestamp()


def expiry_after_day(day: str, keep_days: int = 2) -> int:
    """Epoch seconds at which a record for ``day`` may be purged (``keep_days`` after it ends)."""
    d = date.fromisoformat(day) + timedelta(days=1 + keep_days)
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def last_days(now: datetime, n: int) -> list[str]:
    """The ``n`` UTC days ending with today's (most recent last)."""
    today = as_utc(now).date()
    return [(today - timedelta(days=i)).isoformat() for i in range(n - 1, -1, -1)]
