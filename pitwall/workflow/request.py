"""The one training-request contract: what to train, checked once, read by every path.

:class:`TrainingRequest` is built from the API's job body (:mod:`pitwall.api.jobs`), the SDK, a
retraining event (:mod:`pitwall.workflow.retrain`) or a stored job's ``params``
(:meth:`TrainingRequest.from_params`: the local workflow, the Step Functions steps and the training
image's hyper-parameters), and turned into ``pitwall.training.train_template``'s keyword arguments
by :meth:`TrainingRequest.train_kwargs`, so the same request trains the same model everywhere.

Template defaults are applied here and only here: the algorithm (``TemplateFacts.default_algorithm``),
the cross-validation folds (:data:`DEFAULT_CV_FOLDS`) and the season window (``seasons=None``: the
latest seasons the template has data for, resolved by ``train_template`` against the lake it trains
on). An invalid request (unknown template or algorithm, an empty season window, features or feature
groups the template cannot use) raises :class:`~pitwall.errors.ValidationFailed` (HTTP 422) naming
the field, before any quota is taken.

Wizard fields (Pitwall Studio): ``feature_groups`` (expanded to the template's features of those
groups), ``circuits``, ``drivers``, ``teams`` and ``scenario`` (conditions such as
``{"weather": "wet"}``). The row filters keep the training rows at those circuits / of those
drivers or teams (``train_template``); the scenario is checked and stored with the job, and its
inputs are given at prediction time, which :attr:`notes` says.

``auto_features`` (the wizard's third feature source, :mod:`pitwall.features.auto`): generated
inputs from base columns of the template's rows, ``{"base": [...], "lags": [1], "windows": [3],
"relative": ["teammate", "field"]}`` (or a list of base columns; keys left out take those
defaults). A base is one of the template's features or its target; the target's team-mate /
field differences are refused (they would read the outcome). The generated columns are added to
the features trained on, and ``features`` may name them.

A custom spec (a notebook ``ModelBuilder`` model as a job) adds ``hyperparameters`` (the
algorithm's parameters, each one of its tuning search space and checked against
``ALGORITHM_HYPERPARAMETERS``; fixed during tuning when ``auto_tune``) and ``task``
(``classification`` on a ranking template with ``top_k``: a yes/no model of finishing in the top k,
``ModelBuilder(task='classification', target='race_winner')``; None: the template's own task).

Standard library + :mod:`pitwall.refs` / :mod:`pitwall.vocabulary` /
:mod:`pitwall.auto_feature_rules` only: the lean API Lambda imports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from pitwall import auto_feature_rules, refs
from pitwall.errors import ValidationFailed
from pitwall.vocabulary import AUTOML_BACKENDS, WEATHER_CONDITIONS
from pitwall.workflow.template_facts import (
    ALGORITHM_HYPERPARAMETERS,
    ALGORITHM_NAMES,
    AUTO_ALGORITHM,
    FEATURE_FACTS,
    TEMPLATE_FACTS,
    TUNING_METHODS,
    TemplateFacts,
    checked_hyperparameter,
)

DEFAULT_CV_FOLDS = 5
"""Cross-validation folds when the request names none (``train_template``'s default)."""
MAX_CV_FOLDS = 20
MAX_TRIALS = 10_000
MAX_HOLDOUT_RACES = 50
MAX_SEED = 2**32 - 1
MAX_LIST = 200
SCENARIO_KEYS: dict[str, tuple[str, ...]] = {"weather": WEATHER_CONDITIONS}
"""Conditions a scenario may fix, and their values."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

PARAM_FIELDS = (
    "algorithm",
    "auto_tune",
    "tuning",
    "n_trials",
    "timeout",
    "cv_folds",
    "seed",
    "seasons",
    "features",
    "feature_groups",
    "holdout_races",
    "circuits",
    "drivers",
    "teams",
    "scenario",
    "auto_features",
    "automl_backend",
    "hyperparameters",
    "task",
)
"""The request's fields stored as a job's ``params`` (besides template and model name)."""
RECORD_ONLY_PARAMS = ("params", "retrain_of_version", "deploy")
"""Other keys a job's params may hold (retraining's provenance, the local deploy flag): not training inputs."""


def _invalid(name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{name}: {problem}", field=name, unprocessable=True)


def template_facts(name: str) -> TemplateFacts:
    facts = TEMPLATE_FACTS.get(name)
    if facts is None:
        raise ValidationFailed(
            f"template: unknown template {name!r}; known: {', '.join(TEMPLATE_FACTS)}",
            field="template",
            code="unknown_template",
            unprocessable=True,
        )
    return facts


def _names(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _invalid(name, f"expected a list of names; got {type(value).__name__}")
    if not value:
        raise _invalid(name, "must name at least one entry (leave it out for all)")
    if len(value) > MAX_LIST:
        raise _invalid(name, f"at most {MAX_LIST} entries")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _NAME.match(item):
            raise _invalid(f"{name}[{i}]", f"must be a name like 'monaco' or 'max_verstappen'; got {item!r}")
        if item not in out:
            out.append(item)
    return tuple(out)


def _int(value: Any, name: str, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(name, f"must be a whole number; got {value!r}")
    if not minimum <= value <= maximum:
        raise _invalid(name, f"must be between {minimum} and {maximum}; got {value}")
    return value


@dataclass(frozen=True)
class TrainingRequest:
    """One training request; constructing it checks it (``ValidationFailed``, 422, naming the field)."""

    template: str
    model_name: str
    algorithm: str | None = None
    """None: the template's default algorithm; ``auto``: AutoML."""
    auto_tune: bool = False
    tuning: str = "bayes"
    n_trials: int | None = None
    timeout: float | None = None
    cv_folds: int | None = None
    """None: :data:`DEFAULT_CV_FOLDS`."""
    seed: int = 0
    seasons: tuple[int, ...] | None = None
    """None: the template's default window (its latest seasons with data)."""
    features: tuple[str, ...] | None = None
    feature_groups: tuple[str, ...] | None = None
    holdout_races: int | None = None
    circuits: tuple[str, ...] | None = None
    drivers: tuple[str, ...] | None = None
    teams: tuple[str, ...] | None = None
    scenario: Mapping[str, str] | None = None
    auto_features: Mapping[str, Any] | None = None
    """Generated inputs (see the module doc); stored normalised (every key filled in)."""
    automl_backend: str | None = None
    """With ``algorithm="auto"``: who searches, ``optuna`` (None: the default) or ``flaml``;
    ``timeout`` is the search's time budget."""
    hyperparameters: Mapping[str, Any] | None = None
    """The algorithm's parameters (names of its search space); None: the template's defaults."""
    task: str | None = None
    """None: the template's task; ``classification`` on a ranking template with ``top_k``."""
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        facts = template_facts(self.template)
        if not isinstance(self.model_name, str) or not _NAME.match(self.model_name):
            raise _invalid("name", f"must be a name of letters, digits, '_', '.', '-'; got {self.model_name!r}")
        if self.algorithm is not None and self.algorithm not in (*ALGORITHM_NAMES, AUTO_ALGORITHM):
            raise _invalid(
                "algorithm",
                f"unknown algorithm {self.algorithm!r}; known: {', '.join([*ALGORITHM_NAMES, AUTO_ALGORITHM])}",
            )
        if self.automl_backend is not None:
            if self.automl_backend not in AUTOML_BACKENDS:
                raise _invalid(
                    "automl_backend", f"must be one of {', '.join(AUTOML_BACKENDS)}; got {self.automl_backend!r}"
                )
            if self.algorithm != AUTO_ALGORITHM:
                raise _invalid("automl_backend", f"only with algorithm {AUTO_ALGORITHM!r} (AutoML)")
        if self.hyperparameters is not None:
            set_hp = checked_hyperparameters(self.hyperparameters, self.algorithm, facts)
            object.__setattr__(self, "hyperparameters", set_hp)
        if self.task is not None:
            object.__setattr__(self, "task", checked_task(self.task, facts))
        if not isinstance(self.auto_tune, bool):
            raise _invalid("auto_tune", f"must be true or false; got {self.auto_tune!r}")
        if self.tuning not in TUNING_METHODS:
            raise _invalid("tuning", f"must be one of {', '.join(TUNING_METHODS)}; got {self.tuning!r}")
        _int(self.n_trials, "n_trials", 1, MAX_TRIALS)
        _int(self.cv_folds, "cv_folds", 2, MAX_CV_FOLDS)
        _int(self.seed, "seed", 0, MAX_SEED)
        _int(self.holdout_races, "holdout_races", 1, MAX_HOLDOUT_RACES)
        if self.timeout is not None and (
            isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or not self.timeout > 0
        ):
            raise _invalid("timeout", f"must be a positive number of seconds; got {self.timeout!r}")
        set_ = object.__setattr__
        if self.seasons is not None:
            try:
                seasons = refs.parse_seasons(list(self.seasons) if isinstance(self.seasons, tuple) else self.seasons)
            except refs.RefError as exc:
                raise _invalid("seasons", exc.message.removeprefix("seasons: ")) from None
            usable = [s for s in seasons if s >= facts.first_season]
            if not usable:
                raise _invalid(
                    "seasons",
                    f"empty season window: template {self.template!r} has data from {facts.first_season}; "
                    f"got {seasons[0]}-{seasons[-1]}",
                )
            set_(self, "seasons", tuple(seasons))
        for name in ("features", "feature_groups", "circuits", "drivers", "teams"):
            set_(self, name, _names(getattr(self, name), name))
        if self.auto_features is not None:
            set_(self, "auto_features", checked_auto_features(self.auto_features, facts))
        if self.features:
            usable = {*facts.features, *self.auto_feature_names, *catalogue_features(facts)}
            unknown = [f for f in self.features if f not in usable]
            if unknown:
                catalogue = catalogue_features(facts)
                also = f"; or any built-in feature known at {facts.moment}" if catalogue else ""
                raise _invalid(
                    "features",
                    f"{', '.join(unknown)} not among template {self.template!r}'s features "
                    f"({', '.join(facts.features)}{also}, or a generated auto-feature)",
                )
        if self.feature_groups:
            unknown = [g for g in self.feature_groups if g not in facts.feature_groups]
            if unknown:
                raise _invalid(
                    "feature_groups",
                    f"{', '.join(unknown)}: template {self.template!r} has features in groups "
                    f"{', '.join(facts.feature_groups)}",
                )
        if self.scenario is not None:
            if not isinstance(self.scenario, Mapping) or not self.scenario:
                raise _invalid("scenario", 'must be an object of conditions, e.g. {"weather": "wet"}')
            for key, value in self.scenario.items():
                if key not in SCENARIO_KEYS:
                    raise _invalid(f"scenario.{key}", f"unknown condition; known: {', '.join(SCENARIO_KEYS)}")
                if value not in SCENARIO_KEYS[key]:
                    raise _invalid(f"scenario.{key}", f"must be one of {', '.join(SCENARIO_KEYS[key])}; got {value!r}")
            set_(self, "scenario", dict(self.scenario))
        if facts.task == "ranking":
            for name in ("drivers", "teams"):
                if getattr(self, name):
                    raise _invalid(
                        name,
                        f"template {self.template!r} ranks every driver of a race against the others; "
                        "a subset of the field is not a race (filter by circuits or seasons instead)",
                    )
        if self.scenario is not None:
            set_(
                self,
                "notes",
                (*self.notes, "scenario: stored with the job; scenario inputs are given at prediction time"),
            )

    # ------------------------------------------------------------------ resolved values

    @property
    def facts(self) -> TemplateFacts:
        return TEMPLATE_FACTS[self.template]

    @property
    def resolved_algorithm(self) -> str:
        """The algorithm trained: the request's, else the template's default."""
        return self.algorithm or self.facts.default_algorithm

    @property
    def resolved_cv_folds(self) -> int:
        return self.cv_folds if self.cv_folds is not None else DEFAULT_CV_FOLDS

    @property
    def auto_feature_names(self) -> list[str]:
        """The columns ``auto_features`` generates (empty without)."""
        if not self.auto_features:
            return []
        return auto_feature_rules.generated_names(**self.auto_features)

    @property
    def resolved_features(self) -> list[str] | None:
        """The features trained on: ``features``, else those of ``feature_groups``, else None (all:
        the template's), each plus the generated auto-features not named already."""
        if self.features:
            chosen = list(self.features)
        elif self.feature_groups:
            groups = self.facts.feature_groups
            chosen = [f for f in self.facts.features if any(f in groups[g] for g in self.feature_groups)]
        elif self.auto_features:
            chosen = list(self.facts.features)
        else:
            return None
        return chosen + [n for n in self.auto_feature_names if n not in chosen]

    @property
    def kind(self) -> str:
        """The job kind a fresh request is: ``automl``, ``tune`` or ``train``."""
        if self.algorithm == AUTO_ALGORITHM:
            return "automl"
        return "tune" if self.auto_tune else "train"

    def train_kwargs(self, *, tenant_id: str, job_id: str | None = None) -> dict[str, Any]:
        """``pitwall.training.train_template(self.template, **kwargs)`` (besides store/register/track)."""
        kwargs: dict[str, Any] = {
            "seasons": list(self.seasons) if self.seasons is not None else None,
            "algorithm": self.resolved_algorithm,
            "auto_tune": self.auto_tune,
            "tuning": self.tuning,
            "n_trials": self.n_trials,
            "timeout": self.timeout,
            "cv_folds": self.resolved_cv_folds,
            "features": self.resolved_features,
            "name": self.model_name,
            "tenant_id": tenant_id,
            "seed": self.seed,
            "job_id": job_id,
        }
        if self.holdout_races is not None:
            kwargs["holdout_races"] = self.holdout_races
        if self.auto_features:
            kwargs["auto_features"] = {k: list(v) for k, v in self.auto_features.items()}
        if self.automl_backend is not None:
            kwargs["automl_backend"] = self.automl_backend
        if self.hyperparameters:
            kwargs["hyperparameters"] = dict(self.hyperparameters)
        if self.task is not None:
            kwargs["task"] = self.task
        for name in ("circuits", "drivers", "teams"):  # the wizard's row filters
            if getattr(self, name):
                kwargs[name] = list(getattr(self, name))
        return kwargs

    # ------------------------------------------------------------------ stored form

    def to_params(self) -> dict[str, Any]:
        """The job record's ``params`` (JSON): every field that is set, nothing defaulted in."""
        out: dict[str, Any] = {}
        for name in PARAM_FIELDS:
            value = getattr(self, name)
            default = _DEFAULTS[name]
            if value is None or value == default and name in ("auto_tune", "tuning", "seed"):
                continue
            out[name] = (
                list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) else value
            )
        return out

    @classmethod
    def from_params(cls, template: str, model_name: str, params: Mapping[str, Any] | None) -> TrainingRequest:
        """The request a job's stored ``params`` describe (``to_params``'s inverse); unknown keys refused."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(PARAM_FIELDS) - set(RECORD_ONLY_PARAMS))
        if unknown:
            raise _invalid(f"params.{unknown[0]}", f"unknown training parameter; known: {', '.join(PARAM_FIELDS)}")
        values = {k: params[k] for k in PARAM_FIELDS if params.get(k) is not None}
        for name in ("seasons", "features", "feature_groups", "circuits", "drivers", "teams"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(template=template, model_name=model_name, **values)

    def replace(self, **changes: Any) -> TrainingRequest:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "notes"}
        return TrainingRequest(**{**values, **changes})


def settable_hyperparameters(algorithm: str, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The entries of a trained model's ``params`` a request may set for ``algorithm`` (its search
    space: tuned, chosen in a custom spec or a notebook); the rest (thread counts, the template's
    fixed settings) come back from the algorithm and template when trained again."""
    settable = {f.name for f in ALGORITHM_HYPERPARAMETERS.get(algorithm, ())}
    kept = {k: v for k, v in (params or {}).items() if k in settable}
    return kept or None


