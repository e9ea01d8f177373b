"""Auto-features as a feature source on real data: trained on, stored in the model's metadata,
rebuilt at prediction time, and never moved by anything from the prediction moment on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.errors import ValidationFailed
from pitwall.features import FeatureStore
from pitwall.features.auto import AutoFeatures, add_auto_features, auto_feature_names
from pitwall.ml import load_model
from pitwall.templates import get_template, prediction_frame
from pitwall.templates.predict import template_frame
from pitwall.training import train_template

AUTO = {"base": ["start_position", "position"], "lags": [1, 2], "windows": [3], "relative": []}
GRID = {"base": ["start_position"], "lags": [], "windows": [5], "relative": ["teammate", "field"]}


@pytest.fixture(scope="module")
def trained(feature_lake):
    return train_template(
        "race_winner",
        seasons=[2023, 2024],
        algorithm="xgboost",
        auto_features=AUTO,
        store=feature_lake,
        register=False,
        track=False,
    )


def test_a_model_trained_with_auto_features_keeps_and_rebuilds_them(trained, feature_lake) -> None:
    model = trained.model
    generated = auto_feature_names(AutoFeatures(base=("start_position", "position"), lags=(1, 2), relative=()))
    assert set(generated) <= set(model.features)
    assert model.auto_features == AUTO
    loaded = load_model(trained.model_dir)
    assert loaded.auto_features == AUTO and loaded.features == model.features
    # the first race of the window has lags from the season before (history read for it)
    rows = prediction_frame("race_winner", feature_lake, 2023, 1, auto_features=loaded.auto_features)
    verstappen = rows.set_index("driver_id").loc["max-verstappen"]
    assert verstappen["position_lag1"] == 1  # he won Abu Dhabi 2022
    assert np.isfinite(verstappen["start_position_prev3_mean"])
    ranked = loaded.rank(prediction_frame("race_winner", feature_lake, 2024, 8, auto_features=loaded.auto_features))
    assert len(ranked) == 20 and ranked["driver_id"].is_unique
    with pytest.raises(Exception, match="position_lag1"):
        loaded.rank(prediction_frame("race_winner", feature_lake, 2024, 8))  # rows without them: refused


def test_auto_features_never_move_with_what_comes_after_the_prediction_moment(feature_lake) -> None:
    """Race R = 2024 round 10, predicted pre-race. Everything from R's result on is perturbed
    (every base of every later race, and R's own outcome); R's auto-features must not move,
    and the perturbation must move later races' (the check can fail)."""
    spec = get_template("race_winner")
    frame = spec.frame(FeatureStore(feature_lake), [2023, 2024])
    r = 10
    rng = np.random.default_rng(4)
    changed = frame.copy()
    later = (changed["season"] == 2024) & (changed["round"] > r)
    this = (changed["season"] == 2024) & (changed["round"] == r)
    for col in ("start_position", "position"):
        changed.loc[later, col] = rng.permutation(changed.loc[later, col].to_numpy()) + 30
    changed.loc[this, "position"] = rng.permutation(changed.loc[this, "position"].to_numpy()) + 30
    for config in (AUTO, GRID):
        auto = AutoFeatures(**{k: tuple(v) for k, v in config.items()})
        cols = auto_feature_names(auto)
        before, _ = add_auto_features(frame, auto, point=spec.moment)
        after, _ = add_auto_features(changed, auto, point=spec.moment)
        key = ["season", "round", "driver_id"]

        def rows(df: pd.DataFrame, mask: pd.Series, cols: list[str] = cols, key: list[str] = key) -> np.ndarray:
            return df[mask.to_numpy()].sort_values(key)[cols].to_numpy()

        upto = (frame["season"] < 2024) | (frame["round"] <= r)
        np.testing.assert_array_equal(rows(before, upto), rows(after, upto))
        assert not np.allclose(rows(before, later), rows(after, later), equal_nan=True)
    # the store-level frame is these same columns
    built = template_frame(spec, FeatureStore(feature_lake), [2024], AUTO)
    direct, _ = add_auto_features(frame, AutoFeatures(**{k: tuple(v) for k, v in AUTO.items()}), point=spec.moment)
    direct = direct[direct["season"] == 2024].sort_values(["round", "driver_id"])
    np.testing.assert_allclose(
        built.sort_values(["round", "driver_id"])["position_lag2"].to_numpy(),
        direct["position_lag2"].to_numpy(),
        equal_nan=True,
    )


def test_bad_auto_feature_requests_name_the_field(feature_lake) -> None:
    common = dict(seasons=[2024], store=feature_lake, register=False, track=False)
    with pytest.raises(ValidationFailed) as caught:
        train_template("race_winner", auto_features={"base": ["position"]}, **common)  # relative of the outcome
    assert caught.value.field == "relative" and "after the race" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        train_template("qualifying", auto_features={"base": ["quali_position"], "relative": ["field"]}, **common)
    assert caught.value.field == "relative" and "pre_qualifying" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        train_template("safety_car", auto_features=["scheduled_laps"], **common)
    assert caught.value.field == "auto_features"


def test_the_cli_trains_and_evaluates_with_auto_features(feature_lake, _isolated_home) -> None:
    import shutil

    from typer.testing import CliRunner

    from pitwall.cli import app
    from pitwall.platform.models import get_model

    shutil.copytree(feature_lake.root, _isolated_home / "lake")
    runner = CliRunner()
    args = ["train", "race_winner", "--seasons", "2023-2024", "--algorithm", "xgboost", "--name", "rw_auto"]
    r = runner.invoke(app, [*args, "--auto-features", "start_position,points_last_3_races", "--auto-relative", "field"])
    assert r.exit_code == 0, r.output
    record = get_model("local", "rw_auto")
    assert "start_position_vs_field" in record.features and "points_last_3_races_lag1" in record.features
    assert record.params["auto_features"]["relative"] == ["field"]
    r = runner.invoke(app, ["evaluate", "rw_auto", "--seasons", "2024"])  # rebuilds the auto-features
    assert r.exit_code == 0, r.output
    assert "top1_accuracy" in r.output or "log_loss" in r.output
    r = runner.invoke(app, [*args, "--auto-lags", "1"])
    assert r.exit_code != 0 and "--auto-lags: only with --auto-features" in r.output
    r = runner.invoke(app, [*args, "--auto-features", "start_position", "--auto-windows", "30"])
    assert r.exit_code != 0 and "windows: 30 is not an integer from 1 to 20" in r.output


def test_a_custom_spec_request_trains_with_flaml_and_auto_features(feature_lake) -> None:
    """One request (the API's / the cloud's contract): auto-features, a feature list naming one of
    them, AutoML by FLAML within its budget."""
    from pitwall.workflow.request import TrainingRequest

    request = TrainingRequest(
        "race_winner",
        "rw_flaml",
        algorithm="auto",
        automl_backend="flaml",
        timeout=8,
        seasons=(2023, 2024),
        features=("start_position", "grid_lock", "start_position_prev3_mean"),
        auto_features={"base": ["start_position"], "lags": [], "windows": [3], "relative": ["field"]},
    )
    kwargs = request.train_kwargs(tenant_id="local")
    result = train_template("race_winner", **kwargs, store=feature_lake, register=False, track=False)
    assert result.model.tuning["backend"] == "flaml"
    assert set(result.model.features) == {
        "start_position",
        "grid_lock",
        "start_position_prev3_mean",
        "start_position_vs_field",
    }
    assert result.model.auto_features == request.auto_features


def test_an_overridden_grid_moves_its_field_difference_not_its_lags(feature_lake) -> None:
    config = {"base": ["start_position"], "lags": [1], "windows": [3], "relative": ["field"]}
    stored = prediction_frame("race_winner", feature_lake, 2024, 8, auto_features=config).set_index("driver_id")
    moved = prediction_frame(
        "race_winner", feature_lake, 2024, 8, {"start_position": {"lando-norris": 1}}, auto_features=config
    ).set_index("driver_id")
    assert moved.loc["lando-norris", "start_position"] == 1 != stored.loc["lando-norris", "start_position"]
    field_mean = moved["start_position"].mean()
    assert moved.loc["lando-norris", "start_position_vs_field"] == pytest.approx(1 - field_mean)
    for col in ("start_position_lag1", "start_position_prev3_mean"):
        np.testing.assert_array_equal(moved[col].to_numpy(), stored.loc[moved.index, col].to_numpy())


def test_a_custom_spec_trains_on_a_built_in_feature_beyond_the_templates(feature_lake) -> None:
    from pitwall.workflow.request import TrainingRequest

    request = TrainingRequest(
        "race_winner",
        "rw_custom",
        algorithm="xgboost",
        seasons=(2023, 2024),
        features=("start_position", "career_wins"),
    )
    result = train_template(
        "race_winner", **request.train_kwargs(tenant_id="local"), store=feature_lake, register=False, track=False
    )
    assert result.model.features == ["start_position", "career_wins"]
    assert (
        load_model(result.model_dir).rank(prediction_frame("race_winner", feature_lake, 2024, 8))["driver_id"].is_unique
    )
    # a race-grain template has no driver rows: refused naming the feature, before any fit
    with pytest.raises(ValidationFailed) as caught:
        train_template(
            "safety_car",
            features=["scheduled_laps", "career_wins"],
            seasons=[2024],
            store=feature_lake,
            register=False,
            track=False,
        )
    assert caught.value.field == "features" and "career_wins" in caught.value.message
