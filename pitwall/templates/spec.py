"""What a template is: one declarative spec per template, read by training, backtests and serving.

A template fixes the prediction problem (task, target, grain, prediction moment), its default
features and algorithm, its primary metric and its naive baseline. ``build`` turns the feature
store into the template's frame (keys + features + target + baseline column); the baseline
column is in the model's own convention: a ranking score (higher = better), a class label or
a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pitwall.features import FeatureStore

Builder = Callable[[FeatureStore, Sequence[int]], pd.DataFrame]
Grain = str  # "driver_race" | "lap" | "pit_stop" | "stint" | "race"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    title: str
    task: str  # "ranking" | "regression" | "classification"
    target: str
    target_doc: str
    grain: Grain
    moment: str  # "pre_race" | "pre_qualifying" | "in_race" (lap/stint/stop level)
    features: tuple[str, ...]
    default_algorithm: str
    primary_metric: str
    baseline: str  # column of the built frame holding the naive prediction
    baseline_doc: str
    build: Builder
    top_k: int | None = None
    entity_col: str = "driver_id"
    backtest_mode: str = "expanding"  # walk-forward default: retrain before every race, or once per season
    min_train_races: int = 20
    first_season: int = 1994  # earliest season with the inputs this template needs
    offset: str | None = None  # regressions: feature column the model refines (see pitwall.ml TaskSpec.offset)
    params: dict[str, Any] | None = None  # default-algorithm parameter overrides

    @property
    def kind(self) -> str:
        return self.task

    def frame(self, fs: FeatureStore, seasons: Sequence[int]) -> pd.DataFrame:
        """The template's frame for ``seasons``: keys, features, target and baseline."""
        df = self.build(fs, [s for s in seasons if s >= self.first_season])
        missing = [c for c in (*self.features, self.target, self.baseline) if c not in df.columns]
        if missing:  # a template bug, not user input
            raise RuntimeError(f"template {self.name}: frame lacks columns {missing}")
        return df
