"""Typed parsing of raw source values, with errors that name the file, the row and the field."""

from __future__ import annotations

import math
import re
from pathlib import Path


class SourceValidationError(ValueError):
    """A source file is malformed or inconsistent.

    ``row`` is 1-based within the file's list of records (``None`` for file-level problems).
    """

    def __init__(self, file: str | Path, row: int | None, field: str | None, problem: str):
        self.file = str(file)
        self.row = row
        self.field = field
        self.problem = problem
        where = self.file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # keep the structured fields when raised in a worker process
        return (SourceValidationError, (self.file, self.row, self.field, self.problem))


_TIME_RE = re.compile(r"^[+-]?(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


def parse_time(text: object) -> float | None:
    """Parse '1:23.456', '2:23:15.554', '83.456' or '+7.152' into seconds.

    Returns ``None`` for empty values and for gaps given in laps ('+1 lap').
    Raises ``ValueError`` for anything else.
    """
    if text is None:
        return None
    s = str(text).strip()
    if not s or s.endswith(("lap", "laps")):
        return None
    m = _TIME_RE.match(s)
    if not m:
        raise ValueError(f"not a time: {s!r}")
    a, b, sec = m.groups()
    parts = [int(p) for p in (a, b) if p is not None]
    total = float(sec)
    for mult, p in zip((60, 3600), reversed(parts), strict=False):
        total += p * mult
    return -total if s.startswith("-") else total


def parse_int(text: object) -> int | None:
    """Parse an integer field; empty -> None; anything else raises ``ValueError``."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():  # the common case, without the pattern
        return int(s)
    if not _INT_RE.fullmatch(s):
        raise ValueError(f"not an integer: {s!r}")
    return int(s)


_INT_RE = re.compile(r"-?\d+")


def parse_float(text: object) -> float | None:
    """Parse a decimal field; empty -> None; non-numbers and NaN raise ``ValueError``."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"not a number: {s!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"not a finite number: {s!r}")
    return value


def parse_bool(text: object) -> bool | None:
    if text is None:
        return None
    s = str(text).strip().lower()
    if not s or s == "nan":
        return None
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


# Non-numeric positions that F1DB publishes in classifications.
POSITION_TEXTS = frozenset({"DNF", "DNS", "DSQ", "DNQ", "DNPQ", "DNP", "NC", "EX", "PL"})


def parse_position(text: object) -> tuple[int | None, str | None]:
    """Return (numeric position or None, published text) for a classification position."""
    if text is None:
        return None, None
    s = str(text).strip()
    if not s:
        return None, None
    if s in POSITION_TEXTS:
        return None, s
    n = parse_int(s)
    if n is None or n < 1:
        raise ValueError(f"position must be a positive integer or one of {sorted(POSITION_TEXTS)}: {s!r}")
    return n, s
