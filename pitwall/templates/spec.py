"""What a template is: one declarative spec per template, read by training, backtests and serving.

A template fixes the prediction problem (task, target, grain, prediction moment), its default
features and algorithm, its primary metric and its naive baselines. ``build`` turns the feature
store into the template's frame (keys + features + target + one column per baseline).

Baselines
---------
``baselines`` is a tuple of ``Baseline`` (column of the built frame, one-line doc, ``kind``):

- ``kind="point"``: a point rule in the model's own convention — a ranking score (higher =
  better) for ranking templates, a class label for classification, a value for regression;
- ``kind="probability"``: a probability in the model's convention — for ranking templates with
  a ``top_k`` the probability of finishing in the top k (normalised per race to sum to k, as
  the model's), for binary classification the probability of the positive class (label 1).

Every baseline is reported side by side with the model on the same rows
(``pitwall.ml.backtest``). **"Beats baseline" is always judged against the strongest
baseline**: for each metric, the baseline with the best value of that metric on the same rows
among those that produce it (point rules produce top-k / MAE / accuracy; probability baselines
also produce log loss, Brier and winner NLL); a claim needs a paired bootstrap interval over
races (``pitwall.ml.compare.paired_bootstrap``) that excludes zero.

The old single ``baseline=`` / ``baseline_doc=`` form still works (it becomes one point
baseline); ``spec.baseline`` is always the first baseline's column. New templates declare
``baselines=(Baseline(...), ...)``.

Moments
-------
``moment`` is one of ``pitwall.vocabulary.MOMENTS`` (``pre_practice``,
``pre_qualifying``, ``pre_race``, ``in_race``); ``moment_doc`` says precisely when (e.g.
"start of lap N: everything up to the end of lap N-1"). A template's default ``features`` may
only use inputs known at that moment (the ``known_at`` field of ``pitwall.features.spec``).
``scenario_inputs`` are what-if inputs (a forecast, an assumed stint length) that are not
known at the moment: never among the default features, given to the baseline as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pitwall.features import FeatureStore
from pitwall.vocabulary import MOMENTS

Builder = Callable[[FeatureStore, Sequence[int]], pd.DataFrame]
Grain = str  # "driver_race" | "lap" | "pit_stop" | "stint" | "race"
BASELINE_KINDS = ("point", "probability")

PREDICTION_MOMENTS: tuple[str, ...] = MOMENTS  # pre_practice, pre_qualifying, pre_race, in_race


@dataclass(frozen=True)
class Baseline:
    """One naive rule reported beside the model: a column of the template's frame."""

    column: str
    doc: str
    kind: str = "point"  # "point" | "probability" (see the module docstring)

    def __post_init__(self) -> None:
        if self.kind not in BASELINE_KINDS:
            raise ValueError(f"baseline {self.column!r}: kind must be one of {BASELINE_KINDS}, got {self.kind!r}")
        if not self.column.startswith("baseline_"):
            raise ValueError(f"baseline {self.column!r}: column names start with 'baseline_'")

    @property
    def name(self) -> str:
        """The short name used in reports and metric prefixes (``grid`` for ``baseline_grid``)."""
        return self.column.removeprefix("baseline_")

    @property
    def is_probability(self) -> bool:
        return self.kind == "probability"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    title: str
    task: str  # "ranking" | "regression" | "classification"
    target: str
    target_doc: str
    grain: Grain
    moment: str  # one of PREDICTION_MOMENTS
    features: tuple[str, ...]
    default_algorithm: str
    primary_metric: str
    build: Builder
    baselines: tuple[Baseline, ...] = ()
    baseline: str = ""  # legacy single point baseline (column); filled from baselines[0]
    baseline_doc: str = ""
    moment_doc: str = ""
    scenario_inputs: tuple[str, ...] = ()
    top_k: int | None = None
    entity_col: str = "driver_id"
    backtest_mode: str = "expanding"  # walk-forward default: retrain before every race, or once per season
    min_train_races: int = 20
    first_season: int = 1994  # earliest season with the inputs this template needs
    offset: str | None = None  # regressions: feature column the model refines (see pitwall.ml TaskSpec.offset)
    params: dict[str, Any] | None = None  # default-algorithm parameter overrides
    calibration: str | None = None  # "isotonic" | "platt": fitted on walk-forward outputs of training seasons
    validation_seasons: tuple[int, ...] = field(default=(2021, 2022, 2023))
    card_note: str = ""  # what the card must say (e.g. where the model does not beat its baseline)

    def __post_init__(self) -> None:
        if self.moment not in PREDICTION_MOMENTS:
            raise ValueError(f"template {self.name}: moment must be one of {PREDICTION_MOMENTS}, got {self.moment!r}")
        baselines = tuple(self.baselines)
        if not baselines:
            if not self.baseline:
                raise ValueError(f"template {self.name}: declare baselines=(Baseline(...), ...)")
            baselines = (Baseline(self.baseline, self.baseline_doc, "point"),)
        object.__setattr__(self, "baselines", baselines)
        object.__setattr__(self, "baseline", baselines[0].column)
        object.__setattr__(self, "baseline_doc", self.baseline_doc or baselines[0].doc)
        leaked = sorted(set(self.scenario_inputs) & set(self.features))
        if leaked:
            raise ValueError(f"template {self.name}: scenario inputs {leaked} cannot be default features")

    @property
    def kind(self) -> str:
        return self.task

    @property
    def baseline_columns(self) -> dict[str, str]:
        """Short name -> frame column of every baseline (the order of ``baselines``)."""
        return {b.name: b.column for b in self.baselines}

    def frame(self, fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
        """The template's frame for ``seasons``: keys, features, target and baselines."""
        df = self.build(fs, [s for s in seasons if s >= self.first_season])
        cols = (*self.features, self.target, *(b.column for b in self.baselines))
        missing = [c for c in cols if c not in df.columns]
        if missing:  # a template bug, not user input
            raise RuntimeError(f"template {self.name}: frame lacks columns {missing}")
        return df
