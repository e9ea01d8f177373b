"""Walk-forward backtests and grouped splits on real 2022-2023 results: no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pitwall.ml import ModelBuilder, group_kfold, ranking_metrics, walk_forward
from pitwall.ml.errors import MLInputError

XGB = {"n_estimators": 40, "max_depth": 3}


def _key(season: int, rnd: int) -> tuple[int, int]:
    return (int(season), int(rnd))


def test_group_kfold_on_real_races_never_straddles(frame: pd.DataFrame) -> None:
    for train, test in group_kfold(frame, n_splits=5, seed=3):
        assert set(frame["race_id"].iloc[train]).isdisjoint(frame["race_id"].iloc[test])
        # every driver row of a test race is in the test fold
        for race in frame["race_id"].iloc[test].unique():
            assert (frame["race_id"].iloc[test] == race).sum() == (frame["race_id"] == race).sum()


def test_expanding_backtest_trains_only_on_the_past(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    frame["grid_score"] = -frame["grid"].fillna(30.0)
    result = walk_forward(
        frame,
        builder,
        season=2023,
        min_train_races=23,
        train_kwargs={"algorithm": "xgboost", "params": XGB},
        baselines={"grid": "grid_score"},
    )
    assert result.skipped_races == ["2023-01"]  # only 22 earlier races
    assert result.n_models == 21 and len(result.per_race) == 21
    preds = result.predictions
    for _, row in preds.drop_duplicates("race_id").iterrows():
        last = frame.loc[frame["race_id"] == row["train_last_race"]].iloc[0]
        assert _key(last["season"], last["round"]) < _key(row["season"], row["round"])
        assert row["train_races"] == 22 + row["round"] - 1
    assert set(preds["race_id"]) == {f"2023-{r:02d}" for r in range(2, 23)}
    assert np.allclose(preds.groupby("race_id")["probability"].sum(), 1.0)
    direct = ranking_metrics(preds, "score", k=1, prob_col="probability")
    assert result.metrics == pytest.approx(direct)
    assert result.baseline_metrics["grid"] == pytest.approx(ranking_metrics(preds, "baseline_grid", k=1))
    assert result.metrics["top1_accuracy"] >= 0.5  # Verstappen's 2023: the model learns the favourite


def test_refit_every_k_races_still_trains_only_on_the_past(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    kwargs = {"algorithm": "xgboost", "params": XGB, "seed": 5}
    every = walk_forward(frame, builder, season=2023, min_train_races=23, train_kwargs=kwargs)
    third = walk_forward(frame, builder, season=2023, min_train_races=23, train_kwargs=kwargs, refit_every=3)
    assert (third.n_models, third.refit_every, len(third.per_race)) == (7, 3, 21)  # rounds 2, 5, ..., 20
    preds = third.predictions.drop_duplicates("race_id")
    for _, row in preds.iterrows():
        last = frame.loc[frame["race_id"] == row["train_last_race"]].iloc[0]
        assert _key(last["season"], last["round"]) < _key(row["season"], row["round"])
        assert row["train_races"] == 22 + 3 * ((row["round"] - 2) // 3) + 1
    a, b = every.predictions, third.predictions
    for rnd in (2, 5, 20):  # a refit race is predicted exactly as with a refit before every race
        race = f"2023-{rnd:02d}"
        assert np.array_equal(a.loc[a["race_id"] == race, "score"], b.loc[b["race_id"] == race, "score"])
    race = "2023-03"
    assert not np.array_equal(a.loc[a["race_id"] == race, "score"], b.loc[b["race_id"] == race, "score"])
    with pytest.raises(MLInputError, match="refit_every"):
        walk_forward(frame, builder, season=2023, train_kwargs=kwargs, refit_every=0)


@pytest.mark.parametrize("refit_every", [1, 3])
def test_parallel_backtest_equals_serial(
    frame: pd.DataFrame, features: list[str], refit_every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fitting the races in a worker process gives the serial backtest, value for value."""
    from pitwall.ml import parallel_fits

    monkeypatch.setattr(parallel_fits, "WORKER_START_CPU_S", 0.0)  # a worker however quick the fits
    monkeypatch.setattr(parallel_fits, "TAKE_PART", False)  # ... and it fits all races but the first
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    frame["grid_score"] = -frame["grid"].fillna(30.0)
    kwargs = {
        "season": 2023,
        "rounds": range(2, 12),
        "min_train_races": 20,
        "train_kwargs": {"algorithm": "xgboost", "params": XGB, "seed": 2},
        "baselines": {"grid": "grid_score"},
        "refit_every": refit_every,
    }
    serial = walk_forward(frame, builder, n_jobs=1, **kwargs)
    parallel = walk_forward(frame, builder, n_jobs=2, **kwargs)
    assert parallel.n_models == serial.n_models == -(-10 // refit_every)
    pd.testing.assert_frame_equal(parallel.predictions, serial.predictions, check_exact=True)
    pd.testing.assert_frame_equal(parallel.per_race, serial.per_race, check_exact=True)
    assert parallel.metrics == serial.metrics and parallel.baseline_metrics == serial.baseline_metrics
    assert parallel.comparisons == serial.comparisons
    with pytest.raises(MLInputError, match="n_jobs"):
        walk_forward(frame, builder, n_jobs=0, **kwargs)


@pytest.mark.parametrize("rnd", [6, 15])
def test_future_rows_cannot_change_a_prediction(frame: pd.DataFrame, features: list[str], rnd: int) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=3)
    kwargs = {"algorithm": "xgboost", "params": XGB, "seed": 5}
    base = walk_forward(frame, builder, season=2023, rounds=[rnd], train_kwargs=kwargs, min_train_races=5)

    rng = np.random.default_rng(rnd)
    future = (frame["season"] == 2023) & (frame["round"] > rnd)
    same_race = (frame["season"] == 2023) & (frame["round"] == rnd)
    changed = frame.copy()
    # the predicted race's own results and every later row are scrambled ...
    changed.loc[same_race, "position"] = pd.array(rng.permutation(changed.loc[same_race, "position"].to_numpy()))
    for col in [*features, "position"]:
        values = changed.loc[future, col].to_numpy()
        changed.loc[future, col] = pd.array(rng.permutation(values), dtype=changed[col].dtype)
    changed.loc[future, "grid"] = changed.loc[future, "grid"] + rng.normal(0, 5, future.sum())
    # ... and later rows are moved around in the frame
    later = changed[future].sample(frac=1.0, random_state=rnd)
    changed = pd.concat([changed[~future], later])
    assert not changed.loc[same_race, "position"].equals(frame.loc[same_race, "position"])

    again = walk_forward(changed, builder, season=2023, rounds=[rnd], train_kwargs=kwargs, min_train_races=5)
    a = base.predictions.set_index("driver_id").sort_index()
    b = again.predictions.set_index("driver_id").sort_index()
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert a["predicted_rank"].tolist() == b["predicted_rank"].tolist()