def request_for_spec(
    template: str,
    model_name: str,
    *,
    task: str | None = None,
    algorithm: str | None = None,
    features: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    seasons: Sequence[int] | None = None,
    **choices: Any,
) -> TrainingRequest:
    """The request that trains a trained model's spec again (a retrain; a notebook model as a job):
    its template, task, algorithm, hyper-parameters (:func:`settable_hyperparameters` of its
    ``params``), features and seasons, plus ``choices`` (row filters, auto-features). What no job
    can train (a notebook's own Python features, another task) is a 422 naming the field."""
    return TrainingRequest(
        template=template,
        model_name=model_name,
        algorithm=algorithm or None,
        seasons=tuple(seasons) if seasons else None,
        features=tuple(features) if features else None,
        hyperparameters=settable_hyperparameters(algorithm, params) if algorithm else None,
        task=task or None,
        **choices,
    )


def checked_hyperparameters(value: Any, algorithm: str | None, facts: TemplateFacts) -> dict[str, Any]:
    """``value`` as the algorithm's parameters: 422 naming ``hyperparameters.<name>`` for an unknown
    name or a value outside what :data:`ALGORITHM_HYPERPARAMETERS` accepts."""
    if not isinstance(value, Mapping) or not value:
        raise _invalid("hyperparameters", 'must be an object of parameters, e.g. {"max_depth": 3}')
    if algorithm == AUTO_ALGORITHM:
        raise _invalid("hyperparameters", "not used with algorithm 'auto' (AutoML picks the parameters)")
    name = algorithm or facts.default_algorithm
    settable = {f.name: f for f in ALGORITHM_HYPERPARAMETERS.get(name, ())}
    out: dict[str, Any] = {}
    for key, item in value.items():
        fact = settable.get(key)
        if fact is None:
            known = ", ".join(settable) or "none"
            raise _invalid(f"hyperparameters.{key}", f"not a hyperparameter of {name!r}; settable: {known}")
        problem = checked_hyperparameter(fact, item)
        if problem:
            raise _invalid(f"hyperparameters.{key}", problem)
        out[key] = item
    return out


