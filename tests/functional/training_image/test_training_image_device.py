"""GPU jobs: the GPU image (``PITWALL_TRAINING_DEVICE=cuda``) or a ``device`` hyper-parameter makes
XGBoost train with ``device="cuda"``; CPU jobs keep the CPU defaults."""

from __future__ import annotations

import pytest
from pitwall_image.device import DEVICE_ENV, training_device
from pitwall_image.hyperparameters import HyperparameterError, parse_hyperparameters

from pitwall.ml import algorithms


def test_the_device_comes_from_the_image_or_the_hyperparameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    assert parse_hyperparameters({"template": "race_winner"}).device == "cpu"
    monkeypatch.setenv(DEVICE_ENV, "cuda")  # as Dockerfile.gpu sets it
    assert parse_hyperparameters({"template": "race_winner"}).device == "cuda"
    assert parse_hyperparameters({"template": "race_winner", "device": "cpu"}).device == "cpu"
    with pytest.raises(HyperparameterError, match="hyperparameters.device"):
        parse_hyperparameters({"template": "race_winner", "device": "tpu"})


def test_cuda_gives_xgboost_device_cuda_inside_the_block_only() -> None:
    before = algorithms.ALGORITHMS["xgboost"].params()
    assert "device" not in before
    with training_device("cuda"):
        params = algorithms.ALGORITHMS["xgboost"].params()
        assert params == {**before, "device": "cuda"}
        estimator = algorithms.ALGORITHMS["xgboost"].build("classifier", params, 0)
        assert estimator.get_params()["device"] == "cuda"
        assert "device" not in algorithms.ALGORITHMS["lightgbm"].params()
    assert algorithms.ALGORITHMS["xgboost"].params() == before
    with training_device("cpu"):
        assert algorithms.ALGORITHMS["xgboost"].params() == before
