"""What an auto-features request may hold, checked without pandas (the lean API Lambda imports it).

An auto-features request names base columns and the transforms generated from each
(``pitwall.features.auto``): ``{"base": [...], "lags": [1, 2], "windows": [3], "relative":
["teammate", "field"]}``. :func:`problems` is the one structural check: the training request
(:mod:`pitwall.workflow.request`) reports its first problem as a 422 naming
``auto_features.<key>``, ``pitwall.features.auto.AutoFeatures`` as a ``FeatureInputError``.
Whether a base column exists and when it is known is checked where the frame is
(``pitwall.features.auto.add_auto_features``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

RELATIVE = ("teammate", "field")
KEYS = ("base", "lags", "windows", "relative")
DEFAULT_LAGS = (1,)
DEFAULT_WINDOWS = (3,)
MAX_LAG = 10
MAX_WINDOW = 20
MAX_BASE = 20
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def problems(base: Any, lags: Any, windows: Any, relative: Any) -> list[tuple[str, str]]:
    """(key, message) for every problem of an auto-features description; empty when valid."""
    out: list[tuple[str, str]] = []
    if isinstance(base, str) or not isinstance(base, Sequence) or not base:
        out.append(("base", "give a non-empty list of column names"))
    elif len(base) > MAX_BASE:
        out.append(("base", f"at most {MAX_BASE} base columns"))
    else:
        for item in base:
            if not isinstance(item, str) or not _COLUMN.match(item):
                out.append(("base", f"{item!r} is not a column name (lower-case letters, digits, '_')"))
    for key, values, top in (("lags", lags, MAX_LAG), ("windows", windows, MAX_WINDOW)):
        if isinstance(values, str) or not isinstance(values, Sequence):
            out.append((key, f"expected a list of integers from 1 to {top}; got {values!r}"))
            continue
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                out.append((key, f"{v!r} is not an integer from 1 to {top}"))
    if isinstance(relative, str) or not isinstance(relative, Sequence):
        out.append(("relative", f"expected a list drawn from {', '.join(RELATIVE)}; got {relative!r}"))
    else:
        unknown = [r for r in relative if r not in RELATIVE]
        if unknown:
            out.append(("relative", f"{', '.join(map(repr, unknown))} not one of {', '.join(RELATIVE)}"))
    return out


def normalised(spec: Mapping[str, Any] | Sequence[str]) -> dict[str, list[Any]]:
    """A JSON-able auto-features description with every key filled in (defaults where left out).

    ``spec`` is a mapping with the keys of :data:`KEYS` or a plain list of base column names.
    ``ValueError`` (``(key, message)`` in ``args``) for unknown keys; :func:`problems` is not run here.
    """
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(KEYS))
        if unknown:
            raise ValueError("keys", f"unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(KEYS)}")
        values = dict(spec)
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        values = {"base": list(spec)}
    else:
        raise ValueError("base", f"expected an object like {{'base': [...], 'lags': [1]}} or a list; got {spec!r}")
    out = {
        "base": values.get("base"),
        "lags": values.get("lags", list(DEFAULT_LAGS)),
        "windows": values.get("windows", list(DEFAULT_WINDOWS)),
        "relative": values.get("relative", list(RELATIVE)),
    }
    return {k: list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v for k, v in out.items()}


def generated_names(
    base: Sequence[str], lags: Sequence[int], windows: Sequence[int], relative: Sequence[str]
) -> list[str]:
    """The column names generated for a (valid) description, in order."""
    names: list[str] = []
    for b in base:
        names += [f"{b}_lag{k}" for k in lags]
        names += [f"{b}_prev{n}_mean" for n in windows]
        names += [f"{b}_vs_{r}" for r in relative]
    return names
