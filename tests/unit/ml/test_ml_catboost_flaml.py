"""CatBoost in the algorithm catalogue and the training vocabulary; FLAML's view of Pitwall's search spaces."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.ml import algorithms as A
from pitwall.ml.automl_flaml import decode, search_space
from pitwall.ml.errors import MLInputError
from pitwall.ml.tuning import AutoMLTrainer
from pitwall.workflow.request import TrainingRequest
from pitwall.workflow.template_facts import ALGORITHM_NAMES


def test_catboost_trains_both_kinds_in_its_own_format() -> None:
    algo = A.get_algorithm("catboost")
    assert algo.kinds == frozenset({"classifier", "regressor"}) and algo.fmt == "catboost-cbm"
    assert "catboost" in A.algorithms_for("classifier") and "catboost" in A.algorithms_for("regressor")
    for name, value in algo.defaults.items():  # the defaults are a point of the search space
        dist = algo.space.get(name)
        if isinstance(dist, A.Int | A.Float):
            assert dist.low <= value <= dist.high, name


def test_catboost_estimators_are_seeded_single_threaded_and_quiet() -> None:
    clf = A.get_algorithm("catboost").build("classifier", A.get_algorithm("catboost").params(), 7)
    params = clf.get_params()
    assert type(clf).__name__ == "CatBoostClassifier"
    assert params["random_seed"] == 7 and params["thread_count"] == 1
    assert params["allow_writing_files"] is False and params["verbose"] is False
    reg = A.get_algorithm("catboost").build("regressor", {"n_jobs": 2, "iterations": 10}, 0)
    assert type(reg).__name__ == "CatBoostRegressor" and reg.get_params()["thread_count"] == 2  # n_jobs spelling


def test_catboost_is_in_the_training_request_vocabulary() -> None:
    assert "catboost" in ALGORITHM_NAMES
    request = TrainingRequest("race_winner", "winner", algorithm="catboost")
    assert request.train_kwargs(tenant_id="t")["algorithm"] == "catboost"


def test_an_optuna_trial_samples_catboost_inside_its_space() -> None:
    optuna = pytest.importorskip("optuna")
    algo = A.get_algorithm("catboost")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = algo.suggest(trial, prefix="catboost.")
    assert set(params) == set(algo.space)
    assert 2 <= params["depth"] <= 8 and 50 <= params["iterations"] <= 600
    assert all(k.startswith("catboost.") for k in trial.params)


def test_flaml_search_spaces_are_pitwalls_starting_at_the_defaults() -> None:
    for name, algo in A.ALGORITHMS.items():
        space = search_space(name)
        assert set(space) == set(algo.space), name
        start = decode(name, {param: entry["init_value"] for param, entry in space.items()})
        assert start == {param: algo.defaults[param] for param in algo.space}, name
    # choices travel as indices: FLAML samples through numpy, which would make ("sqrt", 0.5) strings
    rng = np.random.default_rng(0)
    domain = search_space("random_forest")["max_features"]["domain"]
    drawn = [decode("random_forest", {"max_features": domain.sample(random_state=rng)}) for _ in range(200)]
    assert {d["max_features"] for d in drawn} == {"sqrt", "log2", 0.5, 1.0}
    assert {type(d["max_features"]) for d in drawn} == {str, float}
    depth = search_space("catboost")["depth"]["domain"]
    rng = np.random.default_rng(0)
    samples = {depth.sample(random_state=rng) for _ in range(400)}
    assert min(samples) == 2 and max(samples) == 8  # integer bounds inclusive, as in Optuna


def test_the_automl_backend_is_checked() -> None:
    with pytest.raises(MLInputError, match="backend"):
        AutoMLTrainer("regression", target="points", backend="h2o")
    assert AutoMLTrainer("regression", target="points", backend="flaml").backend == "flaml"
