"""Pitwall's shared vocabularies: the one place each closed set of words is spelled.

Standard library only, so the lean API Lambda (no pandas/numpy) and the training image import it
as cheaply as the rest of the package. Each vocabulary is a ``Literal`` type (for pydantic models
and type checkers) and a tuple derived from it (for membership checks, enums and messages), so
the two cannot drift.

- Weather conditions: the values of the ``weather_condition`` feature and of a prediction
  request's ``weather`` field.
- Job statuses and job kinds: the lifecycle of a training/backtest job.
- Prediction moments: when a prediction is made; a prediction for moment M may use only what is
  known at M.
- AutoML backends: who searches algorithms and parameters.
"""

from __future__ import annotations

from typing import Literal, get_args

WeatherCondition = Literal["dry", "mixed", "wet"]
WEATHER_CONDITIONS: tuple[str, ...] = get_args(WeatherCondition)
"""'dry' (< 2% of race laps on wet/intermediate tyres), 'mixed', 'wet' (>= 60%)."""

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
TERMINAL_JOB_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
"""Statuses a job never leaves."""

JobKind = Literal["train", "tune", "automl", "retrain", "backtest"]
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
TRAINING_JOB_KINDS: frozenset[str] = frozenset({"train", "tune", "automl", "retrain"})
"""Job kinds that run training compute and so count against the daily training-jobs quota."""

Moment = Literal["pre_practice", "pre_qualifying", "pre_race", "in_race"]
MOMENTS: tuple[str, ...] = get_args(Moment)
"""Prediction moments, in race-weekend order: before first practice, before qualifying, before the
race start, and during the race (lap/stint/stop level)."""

WeekendMoment = Literal["pre_practice", "pre_qualifying", "pre_race"]
WEEKEND_MOMENTS: tuple[str, ...] = get_args(WeekendMoment)
"""The moments of a race weekend a race is predicted at (``pitwall predict --moment``, the API's
``moment``): ``MOMENTS`` without ``in_race``."""

DRIVER_FEATURE_MOMENTS: tuple[str, ...] = ("pre_qualifying", "pre_race")
"""The moments with a (race, driver) feature table (``driver_features_<moment>``)."""

AutomlBackend = Literal["optuna", "flaml"]
AUTOML_BACKENDS: tuple[str, ...] = get_args(AutomlBackend)
"""Who searches in ``AutoMLTrainer(backend=...)``: an Optuna TPE study (default) or FLAML's CFO;
either way every trial is fitted and scored by Pitwall (``pitwall.ml.tuning``, ``pitwall.ml.automl_flaml``)."""

__all__ = [
    "AUTOML_BACKENDS",
    "DRIVER_FEATURE_MOMENTS",
    "JOB_KINDS",
    "JOB_STATUSES",
    "MOMENTS",
    "TERMINAL_JOB_STATUSES",
    "TRAINING_JOB_KINDS",
    "WEATHER_CONDITIONS",
    "WEEKEND_MOMENTS",
    "AutomlBackend",
    "JobKind",
    "JobStatus",
    "Moment",
    "WeatherCondition",
    "WeekendMoment",
]
