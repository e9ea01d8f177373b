"""Auto-features and the AutoML backend in the training request: checked once (422 naming the
field), normalised, stored in a job's params and turned into train_template's arguments."""

from __future__ import annotations

import pytest

from pitwall.errors import ValidationFailed
from pitwall.workflow.request import TrainingRequest
from pitwall.workflow.template_facts import TEMPLATE_FACTS


def _refused(**auto: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        TrainingRequest("race_winner", "rw", auto_features=auto.get("value", auto))
    assert caught.value.http_status == 422
    return caught.value


def test_a_request_with_auto_features_trains_on_them_and_round_trips() -> None:
    request = TrainingRequest("race_winner", "rw", auto_features={"base": ["start_position"], "lags": [1, 2, 2]})
    assert request.auto_features == {
        "base": ["start_position"],
        "lags": [1, 2],
        "windows": [3],
        "relative": ["teammate", "field"],
    }
    kwargs = request.train_kwargs(tenant_id="t")
    assert kwargs["auto_features"] == request.auto_features
    generated = [
        "start_position_lag1",
        "start_position_lag2",
        "start_position_prev3_mean",
        "start_position_vs_teammate",
        "start_position_vs_field",
    ]
    assert kwargs["features"] == [*TEMPLATE_FACTS["race_winner"].features, *generated]
    again = TrainingRequest.from_params("race_winner", "rw", request.to_params())
    assert again == request and again.train_kwargs(tenant_id="t") == kwargs
    # features may name generated columns; the rest of them are added
    chosen = TrainingRequest(
        "race_winner", "rw", features=("grid_lock", "start_position_lag1"), auto_features=["start_position"]
    )
    assert chosen.resolved_features == [
        "grid_lock",
        "start_position_lag1",
        "start_position_prev3_mean",
        "start_position_vs_teammate",
        "start_position_vs_field",
    ]
    # the target's lags are fine, its team-mate / field differences are not
    TrainingRequest("race_winner", "rw", auto_features={"base": ["position"], "relative": []})
    assert TrainingRequest("race_winner", "rw").train_kwargs(tenant_id="t").get("auto_features") is None


@pytest.mark.parametrize(
    ("auto", "field", "text"),
    [
        ({"base": []}, "auto_features.base", "non-empty"),
        ({"base": ["Bad Name"]}, "auto_features.base", "not a column name"),
        ({"base": ["start_position"], "lags": [0]}, "auto_features.lags", "from 1 to 10"),
        ({"base": ["start_position"], "windows": [21]}, "auto_features.windows", "from 1 to 20"),
        ({"base": ["start_position"], "relative": ["rival"]}, "auto_features.relative", "'rival'"),
        ({"base": ["start_position"], "lag": [1]}, "auto_features", "unknown key(s) lag"),
        ({"base": ["driver_height"]}, "auto_features.base[0]", "not a column of template"),
        ({"base": ["position"]}, "auto_features.relative", "is the target"),
        ({"value": "start_position"}, "auto_features.base", "expected an object"),
    ],
)
def test_bad_auto_features_name_the_field(auto: dict, field: str, text: str) -> None:
    error = _refused(**auto)
    assert error.field == field and text in error.message


def test_auto_features_are_refused_for_in_race_templates() -> None:
    with pytest.raises(ValidationFailed) as caught:
        TrainingRequest("lap_time", "lt", auto_features=["lap_number"])
    assert caught.value.field == "auto_features" and "within a race" in caught.value.message


def test_the_automl_backend_is_chosen_per_request() -> None:
    request = TrainingRequest("race_winner", "rw", algorithm="auto", automl_backend="flaml", timeout=30)
    kwargs = request.train_kwargs(tenant_id="t")
    assert kwargs["automl_backend"] == "flaml" and kwargs["timeout"] == 30 and kwargs["algorithm"] == "auto"
    assert TrainingRequest.from_params("race_winner", "rw", request.to_params()) == request
    assert "automl_backend" not in TrainingRequest("race_winner", "rw", algorithm="auto").train_kwargs(tenant_id="t")
    for bad, text in (
        (dict(algorithm="auto", automl_backend="h2o"), "optuna, flaml"),
        (dict(automl_backend="flaml"), "only with"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            TrainingRequest("race_winner", "rw", **bad)
        assert caught.value.field == "automl_backend" and text in caught.value.message


def test_a_custom_spec_may_add_built_in_features_known_at_the_templates_moment() -> None:
    assert "career_wins" not in TEMPLATE_FACTS["race_winner"].features
    request = TrainingRequest("race_winner", "rw", features=("start_position", "career_wins"))
    assert request.resolved_features == ["start_position", "career_wins"]
    # the grid is known only pre-race: never an input of the pre-qualifying template
    with pytest.raises(ValidationFailed) as caught:
        TrainingRequest("qualifying", "q", features=("avg_quali_position_last_5", "start_position"))
    assert caught.value.field == "features" and "start_position" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:  # lap rows: only the template's own inputs
        TrainingRequest("lap_time", "lt", features=("career_wins",))
    assert caught.value.field == "features" and "built-in" not in caught.value.message
