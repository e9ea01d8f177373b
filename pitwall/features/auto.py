"""Auto-features: point-in-time transforms generated from a chosen base set of columns.

The wizard's third feature source (beside the built-in groups and registered custom features).
From each base column of a (race, driver) frame:

- ``<base>_lag<k>``: the driver's value at his k-th previous race in the frame;
- ``<base>_prev<n>_mean``: the mean of his values over his previous n races (this race excluded);
- ``<base>_vs_teammate``: this race's value minus his team-mates' mean in the same race;
- ``<base>_vs_field``: this race's value minus the mean of the race's field.

Each generated column has a ``known_at`` (``pitwall.features.spec``): lags and previous-race
means are known before the weekend (``pre_practice``) even when the base is an outcome (the
previous race's finishing position is a fine input for this one); team-mate and field
differences are known when the base is, and are refused for bases known only after the race.
"Previous race" means previous in the frame's rows: compute auto-features on the full history
before filtering rows (by circuit, driver, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from pitwall import auto_feature_rules as rules
from pitwall.auto_feature_rules import MAX_LAG, MAX_WINDOW, RELATIVE
from pitwall.features.errors import FeatureInputError
from pitwall.features.spec import FEATURES, KEY, KNOWN_AT, POST_RACE, known_by
from pitwall.features.targets import TARGET_COLUMNS

__all__ = ["MAX_LAG", "MAX_WINDOW", "RELATIVE", "AutoFeatures", "add_auto_features", "auto_features_from"]

BEFORE_THE_WEEKEND = "pre_practice"
TARGETS_KNOWN_BEFORE_THE_RACE = {"quali_position": "pre_race", "grid_position": "pre_race"}  # set on Saturday
HISTORY_SEASONS = 2
"""Seasons before the first requested one read so that lags and previous-race means of its first
races are filled (at most ``MAX_WINDOW`` = 20 races back: two seasons always hold them)."""


@dataclass(frozen=True)
class AutoFeatures:
    """Which transforms of which base columns to generate (see the module doc)."""

    base: tuple[str, ...]
    lags: tuple[int, ...] = rules.DEFAULT_LAGS
    windows: tuple[int, ...] = rules.DEFAULT_WINDOWS
    relative: tuple[str, ...] = RELATIVE

    def __post_init__(self) -> None:
        found = rules.problems(self.base, self.lags, self.windows, self.relative)
        if found:
            key, message = found[0]
            raise FeatureInputError(f"{key}: {message}", field=key)

    def to_dict(self) -> dict[str, list]:
        """The JSON form (what a model's metadata and a training request hold)."""
        return {k: list(getattr(self, k)) for k in rules.KEYS}

    @property
    def names(self) -> list[str]:
        """The generated column names, in order."""
        return auto_feature_names(self)


def base_known_at(column: str, known_at: Mapping[str, str] | None = None) -> str:
    """When a base column is known: the given mapping, the built-in spec, or post-race for targets."""
    if known_at and column in known_at:
        value = known_at[column]
        if value not in KNOWN_AT and value != KEY:
            raise FeatureInputError(f"known_at[{column!r}]: {value!r} is not one of {', '.join(KNOWN_AT)}")
        return value
    if column in FEATURES and FEATURES[column].known_at:
        return FEATURES[column].known_at
    if column in TARGET_COLUMNS:
        return TARGETS_KNOWN_BEFORE_THE_RACE.get(column, POST_RACE)
    raise FeatureInputError(
        f"base: {column!r} has no known_at (not a built-in feature or target); pass known_at={{{column!r}: ...}}",
        field="base",
    )


def add_auto_features(
    df: pd.DataFrame,
    config: AutoFeatures,
    *,
    known_at: Mapping[str, str] | None = None,
    point: str | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``df`` with the generated columns added, and each generated column's ``known_at``.

    ``point``: the prediction moment of the rows (a template's ``moment``); team-mate and field
    differences of a base not known by then are refused (they would read this race's value)."""
    needed = ["season", "round", "race_id", "driver_id"]
    if "teammate" in config.relative:
        needed.append("constructor_id")
    missing = [c for c in [*needed, *config.base] if c not in df.columns]
    if missing:
        raise FeatureInputError(f"data: missing column(s) {', '.join(missing)}", field="base")
    out = df.copy()
    known: dict[str, str] = {}
    order = out.sort_values(["season", "round"], kind="stable").index
    for base in config.base:
        when = base_known_at(base, known_at)
        values = pd.to_numeric(out[base], errors="coerce").astype("float64")
        if values.notna().sum() == 0:
            raise FeatureInputError(f"base: {base!r} has no numeric values", field="base")
        by_driver = values.loc[order].groupby(out.loc[order, "driver_id"], sort=False)
        for k in config.lags:
            name = f"{base}_lag{k}"
            out[name] = by_driver.shift(k).reindex(out.index)
            known[name] = BEFORE_THE_WEEKEND
        for n in config.windows:
            name = f"{base}_prev{n}_mean"
            prev = by_driver.transform(lambda s, n=n: s.shift(1).rolling(n, min_periods=1).mean())
            out[name] = prev.reindex(out.index)
            known[name] = BEFORE_THE_WEEKEND
        if config.relative and when == POST_RACE:
            raise FeatureInputError(
                f"relative: {base!r} is known only after the race; its team-mate / field differences "
                "would use the outcome (lags and previous-race means of it are fine)",
                field="relative",
            )
        if config.relative and point is not None and not known_by(when, point):
            raise FeatureInputError(
                f"relative: {base!r} is known from {when}, after the prediction moment {point}; its "
                "team-mate / field differences would read this race's value (lags and previous-race "
                "means of it are fine)",
                field="relative",
            )
        if "teammate" in config.relative:
            keys = [out["race_id"], out["constructor_id"]]
            total = values.groupby(keys, sort=False, observed=True).transform("sum")
            count = values.notna().astype("int64").groupby(keys, sort=False, observed=True).transform("sum")
            others = (count - values.notna().astype("int64")).astype("float64")
            mates = (total - values.fillna(0.0)) / others.where(others > 0)
            name = f"{base}_vs_teammate"
            out[name] = (values - mates).astype("float64")
            known[name] = when
        if "field" in config.relative:
            name = f"{base}_vs_field"
            out[name] = values - values.groupby(out["race_id"], sort=False).transform("mean")
            known[name] = when
    return out, known


def auto_feature_names(config: AutoFeatures) -> list[str]:
    """The names ``add_auto_features`` generates for ``config``, in order."""
    return rules.generated_names(config.base, config.lags, config.windows, config.relative)


def auto_features_from(spec: Mapping[str, object] | Sequence[str] | AutoFeatures) -> AutoFeatures:
    """An ``AutoFeatures`` from a list of base names or a mapping (``{"base": [...], "lags": [1, 2]}``;
    keys left out take the defaults: lags (1,), windows (3,), both relative differences)."""
    if isinstance(spec, AutoFeatures):
        return spec
    try:
        values = rules.normalised(spec)  # type: ignore[arg-type]
    except ValueError as exc:
        key, message = exc.args
        raise FeatureInputError(f"auto_features: {message}", field="auto_features") from None
    found = rules.problems(*values.values())
    if found:
        key, message = found[0]
        raise FeatureInputError(f"auto_features.{key}: {message}", field=f"auto_features.{key}")
    return AutoFeatures(**{k: tuple(v) for k, v in values.items()})