def checked_task(value: Any, facts: TemplateFacts) -> str | None:
    """``value`` as the request's task: None for the template's own; ``classification`` on a ranking
    template with ``top_k`` (a yes/no model of finishing in the top k); anything else is a 422."""
    if value == facts.task:
        return None
    if value == "classification" and facts.task == "ranking" and facts.top_k is not None:
        return value
    other = " or 'classification' (finishing in the top k, yes/no)" if facts.task == "ranking" and facts.top_k else ""
    raise _invalid("task", f"template {facts.name!r} trains {facts.task!r}{other}; got {value!r}")


def catalogue_features(facts: TemplateFacts) -> tuple[str, ...]:
    """Built-in features (``pitwall.features.spec``) a custom spec may add to a template's own: those
    defined at the template's moment (so known by then); none for templates that predict within a
    race (their rows are laps, stints or stops). Rows without a column (a race-grain template) are
    refused by ``pitwall.training`` naming the feature, before any fit."""
    if facts.moment == "in_race":
        return ()
    return tuple(f.name for f in FEATURE_FACTS if facts.moment in f.moments)


def checked_auto_features(value: Any, facts: TemplateFacts) -> dict[str, list[Any]]:
    """``value`` normalised (``pitwall.auto_feature_rules.normalised``) and checked against the
    template: 422 naming ``auto_features.<key>`` (``auto_features.base[i]`` for a column)."""
    if facts.moment == "in_race":
        raise _invalid(
            "auto_features",
            f"template {facts.name!r} predicts within a race (rows of laps, stints or stops); auto-features "
            "are defined on rows of one driver in one race",
        )
    try:
        spec = auto_feature_rules.normalised(value)
    except ValueError as exc:
        key, message = exc.args
        raise _invalid("auto_features" if key == "keys" else f"auto_features.{key}", message) from None
    found = auto_feature_rules.problems(*spec.values())
    if found:
        raise _invalid(f"auto_features.{found[0][0]}", found[0][1])
    usable = (*facts.features, facts.target)
    for i, base in enumerate(spec["base"]):
        if base not in usable:
            raise _invalid(
                f"auto_features.base[{i}]",
                f"{base!r} is not a column of template {facts.name!r}'s rows; a base is one of its features "
                f"or its target ({', '.join(usable)})",
            )
    if facts.target in spec["base"] and spec["relative"]:
        raise _invalid(
            "auto_features.relative",
            f"{facts.target!r} is the target: its team-mate / field differences in a race would read the "
            "outcome (its lags and previous-race means are fine; set relative to [])",
        )
    return {k: list(dict.fromkeys(v)) for k, v in spec.items()}


_DEFAULTS = {f.name: f.default for f in fields(TrainingRequest)}
