"""A request's rows are converted once per prediction; the capture takes that very matrix, and a
caller who edits its list and predicts again is answered on the edited rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pitwall.serving.invocation import answered_instances_matrix, instances_matrix


def test_an_edited_list_is_converted_again_and_the_capture_takes_the_answered_matrix() -> None:
    predictor = SimpleNamespace(features=["start_position", "quali_gap_to_pole"])
    rows = [
        {"driver_id": "leclerc", "start_position": 1, "quali_gap_to_pole": 0.0},
        {"driver_id": "piastri", "start_position": 2, "quali_gap_to_pole": None},
    ]
    first, _, drivers = instances_matrix(predictor, rows)
    assert drivers == ["leclerc", "piastri"] and np.isnan(first[1, 1])
    assert answered_instances_matrix(predictor, rows)[0] is first  # the capture: no second conversion
    with pytest.raises(ValueError):
        first[0, 0] = 5.0  # shared with the capture: read-only

    rows[0]["start_position"] = 5  # a what-if on the same list
    edited = instances_matrix(predictor, rows)[0]
    assert edited[0, 0] == 5.0 and first[0, 0] == 1.0
    other = [dict(r) for r in rows]
    assert answered_instances_matrix(predictor, other)[0] is not edited  # another list: converted
    assert answered_instances_matrix(predictor, rows)[0][0, 0] == 5.0
