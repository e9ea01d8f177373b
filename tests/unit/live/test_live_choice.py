"""The live race model's prediction step: the conditional logit and its Plackett-Luce order evaluated
in plain Python (the cloud poller's ``LeanLiveModel``) give the library's numbers (numpy) to 1e-9,
P(win), P(podium) and the expected position agree, and a saved model round-trips checksum-verified."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from pitwall.live.predictors import (
    CHOICE_FEATURES,
    ChoiceModel,
    LeanLiveModel,
    LiveModelError,
    choice_inputs,
    plackett_luce,
)
from pitwall.live.state import Entrant, LapRecord, Stint, build_lap_state
from pitwall.live.template import EmpiricalBaseline, LiveModel, plackett_luce_matrix, state_frame

COEFFICIENTS = (0.9, 0.2, -1.1, -0.4, -0.3, 0.05, 0.8)


def _state(lap: int = 20, total: int = 50, status: tuple[str, ...] = (), seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    n = 20
    entrants = {
        k: Entrant(k, f"D{k:02d}", f"T{k // 2}", grid_position=k, pre_race_strength=None if k == 7 else float(20 - k))
        for k in range(1, n + 1)
    }
    records = []
    for k in range(1, n + 1):
        last = lap if k not in (19, 20) else lap - 3  # two cars stopped
        for lp in range(1, last + 1):
            gap = None if (k == 15 and lp == lap) else round(float(k - 1) * 1.7 + rng.uniform(0, 2), 3)
            records.append(LapRecord(k, lp, None, round(90 + rng.uniform(0, 1), 3), position=k, gap_to_leader_s=gap))
    stints = [Stint(k, 1, 1, ("SOFT", "MEDIUM", "HARD", None)[k % 4], 0) for k in range(1, n + 1)]
    stints += [Stint(k, 2, 12, "HARD", 2) for k in range(1, n + 1) if k % 3 == 0]
    stops = {k: [11] for k in range(1, n + 1) if k % 3 == 0}
    return build_lap_state(lap, total, entrants, records, stints, stops, status, season=2024, round_=5)


def _baseline() -> EmpiricalBaseline:
    by_position = {f"{p}|{b}": 0.8 / p**2 for p in range(1, 21) for b in range(9) if p < 12}
    by_grid = {str(g): 0.5 / g for g in range(1, 21) if g != 13}
    podium = {f"{p}|{b}": min(0.95, 2.4 / p**1.5) for p in range(1, 21) for b in range(9) if p < 15}
    return EmpiricalBaseline(by_position, by_grid, podium)


def _model() -> LiveModel:
    return LiveModel("m", (2023,), ChoiceModel(CHOICE_FEATURES, COEFFICIENTS), _baseline())


@pytest.mark.parametrize("later", [None, [0.1, 1.5, -0.2, 0.9, -3.0, -1.0]])
def test_plackett_luce_in_python_equals_numpy_and_enumeration(later: list[float] | None) -> None:
    u = [2.0, 1.2, 0.3, -0.5, -2.0, -40.0]
    first, podium, expected = plackett_luce(u, later)
    a, b, c = plackett_luce_matrix(np.array(u), None if later is None else np.array(later))
    assert first == pytest.approx(list(a), abs=1e-12)
    assert podium == pytest.approx(list(b), abs=1e-12)
    assert expected == pytest.approx(list(c), abs=1e-12)
    # by enumerating every order of the six: the first place drawn with u, the later ones with later
    w, x = np.exp(u), np.exp(u if later is None else later)
    top3, rank = np.zeros(6), np.zeros(6)
    for order in itertools.permutations(range(6)):
        p = 1.0
        for place, i in enumerate(order):
            weights = w if place == 0 else x
            p *= weights[i] / sum(weights[j] for j in order[place:])
        for place, i in enumerate(order, start=1):
            top3[i] += p * (place <= 3)
            rank[i] += p * place
    assert podium == pytest.approx(list(top3), abs=1e-9) and expected == pytest.approx(list(rank), abs=1e-9)
    assert math.isclose(sum(podium), 3.0) and math.isclose(sum(expected), 21.0)


@pytest.mark.parametrize(("lap", "status"), [(20, ()), (2, ("sc",)), (48, ("vsc", "yellow"))])
def test_the_lean_model_equals_the_library_to_1e_9(tmp_path, lap: int, status: tuple[str, ...]) -> None:
    state = _state(lap, status=status, seed=lap)
    model = _model()
    lean = LeanLiveModel.from_dir(model.save(tmp_path / "m"))
    frame = model.predict_frame(state_frame(state))  # the library: numpy over the lap's frame
    python = lean.predict_state(state)
    assert list(frame["driver_number"]) == [p.driver_number for p in python]
    for column in ("p_win", "p_podium", "expected_position"):
        assert np.abs(frame[column].to_numpy() - np.array([getattr(p, column) for p in python])).max() < 1e-9
    library = model.predict_state(state)  # the stream's path is the plain-Python one
    assert library == python
    running = [p for p in library if p.running]
    assert math.isclose(sum(p.p_win for p in library), 1.0) and math.isclose(sum(p.p_podium for p in library), 3.0)
    assert all(p.p_win == 0.0 and p.expected_position == p.position for p in library if not p.running)
    assert sorted(p.expected_position for p in running)[0] >= 1.0
    assert math.isclose(sum(p.expected_position for p in running), len(running) * (len(running) + 1) / 2)


def test_a_sure_leader_is_expected_first() -> None:
    model = LiveModel("m", (2023,), ChoiceModel(CHOICE_FEATURES, (3.0, 0, -4.0, 0, 0, 0, 0)), _baseline())
    predictions = model.predict_state(_state(49))
    leader, running = predictions[0], sum(p.running for p in predictions)
    assert leader.p_win > 0.99 and leader.expected_position < 1.0 + 1e-6
    assert leader.expected_position <= 1.0 + (1 - leader.p_win) * (running - 1)  # rank <= the field
    assert all(p.p_podium >= p.p_win - 1e-12 for p in predictions)  # a podium is never less likely than a win


def test_choice_inputs_follow_the_documented_rules() -> None:
    state = _state(20)
    rows = {d.driver_number: r for d, r in zip(state.drivers, choice_inputs(state), strict=True)}
    z, z_neutral, owed, age, strength = zip(*(rows[k] for k in (1, 3)), strict=True)
    assert owed == (1.0, 0.0)  # car 1 on softs has not stopped; car 3 stopped on lap 11
    assert z_neutral == (0.0, 0.0)  # green lap
    assert strength == (1.9, 1.7)
    assert rows[7][4] == 0.0  # unknown strength
    assert all(math.isnan(x) for x in rows[19])  # stopped car
    sc = _state(20, status=("sc",))
    under_sc = {d.driver_number: r for d, r in zip(sc.drivers, choice_inputs(sc), strict=True)}
    assert under_sc[2][1] > 0 and under_sc[2][1] == pytest.approx(under_sc[2][0] * math.sqrt(30.05 / 31))


def test_a_tampered_or_old_model_is_refused(tmp_path) -> None:
    path = _model().save(tmp_path / "m")
    (path / "choice.json").write_text(json.dumps({"features": list(CHOICE_FEATURES), "coefficients": [0] * 7}))
    with pytest.raises(LiveModelError, match="sha256"):
        LeanLiveModel.from_dir(path)
    meta = json.loads((path / "metadata.json").read_text())
    (path / "metadata.json").write_text(json.dumps({**meta, "version": 1, "files": {"win.txt": "x"}}))
    with pytest.raises(LiveModelError, match="older Pitwall"):
        LeanLiveModel.from_dir(path)