def test_a_past_change_does_change_predictions(frame: pd.DataFrame, features: list[str]) -> None:
    """Control for the test above: the backtest is sensitive to the rows it may use."""
    builder = ModelBuilder("ranking", "position", features=features, top_k=3)
    kwargs = {"algorithm": "xgboost", "params": XGB, "seed": 5}
    base = walk_forward(frame, builder, season=2023, rounds=[6], train_kwargs=kwargs, min_train_races=5)
    changed = frame.copy()
    past = changed["season"] == 2022
    changed.loc[past, "position"] = pd.array(
        np.random.default_rng(0).permutation(changed.loc[past, "position"].to_numpy())
    )
    again = walk_forward(changed, builder, season=2023, rounds=[6], train_kwargs=kwargs, min_train_races=5)
    assert not np.array_equal(base.predictions["score"].to_numpy(), again.predictions["score"].to_numpy())


def test_season_start_uses_one_model_from_earlier_seasons(frame: pd.DataFrame, features: list[str]) -> None:
    calls: list[tuple[int, int]] = []
    builder = ModelBuilder("regression", "points", features=features)

    def make_model(train_df: pd.DataFrame):  # noqa: ANN202 - any callable returning a model
        calls.append(max(zip(train_df["season"], train_df["round"], strict=True)))
        return builder.train(train_df, "lightgbm", params={"n_estimators": 40})

    result = walk_forward(frame, make_model, season=2023, mode="season_start", rounds=range(1, 8))
    assert calls == [(2022, 22)] and result.n_models == 1
    assert set(result.predictions["train_last_race"]) == {"2022-22"}
    assert result.metrics["mae"] == pytest.approx(
        np.mean(np.abs(result.predictions["prediction"] - result.predictions["points"]))
    )
    assert list(result.per_race["round"]) == list(range(1, 8))


def test_backtest_errors_name_the_problem(frame: pd.DataFrame, features: list[str]) -> None:
    builder = ModelBuilder("ranking", "position", features=features, top_k=1)
    with pytest.raises(MLInputError, match="season 2019"):
        walk_forward(frame, builder, season=2019)
    with pytest.raises(MLInputError, match="min_train_races"):
        walk_forward(frame, builder, season=2022, min_train_races=30)
    with pytest.raises(MLInputError, match="mode"):
        walk_forward(frame, builder, season=2023, mode="sliding")
