"""Feature rows for one race, as a deployed template model sees them at its prediction moment.

Used by the API and the SDK: ``prediction_frame("race_winner", store, 2024, 8,
overrides={"start_position": {"charles-leclerc": 1}})``. Overrides replace feature values the
caller knows better (a grid that differs from the stored one, a weather forecast): either
``{feature: {driver_id: value}}`` or ``{feature: value}`` for every row.

:func:`template_frame` is the template's frame plus a model's auto-features
(``pitwall.features.auto``), computed on the seasons before as well so that the lags and
previous-race means of a season's first races are filled: training (``pitwall.training``) and
every prediction path build a model's rows with it, so a model sees the same columns computed the
same way in both. A model's auto-features are in its metadata (``BaseModel.auto_features``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from pitwall.data.store import Store
from pitwall.errors import NotFound, ValidationFailed
from pitwall.features import FeatureStore

if TYPE_CHECKING:
    from pitwall.features.auto import AutoFeatures
    from pitwall.templates.spec import TemplateSpec

AUTO_FEATURE_GRAIN = "driver_race"
"""The row grain auto-features are defined on (one row per driver and race)."""


def template_frame(
    spec: TemplateSpec,
    fs: FeatureStore,
    seasons: Sequence[int],
    auto_features: AutoFeatures | Mapping[str, Any] | Sequence[str] | None = None,
) -> pd.DataFrame:
    """``spec.frame(fs, seasons)`` with the columns ``auto_features`` generates (none: the frame as is).

    The auto-features are computed on every stored season from ``HISTORY_SEASONS`` before the
    first requested one to the last (a race's lags are its previous races in the calendar, whatever
    seasons were asked), then the requested seasons' rows are kept. A team-mate / field difference
    of a base not known at the template's moment is refused (``FeatureInputError`` naming the field).
    """
    from pitwall.templates.frame_cache import cached_frame

    if not auto_features:
        return cached_frame(spec, fs, seasons, None, lambda: spec.frame(fs, list(seasons)))
    from pitwall.features.auto import auto_features_from

    config = auto_features_from(auto_features)
    return cached_frame(spec, fs, seasons, config.to_dict(), lambda: _with_auto_features(spec, fs, seasons, config))


def _with_auto_features(
    spec: TemplateSpec, fs: FeatureStore, seasons: Sequence[int], config: AutoFeatures
) -> pd.DataFrame:
    from pitwall.features.auto import HISTORY_SEASONS, add_auto_features

    if spec.grain != AUTO_FEATURE_GRAIN:
        raise ValidationFailed(
            f"auto_features: template {spec.name!r} has one row per {spec.grain.replace('_', ' ')}; "
            "auto-features are defined on rows of one driver in one race",
            field="auto_features",
            unprocessable=True,
        )
    wanted = sorted({int(s) for s in seasons})
    lo = max(spec.first_season, wanted[0] - HISTORY_SEASONS)
    stored = set(fs.store.seasons("races"))
    read = sorted({s for s in range(lo, wanted[-1] + 1) if s in stored} | set(wanted))
    frame = spec.frame(fs, read)
    out, _ = add_auto_features(frame, config, point=spec.moment)
    return out[out["season"].isin(wanted).to_numpy()].reset_index(drop=True)


def prediction_frame(
    template: str,
    store: Store,
    season: int,
    round: int,  # noqa: A002 - the F1 word
    overrides: Mapping[str, Any] | None = None,
    feature_store: FeatureStore | None = None,
    auto_features: AutoFeatures | Mapping[str, Any] | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Keys + features (+ target and baseline where known) of ``template`` for one race
    (with the columns of ``auto_features``, e.g. a model's ``auto_features``)."""
    from pitwall.templates import get_template

    spec = get_template(template)
    races = store.read("races", [season])
    if races.empty or not (races["round"] == round).any():
        raise NotFound(f"race: no race {season} round {round} in the store", field="race")
    fs = feature_store or FeatureStore(store)
    if season < spec.first_season:
        raise ValidationFailed(
            f"race: template {template!r} needs data from {spec.first_season} onward", field="race", unprocessable=True
        )
    frame = template_frame(spec, fs, [season], auto_features)
    frame = frame[frame["round"] == round].reset_index(drop=True)
    if frame.empty:
        raise NotFound(f"race: no {spec.grain} rows for {season} round {round} (template {template!r})", field="race")
    return apply_overrides(frame, overrides or {}, spec.entity_col, spec.features, auto_features)


def apply_overrides(
    frame: pd.DataFrame,
    overrides: Mapping[str, Any],
    entity_col: str,
    features: tuple[str, ...],
    auto_features: AutoFeatures | Mapping[str, Any] | Sequence[str] | None = None,
) -> pd.DataFrame:
    """``frame`` (one race) with the caller's feature values; inputs derived from the grid slot
    follow an overridden ``start_position`` (``pitwall.templates.ranking.follow_grid``), and so do
    the team-mate / field differences of ``auto_features`` whose base was overridden."""
    before = frame
    frame = _overridden(frame, overrides, entity_col, features)
    if "start_position" in overrides:
        from pitwall.templates.ranking import follow_grid

        frame = follow_grid(before, frame)
    if auto_features:
        frame = _follow_auto_features(frame, auto_features, overrides)
    return frame


def _follow_auto_features(
    frame: pd.DataFrame, auto_features: AutoFeatures | Mapping[str, Any] | Sequence[str], overrides: Mapping[str, Any]
) -> pd.DataFrame:
    """The race's team-mate / field differences recomputed for the overridden bases (lags and
    previous-race means look at earlier races only: an override of this race never moves them)."""
    from dataclasses import replace

    from pitwall.features.auto import add_auto_features, auto_features_from

    config = auto_features_from(auto_features)
    bases = tuple(b for b in config.base if b in overrides and b in frame.columns)
    if not bases or not config.relative:
        return frame
    again, _ = add_auto_features(frame, replace(config, base=bases, lags=(), windows=()))
    generated = [f"{b}_vs_{r}" for b in bases for r in config.relative]
    frame = frame.copy()
    frame[generated] = again[generated]
    return frame


def _overridden(
    frame: pd.DataFrame, overrides: Mapping[str, Any], entity_col: str, features: tuple[str, ...]
) -> pd.DataFrame:
    frame = frame.copy()
    for feature, value in overrides.items():
        if feature not in frame.columns or feature not in features:
            raise ValidationFailed(f"{feature}: not a feature of this model", field=feature)
        if isinstance(value, Mapping):
            known = set(frame[entity_col].astype(str))
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValidationFailed(
                    f"{feature}: {entity_col} {unknown[0]!r} is not an entrant of this race", field=feature
                )
            for entity, v in value.items():
                frame.loc[frame[entity_col] == entity, feature] = _number(feature, v)
        else:
            frame[feature] = _number(feature, value)
    return frame


def _number(feature: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(f"{feature}: expected a number, got {value!r}", field=feature)
    return float(value)
