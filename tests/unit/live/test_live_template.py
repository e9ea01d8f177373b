"""Live template pieces without data: probability normalisation, the empirical rule, stream arguments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.live.predictors import CHOICE_FEATURES, PODIUM_RULE_POWER, ChoiceModel, podium_blend, softmax
from pitwall.live.stream import connect_to_stream, resolve_model
from pitwall.live.template import EmpiricalBaseline, LiveModel, LiveModelError, _normalise


def test_podium_probabilities_sum_to_three_and_stay_below_one():
    p = _normalise(np.array([0.99, 0.98, 0.97, 0.5, 0.01]), 3.0)
    assert p.sum() == pytest.approx(3.0) and (p <= 1.0 + 1e-12).all()
    assert list(np.argsort(-p)) == [0, 1, 2, 3, 4]
    assert _normalise(np.array([0.2, 0.1]), 3.0).tolist() == [1.0, 1.0]  # fewer cars than podium places


def test_podium_blend_moves_from_the_order_to_the_rule_as_the_race_ends():
    order = [0.99, 0.93, 0.92, 0.11, 0.04, 0.01]  # a Plackett-Luce order's P(top 3), a lap to go
    rule = [0.99, 0.94, 0.96, 0.08, 0.02, 0.01]
    win = [0.9, 0.06, 0.03, 0.01, 0.0, 0.0]
    assert podium_blend(order, rule, win, 0.0) == order and podium_blend(order, rule, win, 1.0) == rule
    half = podium_blend(order, rule, win, 0.5)
    w = 0.5**PODIUM_RULE_POWER
    assert half == pytest.approx([(1 - w) * a + w * b for a, b in zip(order, rule, strict=True)])
    assert sum(half) == pytest.approx(3.0)  # both sum to 3: so does the blend
    late = podium_blend(order, rule, win, 0.97)
    assert abs(late[3] - rule[3]) < abs(order[3] - rule[3]) / 2  # the fourth car's chance mostly the rule's
    # never below P(win): a sure winner whom the table gives 0.95 keeps his P(win), the rest pay for it
    sure = podium_blend([1.0, 0.9, 0.8, 0.3], [0.95, 0.9, 0.85, 0.3], [0.999, 0.001, 0.0, 0.0], 1.0)
    assert sure[0] == pytest.approx(0.999) and sum(sure) == pytest.approx(3.0)
    assert all(b <= a + 1e-12 for a, b in zip([0.95, 0.9, 0.85, 0.3][1:], sure[1:], strict=True))


def test_softmax_is_a_distribution_and_keeps_the_order():
    p = np.array(softmax([3.0, 1.0, -2.0, 800.0]))
    assert p.sum() == pytest.approx(1.0) and np.isfinite(p).all() and p.argmax() == 3


def _rows() -> pd.DataFrame:
    # two races of four cars, laps with 10 and 0 laps left; the leader wins race A, P2 wins race B;
    # in race B the car running fourth finishes on the podium
    rows = []
    for race, winner in (("A", 1), ("B", 2)):
        for left in (10, 0):
            for pos in (1, 2, 3, 4):
                rows.append(
                    {
                        "race_id": race,
                        "driver_number": pos,
                        "position": pos,
                        "laps_remaining": left,
                        "running": True,
                        "won": pos == winner,
                        "podium": pos <= 2 or pos == (3 if race == "A" else 4),
                        "grid_position": pos,
                    }
                )
    return pd.DataFrame(rows)


def test_empirical_rule_is_normalised_over_running_drivers():
    base = EmpiricalBaseline.fit(_rows())
    frame = pd.DataFrame(
        {
            "position": [1, 2, 3],
            "laps_remaining": [10, 10, 10],
            "running": [True, True, False],
            "grid_position": [1, 2, 3],
        }
    )
    p = base.p_win_position(frame)
    assert p.sum() == pytest.approx(1.0) and p[2] == 0.0
    assert p[0] == pytest.approx(p[1])  # one win each from P1 and P2 with 10 laps left
    g = base.p_win_grid(frame)
    assert g.sum() == pytest.approx(1.0) and g[2] < g[0]
    # P(top 3 | position, laps left): P1 and P2 always, P3 and P4 once in two races; smoothed to 0.15
    pod = np.exp(base.log_p_podium(pd.DataFrame({"position": [1, 3, 4, 9], "laps_remaining": [10] * 4})))
    assert pod[:3] == pytest.approx([(2 + 0.5 * 0.15) / 2.5, (1 + 0.5 * 0.15) / 2.5, (1 + 0.5 * 0.15) / 2.5])
    assert pod[3] == pytest.approx(1e-4)  # a cell never seen: the rule's floor


def test_stream_arguments_are_checked():
    model = LiveModel(
        "m", (2023,), ChoiceModel(CHOICE_FEATURES, (0.0,) * len(CHOICE_FEATURES)), EmpiricalBaseline({}, {})
    )
    with pytest.raises(ValueError, match="update_frequency"):
        connect_to_stream(model, source="replay", update_frequency="per_second", season=2024, round=1)
    with pytest.raises(ValueError, match="source"):
        connect_to_stream(model, source="telemetry", season=2024, round=1)
    with pytest.raises(ValueError, match="season, round"):
        connect_to_stream(model, source="replay")
    with pytest.raises(LiveModelError, match="trained on seasons up to 2023"):
        connect_to_stream(model, source="replay", season=2022, round=1)


def test_a_non_live_model_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path))

    class TemplateModel:
        name = "race_winner_v1"
        model = object()

    with pytest.raises(LiveModelError, match="not a live race model"):
        resolve_model(TemplateModel())
