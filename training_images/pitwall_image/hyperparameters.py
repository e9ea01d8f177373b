"""A training job's hyper-parameters -> a checked :class:`TrainingRequest`.

SageMaker hands every hyper-parameter to the container as a string. Two spellings are accepted,
and may be mixed (a flat key wins over the same key inside ``params``):

- flat keys, as set by hand or by ``CreateTrainingJob`` callers::

    {"template": "race_winner", "algorithm": "xgboost", "seasons": "2018-2023", "auto_tune": "false",
     "n_trials": "20", "timeout": "300", "cv_folds": "3", "seed": "0", "model_name": "winner"}

- the training workflow's keys (``pitwall.workflow.steps.HYPERPARAMETER_NAMES``): ``tenant_id``,
  ``job_id``, ``kind``, ``model_name``, ``template``, ``experiment`` and ``params``, the job's
  params as a JSON object (``{"algorithm": "xgboost", "seasons": [2021, 2022], ...}``).

``seasons`` is ``"2023"``, ``"2018-2023"`` (inclusive), ``"2018,2020,2022-2023"`` or a JSON list;
``features`` a comma list or a JSON list. Keys SageMaker adds itself (``sagemaker_*``, ``_*``)
are ignored; any other unknown key is an error, so a typo never trains the wrong model.
Every problem raises :class:`HyperparameterError` naming ``hyperparameters.<field>``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pitwall.workflow.request import PARAM_FIELDS, RECORD_ONLY_PARAMS
from pitwall.workflow.request import TrainingRequest as Contract
from pitwall_image.device import DEVICES, default_device

MIN_SEASON, MAX_SEASON = 1950, 2100
MAX_TRIALS = 10_000
MAX_FOLDS = 20
MAX_HOLDOUT_RACES = 50
MAX_SEED = 2**32 - 1
JOB_KINDS = ("train", "tune", "automl", "retrain")
TUNING_STRATEGIES = ("bayes", "grid", "random")
AUTO_ALGORITHM = "auto"

FLAT_KEYS = frozenset(
    {
        "template",
        "algorithm",
        "seasons",
        "auto_tune",
        "tuning",
        "n_trials",
        "timeout",
        "cv_folds",
        "seed",
        "model_name",
        "features",
        "holdout_races",
        "channel",
        "device",
    }
)
WORKFLOW_KEYS = frozenset({"tenant_id", "job_id", "kind", "experiment", "params"})
PARAMS_KEYS = frozenset(PARAM_FIELDS) | frozenset(RECORD_ONLY_PARAMS)
"""Keys of the workflow's ``params`` object: ``pitwall.workflow.request.TrainingRequest.to_params``."""


class HyperparameterError(ValueError):
    """A hyper-parameter that cannot be used; ``str()`` names ``hyperparameters.<field>``."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"hyperparameters.{field}: {problem}")


@dataclass(frozen=True)
class TrainingRequest:
    """What to train: the arguments of ``pitwall.training.train_template`` plus job identity."""

    template: str
    model_name: str
    seasons: list[int] | None = None
    algorithm: str | None = None
    auto_tune: bool = False
    tuning: str = "bayes"
    n_trials: int | None = None
    timeout: float | None = None
    cv_folds: int | None = None
    """None: the contract's default (``pitwall.workflow.request.DEFAULT_CV_FOLDS``)."""
    seed: int = 0
    features: list[str] | None = None
    holdout_races: int | None = None
    channel: str | None = None
    device: str = "cpu"
    """``cpu`` or ``cuda`` (see :mod:`pitwall_image.device`): not a train_template argument."""
    tenant_id: str = "sagemaker"
    job_id: str | None = None
    experiment: str | None = None
    notes: list[str] = field(default_factory=list)
    """Inputs accepted but not applied (logged by the entry point)."""
    contract: Contract | None = None
    """The one training-request contract (``pitwall.workflow.request``) these values were checked by."""

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``train_template`` (besides store/register/track): the contract's."""
        contract = self.contract or _contract(self, {})
        return contract.train_kwargs(tenant_id=self.tenant_id, job_id=self.job_id)


