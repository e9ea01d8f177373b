"""``pitwall.ml.parallel_fits.run_parallel``: worker processes, results in item order."""

from __future__ import annotations

import operator
import os
import sys
import threading

import cloudpickle
import pytest

from pitwall.ml import parallel_fits
from pitwall.ml.parallel_fits import run_parallel

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # test modules are not importable by workers


def _pid_and_square(shared: dict[int, int], item: int) -> tuple[int, int]:
    return os.getpid(), shared[item]


@pytest.fixture
def workers_do_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start however quick the items, and this process only waits for them."""
    monkeypatch.setattr(parallel_fits, "WORKER_START_CPU_S", 0.0)
    monkeypatch.setattr(parallel_fits, "TAKE_PART", False)


@pytest.mark.parametrize("n_jobs", [1, 3])
def test_results_come_back_in_item_order(n_jobs: int, workers_do_the_work: None) -> None:
    shared = {i: i * i for i in range(9)}
    done: list[int] = []
    out = run_parallel(_pid_and_square, shared, list(range(9))[::-1], n_jobs, done.append)
    assert [value for _, value in out] == [i * i for i in range(9)][::-1]
    assert sorted(done) == list(range(9))
    pids = {pid for pid, _ in out}
    assert (pids == {os.getpid()}) == (n_jobs == 1)  # the last (smallest) item is always computed here


def test_quick_items_start_no_worker() -> None:
    out = run_parallel(_pid_and_square, {i: i for i in range(5)}, list(range(5)), 2)
    assert out == [(os.getpid(), i) for i in range(5)]


def test_what_cannot_be_sent_runs_here_with_a_warning(workers_do_the_work: None) -> None:
    shared = {"lock": threading.Lock(), 0: "a", 1: "b", 2: "c", 3: "d"}
    with pytest.warns(UserWarning, match="serially"):
        assert run_parallel(operator.getitem, shared, [3, 2, 1, 0], 2) == ["d", "c", "b", "a"]


def test_an_error_in_a_worker_reaches_the_caller(workers_do_the_work: None) -> None:
    """Item 7 (not in the dict) goes to the worker: the last TIMED_ITEMS are computed here."""
    assert parallel_fits.TIMED_ITEMS == 3
    with pytest.raises(KeyError):
        run_parallel(operator.getitem, {0: 1}, [7, 0, 0, 0], 2)
