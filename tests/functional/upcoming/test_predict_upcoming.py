"""Predicting what has not happened yet: the next race at each moment of its weekend (lake cut at
2024 round 10) and the rest of the 2024 season from round 12, through the SDK and the CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from pitwall.errors import ValidationFailed
from pitwall.serving.upcoming import predict_race_at, predict_season
from tests.functional.upcoming.cut import CUT_SEASON, NEXT_ROUND

TRAIN_SEASONS = [2022, 2023]


@pytest.fixture(scope="module")
def model(cut_lake, tmp_path_factory):
    """race_winner trained on 2022-2023 of the cut lake (registered in a throwaway home)."""
    import pitwall as pw

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PITWALL_HOME", str(tmp_path_factory.mktemp("train-home")))
        return pw.train("race_winner", seasons=TRAIN_SEASONS, store=cut_lake, track=False, name="rw")


def _champion(shared_data: Path) -> str:
    last = sorted((shared_data / "f1db/src/data/seasons/2024/races").iterdir())[-1]
    standings = yaml.load((last / "driver-standings.yml").read_text(), Loader=yaml.CSafeLoader)
    return next(r["driverId"] for r in standings if int(r["position"]) == 1)


def test_next_race_at_each_moment_says_what_was_known(model, cut_lake, lake) -> None:
    now = model.predict(race="next", store=cut_lake)
    assert (now.race["race_id"], now.moment, now.run) == (f"{CUT_SEASON}-{NEXT_ROUND}", "pre_race", False)
    assert now.known["grid"] and not now.known["result"] and now.unknown_inputs == []
    assert "position" not in now.predictions.columns  # no outcome to show
    assert len(now.predictions) == 20
    assert math.isclose(now.predictions["probability"].sum(), 1.0, rel_tol=1e-6)
    # the same race once stored, predicted at the same moment: the same answer
    stored = predict_race_at(model.model, f"{CUT_SEASON}-{NEXT_ROUND}", "pre_race", store=lake)
    assert stored.run and any("results were hidden" in n for n in stored.notes)
    assert not any("in sample" in n for n in stored.notes)  # trained on 2022-2023: 2024 is out of sample
    a = now.predictions.set_index("driver_id")["probability"].sort_index()
    b = stored.predictions.set_index("driver_id")["probability"].sort_index()
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9)
    assert list(a.index) == list(b.index)

    early = model.predict(race="austria_2024", moment="pre_qualifying", store=cut_lake)
    assert early.moment == "pre_qualifying" and not early.known["grid"] and early.known["practice"]
    assert any(n.startswith("grid not yet known: pre-qualifying prediction") for n in early.notes)
    assert "start_position" in early.unknown_inputs and early.to_dict()["expected_grid"] is True
    assert not np.allclose(
        early.predictions.set_index("driver_id")["probability"].sort_index().to_numpy(), a.to_numpy()
    )
    first = model.predict(race="2024-11", moment="pre_practice", store=cut_lake)
    assert first.moment == "pre_practice" and not first.known["practice"]


def test_a_moment_the_data_has_not_reached_is_refused(model, cut_lake) -> None:
    with pytest.raises(ValidationFailed) as err:
        model.predict(race=f"{CUT_SEASON}-{NEXT_ROUND + 1}", moment="pre_race", store=cut_lake)
    assert err.value.field == "moment" and "pre_practice" in str(err.value)
    later = model.predict(race=f"{CUT_SEASON}-{NEXT_ROUND + 1}", store=cut_lake)
    assert later.moment == "pre_practice" and len(later.predictions) == 20
    with pytest.raises(ValidationFailed) as err:
        model.predict(race="atlantis_2024", store=cut_lake)
    assert err.value.field == "race"


def test_a_race_the_model_trained_on_is_called_in_sample(model, lake) -> None:
    seen = model.predict(race="2023-05", store=lake)
    (note,) = [n for n in seen.notes if n.startswith("in sample")]
    assert "trained on races up to 2023-22, 2023-05 among them" in note
    forecast = model.predict_championship(2023, from_round=20, simulations=200, seed=1, store=lake)
    assert (
        "in sample: the model was trained on races up to 2023-22, 3 of these races (2023-20 to 2023-22)"
        in (forecast["known"])
    )


def test_championship_from_round_12(model, lake, shared_data) -> None:
    answer = model.predict_championship(CUT_SEASON, from_round=12, simulations=2000, seed=7, store=lake)
    assert answer["after_round"] == 11 and answer["simulated_rounds"] == list(range(12, 25))
    for side in ("drivers", "constructors"):
        assert math.isclose(sum(r["title_probability"] for r in answer[side]), 1.0, rel_tol=1e-9)
        assert all(r["expected_points"] >= r["current_points"] for r in answer[side])
    champion = _champion(shared_data)
    row = next(r for r in answer["drivers"] if r["driver_id"] == champion)
    print(f"P(title) of the real 2024 champion {champion} from round 12: {row['title_probability']:.3f}")
    assert 0.0 <= row["title_probability"] <= 1.0
    standings = {r["driver_id"]: r["current_points"] for r in answer["drivers"]}
    assert max(standings, key=standings.get) == champion  # the leader after round 11 (real standings)
    races = lake.read("races", [CUT_SEASON])
    sprints = sorted(int(r) for r in races.loc[races["has_sprint"].astype(bool), "round"] if r >= 12)
    assert answer["simulated_sprints"] == sprints and sprints  # sprint weekends are simulated too
    assert "sprints 8-7-6-5-4-3-2-1" in answer["points_system"]
    assert "in sample" not in answer["known"]
    again = predict_season(model.model, CUT_SEASON, after_round=11, simulations=2000, seed=7, store=lake, name="rw")
    assert again["drivers"] == answer["drivers"]


def test_cli_predicts_the_next_race_and_the_season(cut_lake, _isolated_home: Path) -> None:
    import pitwall as pw
    from pitwall.cli import app
    from pitwall.data.store import LocalStore

    shutil.copytree(cut_lake.root, _isolated_home / "lake")
    pw.train("race_winner", seasons=TRAIN_SEASONS, store=LocalStore(), track=False, name="rw_cli")
    runner = CliRunner()
    out = runner.invoke(app, ["predict", "rw_cli", "--race", "next", "--moment", "pre_qualifying", "--json"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["race"]["race_id"] == f"{CUT_SEASON}-{NEXT_ROUND}" and answer["moment"] == "pre_qualifying"
    assert any("grid not yet known" in n for n in answer["notes"])
    table = runner.invoke(app, ["predict", "rw_cli", "--race", "next"])
    assert table.exit_code == 0 and "\n- grid known: pre-race prediction" in table.output  # a note per line
    season = runner.invoke(
        app, ["predict", "rw_cli", "--championship", "2024", "--simulations", "500", "--seed", "1", "--json"]
    )
    assert season.exit_code == 0, season.output
    forecast = json.loads(season.output)
    assert forecast["after_round"] == 10 and forecast["simulated_rounds"][0] == NEXT_ROUND
    assert math.isclose(sum(d["title_probability"] for d in forecast["drivers"]), 1.0, rel_tol=1e-9)
    bad = runner.invoke(app, ["predict", "rw_cli", "--race", "2024-12", "--moment", "pre_race"])
    assert bad.exit_code == 2 and "moment" in bad.output


def test_the_serving_path_predicts_the_upcoming_race(model, cut_lake) -> None:
    from pitwall.serving.invocation import InProcessServing
    from pitwall.serving.predictor import Predictor

    serving = InProcessServing(cut_lake, simulate=None)  # type: ignore[arg-type]
    predictor = Predictor("local", "rw", 1, "race_winner", model.model)
    answer = serving.invoke(predictor, {"race": "next"})
    assert answer["race"]["race_id"] == f"{CUT_SEASON}-{NEXT_ROUND}"
    served = {r["driver_id"]: r["probability"] for r in answer["predictions"]}
    sdk = model.predict(race="next", store=cut_lake).predictions.set_index("driver_id")["probability"]
    assert set(served) == set(sdk.index)
    np.testing.assert_allclose([served[d] for d in sdk.index], sdk.to_numpy(), rtol=1e-9)
    # a race with only its entry list, before the grid: the SDK's rule (an expected grid), said so
    later = f"{CUT_SEASON}-{NEXT_ROUND + 1}"
    answer = serving.invoke(predictor, {"race": later})
    sdk_later = model.predict(race=later, store=cut_lake)
    assert answer["moment"] == sdk_later.moment == "pre_practice" and answer["notes"] == sdk_later.notes
    assert "start_position" in answer["unknown_inputs"]
    served = {r["driver_id"]: r["probability"] for r in answer["predictions"]}
    expected = sdk_later.predictions.set_index("driver_id")["probability"]
    np.testing.assert_allclose([served[d] for d in expected.index], expected.to_numpy(), rtol=1e-9)
    # a race already run, asked at an earlier moment: its results hidden, as the SDK does
    early = serving.invoke(predictor, {"race": "2024-05", "moment": "pre_qualifying"})
    assert early["moment"] == "pre_qualifying" and any("results were hidden" in n for n in early["notes"])
    # without a moment: its cached rows, at the template's moment, saying what the SDK says of it
    stored = serving.invoke(predictor, {"race": "2024-05"})
    sdk_stored = model.predict(race="2024-05", store=cut_lake)
    assert stored["moment"] == sdk_stored.moment == "pre_race" and stored["notes"] == sdk_stored.notes
    assert stored["unknown_inputs"] == sdk_stored.unknown_inputs
    served = {r["driver_id"]: r["probability"] for r in stored["predictions"]}
    expected = sdk_stored.predictions.set_index("driver_id")["probability"]
    np.testing.assert_allclose([served[d] for d in expected.index], expected.to_numpy(), rtol=1e-9)
    notes = serving.invoke(predictor, {"race": "2023-05"})["notes"]  # a race the model trained on
    assert notes[-1].startswith("in sample: the model was trained on races up to 2023-22, 2023-05 among them")
    what_if = serving.invoke(predictor, {"race": "2024-05", "grid_positions": {"max-verstappen": 1}})
    assert what_if["moment"] == "pre_race" and what_if["notes"][-1].startswith("what-if: grid_positions")
    with pytest.raises(ValidationFailed) as err:
        serving.invoke(predictor, {"race": "2024-05", "moment": "pre_race", "grid_positions": {"max-verstappen": 1}})
    assert err.value.field == "moment"
