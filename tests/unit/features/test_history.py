"""Rolling statistics and the strictly-before as-of join."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pitwall.features.history import asof_before, rolling_mean, rolling_slope, rolling_sum, sorted_history


def _hist() -> pd.DataFrame:
    return sorted_history(
        pd.DataFrame(
            {
                "driver_id": ["x", "x", "x", "x", "y", "y"],
                "seq": [202001, 202002, 202003, 202004, 202001, 202003],
                "v": [1.0, 3.0, np.nan, 8.0, 10.0, 20.0],
            }
        ),
        ["driver_id"],
    )


def test_rolling_mean_and_sum_stay_within_each_entity_and_window():
    h = _hist()
    mean = rolling_mean(h, ["driver_id"], "v", 2)
    total = rolling_sum(h, ["driver_id"], "v", 2, min_periods=2)
    x = h["driver_id"] == "x"
    assert mean[x].tolist()[:3] == [1.0, 2.0, 3.0]  # NaN is skipped, the window is 2 rows
    assert mean[x].tolist()[3] == 8.0
    assert mean[~x].tolist() == [10.0, 15.0]  # y's values never mix with x's
    assert math.isnan(total[x].tolist()[0]) and total[x].tolist()[1] == 4.0
    assert math.isnan(total[x].tolist()[2])  # only one value present in the window


def test_rolling_slope():
    h = sorted_history(
        pd.DataFrame({"driver_id": ["x"] * 4, "seq": [1, 2, 3, 4], "v": [5.0, 4.0, 3.0, 3.0]}), ["driver_id"]
    )
    slope = rolling_slope(h, ["driver_id"], "v", 3)
    assert math.isnan(slope.iloc[0])
    assert slope.iloc[1] == -1.0
    assert slope.iloc[2] == -1.0
    assert slope.iloc[3] == -0.5


def test_asof_before_is_strictly_before_and_keyed():
    h = _hist()
    h["stat"] = rolling_mean(h, ["driver_id"], "v", 5)
    rows = pd.DataFrame({"driver_id": ["x", "x", "y", "z", "x"], "seq": [202001, 202003, 202003, 202003, 209901]})
    out = asof_before(rows, h, ["driver_id"], ["stat"])
    assert math.isnan(out["stat"].iloc[0])  # nothing before x's first race
    assert out["stat"].iloc[1] == 2.0  # 202002 is the last race before 202003, not 202003 itself
    assert out["stat"].iloc[2] == 10.0
    assert math.isnan(out["stat"].iloc[3])  # unknown entity
    assert out["stat"].iloc[4] == 4.0
    assert list(out.index) == list(rows.index)


def test_later_rows_never_change_earlier_values():
    h = _hist()
    longer = pd.concat([h, pd.DataFrame({"driver_id": ["x"], "seq": [202005], "v": [1000.0]})], ignore_index=True)
    longer = sorted_history(longer, ["driver_id"])
    before = rolling_mean(h, ["driver_id"], "v", 3)
    after = rolling_mean(longer, ["driver_id"], "v", 3)
    merged = h.assign(m=before).merge(longer.assign(m=after), on=["driver_id", "seq"], suffixes=("", "_l"))
    assert (merged["m"].fillna(-1) == merged["m_l"].fillna(-1)).all()
