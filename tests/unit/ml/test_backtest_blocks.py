"""Which model predicts which race in a walk-forward backtest (``pitwall.ml.backtest.fit_blocks``)."""

from __future__ import annotations

import numpy as np
import pytest

from pitwall.ml.backtest import fit_blocks
from pitwall.ml.errors import MLInputError
from pitwall.ml.parallel_fits import check_jobs, default_jobs
from pitwall.ml.splits import WalkForwardStep


def _steps(n: int, first_train: int = 10) -> list[WalkForwardStep]:
    """Expanding steps: race i is predicted from the ``first_train + i`` races before it (one row each)."""
    return [
        WalkForwardStep(f"r{i}", 2024, i + 1, np.arange(first_train + i), np.array([first_train + i]), first_train + i)
        for i in range(n)
    ]


@pytest.mark.parametrize(("refit_every", "sizes"), [(1, [1] * 7), (3, [3, 3, 1]), (7, [7]), (10, [7])])
def test_expanding_blocks_refit_every_k_races(refit_every: int, sizes: list[int]) -> None:
    steps = _steps(7)
    blocks = fit_blocks(steps, "expanding", refit_every)
    assert [len(b.tests) for b in blocks] == sizes
    starts = np.cumsum([0, *sizes[:-1]])
    for block, first in zip(blocks, starts, strict=True):
        assert np.array_equal(block.train, steps[first].train)  # trained on the rows before its first race
        assert all(block.train.max() < t.min() for t in block.tests)  # never on a race it predicts
    assert np.array_equal(np.concatenate([t for b in blocks for t in b.tests]), np.arange(10, 17))


def test_season_start_is_one_block() -> None:
    steps = [WalkForwardStep(f"r{i}", 2024, i + 1, np.arange(10), np.array([10 + i]), 10) for i in range(5)]
    (block,) = fit_blocks(steps, "season_start", 1)
    assert np.array_equal(block.train, np.arange(10)) and len(block.tests) == 5


def test_jobs_come_from_the_environment_or_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.setenv("PITWALL_JOBS", "0")
    with pytest.raises(MLInputError, match="PITWALL_JOBS"):
        default_jobs()
    monkeypatch.delenv("PITWALL_JOBS")
    assert default_jobs() >= 1
    with pytest.raises(MLInputError, match="n_jobs"):
        check_jobs(True)