def _contract(request: TrainingRequest, where: Mapping[str, str], extra: Mapping[str, Any] | None = None) -> Contract:
    """The contract of ``request``'s values (template defaults resolved there); its refusal named as ours."""
    from pitwall.errors import ValidationFailed

    try:
        return Contract(
            template=request.template,
            model_name=request.model_name,
            algorithm=request.algorithm,
            auto_tune=request.auto_tune,
            tuning=request.tuning,
            n_trials=request.n_trials,
            timeout=request.timeout,
            cv_folds=request.cv_folds,
            seed=request.seed,
            seasons=tuple(request.seasons) if request.seasons else None,
            features=tuple(request.features) if request.features else None,
            holdout_races=request.holdout_races,
            **dict(extra or {}),
        )
    except ValidationFailed as exc:
        name = (exc.field or "request").split(".")[0].split("[")[0]
        raise HyperparameterError(where.get(name, exc.field or name), exc.message.split(": ", 1)[-1]) from None


# --------------------------------------------------------------------------- value parsers


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise HyperparameterError(name, f"expected a string; got {type(value).__name__}")
    return value.strip()


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, name).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise HyperparameterError(name, f"must be true or false; got {value!r}")


def parse_int(value: Any, name: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise HyperparameterError(name, f"must be a whole number; got {value!r}")
    if isinstance(value, int | float):
        number = int(value)
    else:
        try:
            number = int(_text(value, name))
        except ValueError:
            raise HyperparameterError(name, f"must be a whole number; got {value!r}") from None
    if not minimum <= number <= maximum:
        raise HyperparameterError(name, f"must be between {minimum} and {maximum}; got {number}")
    return number


def parse_positive_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise HyperparameterError(name, f"must be a number of seconds; got {value!r}")
    try:
        number = float(value) if isinstance(value, int | float) else float(_text(value, name))
    except ValueError:
        raise HyperparameterError(name, f"must be a number of seconds; got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise HyperparameterError(name, f"must be a positive number of seconds; got {value!r}")
    return number


def _season(value: Any, name: str) -> int:
    return parse_int(value, name, minimum=MIN_SEASON, maximum=MAX_SEASON)


def parse_seasons(value: Any, name: str = "seasons") -> list[int] | None:
    """``"2023"``, ``"2018-2023"``, ``"2018,2020-2021"``, a JSON list or a list -> sorted seasons.

    The grammar is :func:`pitwall.refs.parse_seasons`; list items may be whole-number strings
    (SageMaker passes every hyper-parameter as a string). Empty text: ``None`` (the default window).
    """
    from pitwall.refs import RefError
    from pitwall.refs import parse_seasons as parse_window

    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise HyperparameterError(name, f"is not a valid JSON list: {value!r}") from None
    if isinstance(value, list):
        if not value:
            raise HyperparameterError(name, "must name at least one season")
        value = [_season(v, name) for v in value]
    else:
        value = _text(value, name)
        if not value:
            return None
    try:
        return parse_window(value, field=name)
    except RefError as exc:
        raise HyperparameterError(name, exc.message.removeprefix(f"{name}: ")) from None


def parse_names(value: Any, name: str) -> list[str] | None:
    """A comma list, a JSON list or a list of non-empty names (order kept, duplicates dropped)."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise HyperparameterError(name, f"is not a valid JSON list: {value!r}") from None
    if isinstance(value, list):
        items = value
    else:
        text = _text(value, name)
        if not text:
            return None
        items = [p.strip() for p in text.split(",")]
    names: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise HyperparameterError(f"{name}[{i}]", f"must be a non-empty name; got {item!r}")
        if item.strip() not in names:
            names.append(item.strip())
    if not names:
        raise HyperparameterError(name, "must name at least one entry")
    return names


def _device(value: Any, name: str) -> str:
    device = _text(value, name).lower()
    if device not in DEVICES:
        raise HyperparameterError(name, f"must be one of {', '.join(DEVICES)}; got {value!r}")
    return device


def _identifier(value: Any, name: str) -> str:
    from pitwall.errors import ValidationFailed
    from pitwall.platform.validation import identifier

    try:
        return identifier(_text(value, name), name)
    except ValidationFailed as exc:
        raise HyperparameterError(name, exc.message.removeprefix(f"{name} ")) from None


# --------------------------------------------------------------------------- the request


def _params_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise HyperparameterError("params", f"is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise HyperparameterError("params", "must be a JSON object")
    unknown = sorted(set(raw) - PARAMS_KEYS)
    if unknown:
        raise HyperparameterError(
            f"params.{unknown[0]}", f"unknown key; known: {', '.join(sorted(PARAMS_KEYS - {'params'}))}"
        )
    return raw


def parse_hyperparameters(raw: Mapping[str, Any]) -> TrainingRequest:
    """Check ``hyperparameters.json`` and return the :class:`TrainingRequest` it describes."""
    from pitwall.ml import ALGORITHMS
    from pitwall.templates import TEMPLATES

    if not isinstance(raw, Mapping):
        raise HyperparameterError("(file)", "must hold a JSON object of name -> value")
    given = {k: v for k, v in raw.items() if not (k.startswith("sagemaker_") or k.startswith("_"))}
    unknown = sorted(set(given) - FLAT_KEYS - WORKFLOW_KEYS)
    if unknown:
        raise HyperparameterError(unknown[0], f"unknown hyper-parameter; known: {', '.join(sorted(FLAT_KEYS))}")
    params = _params_object(given.get("params", ""))
    # a flat key wins over the same key in the workflow's params object
    values: dict[str, Any] = {**params, **{k: v for k, v in given.items() if k in FLAT_KEYS}}
    where = {k: (k if k in given else f"params.{k}") for k in values}
    notes: list[str] = []

    def opt(key: str, parse: Any) -> Any:
        """The parsed value of ``key``; None when absent, null or an empty string."""
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse(value, where[key])

    template = opt("template", _text)
    if template is None:
        raise HyperparameterError("template", f"required; one of {', '.join(TEMPLATES)}")
    if template not in TEMPLATES:
        raise HyperparameterError("template", f"unknown template {template!r}; known: {', '.join(TEMPLATES)}")
    spec = TEMPLATES[template]

    kind = _text(given["kind"], "kind") if "kind" in given else "train"
    if kind not in JOB_KINDS:
        raise HyperparameterError("kind", f"must be one of {', '.join(JOB_KINDS)}; got {kind!r}")

    algorithm: str | None = opt("algorithm", _text)
    if algorithm is not None:
        if algorithm not in (*ALGORITHMS, AUTO_ALGORITHM):
            raise HyperparameterError(
                where["algorithm"], f"unknown algorithm {algorithm!r}; known: {', '.join([*ALGORITHMS, 'auto'])}"
            )
    elif kind == "automl":
        algorithm = AUTO_ALGORITHM

    features = opt("features", parse_names)
    if features:
        unknown_features = [f for f in features if f not in spec.features]
        if unknown_features:
            raise HyperparameterError(
                where["features"],
                f"{', '.join(unknown_features)} not among template {template!r}'s features "
                f"({', '.join(spec.features)})",
            )

    if "params" in params and params["params"]:
        notes.append(
            "params.params: fixed estimator parameters are not applied (train_template takes none); "
            "the algorithm's defaults or tuning are used"
        )
    if "retrain_of_version" in params:
        notes.append(f"retraining version {params['retrain_of_version']} of the model")

    auto_tune = opt("auto_tune", parse_bool)
    tuning = opt("tuning", _text) or "bayes"
    if tuning not in TUNING_STRATEGIES:
        raise HyperparameterError(where["tuning"], f"must be one of {', '.join(TUNING_STRATEGIES)}; got {tuning!r}")
    experiment = _text(given["experiment"], "experiment") if "experiment" in given else ""
    model_name = opt("model_name", _identifier) or spec.name
    if experiment and experiment != model_name:
        notes.append(f"experiment {experiment!r}: MLflow runs are logged under the model name {model_name!r}")
    request = TrainingRequest(
        template=template,
        model_name=model_name,
        seasons=opt("seasons", parse_seasons),
        algorithm=algorithm,
        auto_tune=auto_tune if auto_tune is not None else kind == "tune",
        tuning=tuning,
        n_trials=opt("n_trials", lambda v, n: parse_int(v, n, minimum=1, maximum=MAX_TRIALS)),
        timeout=opt("timeout", parse_positive_float),
        cv_folds=opt("cv_folds", lambda v, n: parse_int(v, n, minimum=2, maximum=MAX_FOLDS)),
        seed=opt("seed", lambda v, n: parse_int(v, n, minimum=0, maximum=MAX_SEED)) or 0,
        features=features,
        holdout_races=opt("holdout_races", lambda v, n: parse_int(v, n, minimum=1, maximum=MAX_HOLDOUT_RACES)),
        channel=opt("channel", _identifier),
        device=opt("device", _device) or default_device(),
        tenant_id=_identifier(given["tenant_id"], "tenant_id") if given.get("tenant_id") else "sagemaker",
        job_id=_text(given["job_id"], "job_id") or None if "job_id" in given else None,
        experiment=experiment or None,
        notes=notes,
    )
    wizard = {k: params[k] for k in ("feature_groups", "circuits", "drivers", "teams", "scenario") if params.get(k)}
    wizard = {k: tuple(v) if isinstance(v, list) else v for k, v in wizard.items()}
    contract = _contract(request, where, wizard)
    return replace(request, contract=contract, notes=[*notes, *contract.notes])
