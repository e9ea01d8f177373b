"""Leakage: a feature of race R never depends on R's results or on anything later.

Each test perturbs the real data (changes and deletes) from some race on, recomputes every
feature from scratch, and requires the features of every earlier race to be bit-for-bit equal.
Each also checks the perturbation does change later features, so the comparison can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.features.compute import at_moment, compute_features
from pitwall.features.inputs import FeatureInputs, race_seq
from pitwall.features.laps import lap_frame, pit_stop_frame, race_frame

R = 202110  # 2021 British GP: mid-season, with sprint, laps and pit stops
DELETE_FROM = 202205  # races from 2022 round 5 on are deleted entirely
ROWS = range(2019, 2023)  # rows compared (history still reaches back to 1950)


def _seq(df: pd.DataFrame) -> np.ndarray:
    return race_seq(df["season"], df["round"]).to_numpy()


def _reverse_positions(df: pd.DataFrame, col: str, mask: np.ndarray) -> None:
    if col in df and mask.any():
        top = df.loc[mask].groupby("race_id")[col].transform("max")
        df.loc[mask, col] = (top + 1 - df.loc[mask, col]).astype(df[col].dtype)


def perturb(tables: dict[str, pd.DataFrame], since: int, delete_from: int | None) -> dict[str, pd.DataFrame]:
    """Scramble every race table from race ``since`` on; delete races from ``delete_from`` on."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        seq = _seq(df)
        if delete_from is not None:
            df = df[seq < delete_from].reset_index(drop=True)
            seq = _seq(df)
        later = seq >= since
        if name == "races":
            out[name] = df
            continue
        for col in ("position", "position_order", "grid_position", "stint"):
            _reverse_positions(df, col, later)
        for col in ("points", "time_s", "best_s", "q1_s", "lap_time_s", "session_time_s", "tyre_life"):
            if col in df:
                df.loc[later, col] = df.loc[later, col] * 1.37 + 3
        if "finished" in df:
            df.loc[later, "finished"] = ~df.loc[later, "finished"].fillna(False).astype(bool)
        if "reason_retired" in df:
            df.loc[later, "reason_retired"] = "Engine"
        if "compound" in df:
            df.loc[later, "compound"] = "WET"
        if "track_status" in df:
            df.loc[later, "track_status"] = "4"
        out[name] = df
    return out


@pytest.fixture(scope="module")
def baseline(lake_inputs):
    return compute_features(lake_inputs, moment="pre_race", seasons=ROWS)


def _before(frame: pd.DataFrame, seq: int) -> pd.DataFrame:
    return frame[_seq(frame) < seq].reset_index(drop=True)


def test_changing_and_deleting_race_r_onward_leaves_earlier_features_unchanged(lake_inputs, baseline):
    changed = FeatureInputs.from_frames(perturb(lake_inputs.tables, R, DELETE_FROM))
    after = compute_features(changed, moment="pre_race", seasons=ROWS)
    for moment in ("pre_race", "pre_qualifying"):
        pd.testing.assert_frame_equal(
            _before(at_moment(baseline, moment), R), _before(at_moment(after, moment), R), check_exact=True
        )
    for build in (lap_frame, pit_stop_frame, race_frame):
        pd.testing.assert_frame_equal(
            _before(build(lake_inputs, seasons=ROWS), R), _before(build(changed, seasons=ROWS), R), check_exact=True
        )
    # the perturbation is real: later races see different histories, deleted races are gone
    later_base = baseline[(_seq(baseline) > R) & (_seq(baseline) < DELETE_FROM)].reset_index(drop=True)
    later_after = after[(_seq(after) > R) & (_seq(after) < DELETE_FROM)].reset_index(drop=True)
    assert (later_base["career_points"] != later_after["career_points"]).any()
    assert (_seq(after) < DELETE_FROM).all() and (_seq(baseline) >= DELETE_FROM).any()


def test_race_r_own_results_do_not_reach_its_features(lake_inputs, baseline):
    tables = dict(lake_inputs.tables)
    only_results = perturb({"results": tables["results"]}, R, None)["results"]
    only_results.loc[_seq(only_results) > R, :] = tables["results"].loc[_seq(only_results) > R, :]
    changed = FeatureInputs.from_frames({**tables, "results": only_results})
    after = compute_features(changed, moment="pre_race", seasons=ROWS)
    upto = lambda f: f[_seq(f) <= R].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(upto(baseline), upto(after), check_exact=True)
    nxt = lambda f: f[_seq(f) == 202111].reset_index(drop=True)  # noqa: E731
    assert not nxt(baseline)["avg_race_position_last_5"].equals(nxt(after)["avg_race_position_last_5"])


def test_pre_qualifying_ignores_race_r_qualifying_and_grid(lake_inputs, baseline):
    tables = dict(lake_inputs.tables)
    for name in ("qualifying", "starting_grid"):
        df = tables[name].copy()
        at_r = _seq(df) == R
        _reverse_positions(df, "position", at_r)
        for col in ("best_s", "q1_s", "q2_s", "q3_s", "time_s"):
            if col in df:
                df.loc[at_r, col] = df.loc[at_r, col] * 0.9
        tables[name] = df
    changed = FeatureInputs.from_frames(tables)
    after = compute_features(changed, moment="pre_race", seasons=ROWS)
    upto = lambda f: f[_seq(f) <= R].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(
        upto(at_moment(baseline, "pre_qualifying")), upto(at_moment(after, "pre_qualifying")), check_exact=True
    )
    at = lambda f: f[_seq(f) == R].reset_index(drop=True)  # noqa: E731
    assert not at(baseline)["start_position"].equals(at(after)["start_position"])  # pre_race does see them
