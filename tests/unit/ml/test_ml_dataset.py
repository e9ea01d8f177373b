"""TaskSpec validation, feature inference and target conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml.algorithms import ALGORITHMS, get_algorithm, hidden_layers
from pitwall.ml.dataset import TaskSpec, feature_matrix, infer_features, ranking_position_target
from pitwall.ml.errors import MLInputError


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "season": [2024] * 4,
            "round": [8] * 4,
            "race_id": ["2024-08"] * 4,
            "driver_id": ["charles-leclerc", "oscar-piastri", "carlos-sainz-jr", "sergio-perez"],
            "constructor_id": ["ferrari", "mclaren", "ferrari", "red-bull"],
            "grid": [1.0, 2.0, 3.0, np.nan],
            "wet": [False, False, True, True],
            "position": pd.array([1, 2, 3, None], dtype="Int64"),
        }
    )


def test_taskspec_rejects_bad_arguments() -> None:
    with pytest.raises(MLInputError, match="task"):
        TaskSpec(task="clustering", target="position")
    with pytest.raises(MLInputError, match="top_k"):
        TaskSpec(task="regression", target="position", top_k=3)
    with pytest.raises(MLInputError, match="top_k"):
        TaskSpec(task="ranking", target="position", top_k=0)
    with pytest.raises(MLInputError, match="target column"):
        TaskSpec(task="ranking", target="position", features=("grid", "position"))
    assert TaskSpec(task="ranking", target="position", top_k=3).kind == "classifier"
    assert TaskSpec(task="ranking", target="position").kind == "regressor"


def test_infer_features_skips_keys_target_and_text() -> None:
    spec = TaskSpec(task="ranking", target="position", top_k=1)
    assert infer_features(_frame(), spec) == ["grid", "wet"]
    with pytest.raises(MLInputError, match="'constructor_id' must be numeric"):
        infer_features(_frame(), TaskSpec(task="ranking", target="position", features=("constructor_id",)))
    with pytest.raises(MLInputError, match="missing column"):
        infer_features(_frame(), TaskSpec(task="ranking", target="position", features=("quali_gap",)))


def test_feature_matrix_turns_nulls_into_nan() -> None:
    X = feature_matrix(_frame(), ["grid", "wet"])
    assert X.dtype == np.float64 and np.isnan(X[3, 0]) and X[2, 1] == 1.0


def test_unclassified_rank_behind_every_finisher() -> None:
    filled = ranking_position_target(_frame(), "position", "race_id")
    assert filled.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_algorithm_catalogue_is_consistent() -> None:
    assert set(ALGORITHMS) == {
        "xgboost",
        "lightgbm",
        "random_forest",
        "gradient_boosting",
        "neural_net",
        "logistic",
        "linear",
        "catboost",
        "conditional_logit",
        "torch_mlp",
    }
    for algo in ALGORITHMS.values():
        assert set(algo.grid) <= set(algo.space) <= set(algo.params()) | set(algo.space)
        for name, dist in algo.space.items():
            default = algo.defaults.get(name)
            if hasattr(dist, "choices"):
                assert default in dist.choices, (algo.name, name)
            else:
                assert dist.low <= default <= dist.high, (algo.name, name)
    with pytest.raises(MLInputError, match="use 'linear'"):
        get_algorithm("logistic", "regressor")
    with pytest.raises(MLInputError, match="unknown algorithm"):
        get_algorithm("svm")
    assert hidden_layers("128-64") == (128, 64)
    with pytest.raises(MLInputError, match="hidden_layer_sizes"):
        hidden_layers("wide")


def test_in_training_window_is_every_earlier_season_and_the_last_up_to_its_last_race() -> None:
    from pitwall.ml.dataset import in_training_window

    window = {"seasons": [2022, 2023], "last_race": "2023-10"}
    assert in_training_window(window, 2022, "2022-22") and in_training_window(window, 2023, "2023-10")
    assert not in_training_window(window, 2023, "2023-11")  # after the last training race
    assert not in_training_window(window, 2024, "2024-01") and not in_training_window(window, 2021, "2021-05")
    assert not in_training_window({}, 2023, "2023-01")  # no window recorded: nothing claimed
