"""Regression with an offset: the model refines a reference column instead of re-learning it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import MLInputError, ModelBuilder, load_model


def _points_frame(frame: pd.DataFrame) -> pd.DataFrame:
    df = frame.copy()
    df["ref_points"] = df["season_points_before"] / 10.0  # a crude reference prediction
    df["points"] = df["points"].astype("float64")
    return df


def test_offset_model_predicts_reference_plus_correction(frame: pd.DataFrame, features: list[str]) -> None:
    df = _points_frame(frame)
    plain = ModelBuilder("regression", "points", features=features).train(df, "linear")
    anchored = ModelBuilder("regression", "points", features=features, offset="ref_points").train(df, "linear")
    # a linear model that sees the reference as a feature learns the same fit either way,
    # but with an offset it learns target - offset: predictions differ from the plain model's
    assert not np.allclose(plain.predict(df), anchored.predict(df))
    # shifting the reference by c shifts every prediction by exactly c (the offset is added back)
    shifted = df.assign(ref_points=df["ref_points"] + 5.0)
    np.testing.assert_allclose(anchored.predict(shifted), anchored.predict(df) + 5.0, atol=1e-9)
    assert anchored.input_columns == [*features, "ref_points"]


def test_offset_survives_save_and_load(frame: pd.DataFrame, features: list[str], tmp_path) -> None:
    df = _points_frame(frame)
    model = ModelBuilder("regression", "points", features=features, offset="ref_points").train(df, "lightgbm")
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.spec.offset == "ref_points"
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    with pytest.raises(MLInputError, match="ref_points"):
        loaded.predict(df.drop(columns=["ref_points"]))


def test_offset_is_rejected_outside_regression(features: list[str]) -> None:
    with pytest.raises(MLInputError, match="offset"):
        ModelBuilder("classification", "podium", features=features, offset="grid")
