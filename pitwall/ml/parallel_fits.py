"""Independent fits spread over the machine's cores (the walk-forward backtest's races).

``run_parallel(work, shared, items, n_jobs)`` returns ``[work(shared, item) for item in items]``
computed by this process and ``n_jobs - 1`` worker processes (loky, through joblib, a
scikit-learn dependency): ``shared`` (the training frame and the fit recipe) is written once to
a temporary file that each worker reads on its first item; items are small (row positions).
This process takes part: it computes the items no worker has picked up yet, smallest first
(items are given largest first), so a worker still starting up costs no waiting; workers are
not started at all when the fits are too quick to repay their start-up.

Results are identical to a serial run: each item is computed by the same function on the same
rows, in a process whose BLAS/OpenMP pools are held to one thread (thread counts change the
order of floating-point sums; one thread per fit is also the fastest on small matrices), and
``work`` may not depend on which items ran before it in the same process (a cache it keeps must
give the same value whoever computes it).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pitwall.ml.errors import MLInputError

T = TypeVar("T")
R = TypeVar("R")

JOBS_ENV = "PITWALL_JOBS"
"""Environment override of the default number of processes (``1`` = serial)."""
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
WORKER_IDLE_S = 60  # an idle worker exits after this long (reused by the next backtest before that)
WORKER_START_CPU_S = 2.0  # CPU seconds a worker spends importing pandas, scikit-learn, ... before its first fit
TIMED_ITEMS = 3  # the smallest items timed here before deciding on workers (the first pays the imports)
TAKE_PART = True  # this process computes what no worker has taken (False: it only waits; tests use it)

_SHARED: dict[str, Any] = {}  # in a worker: the shared payload of the latest file read


def default_jobs() -> int:
    """``$PITWALL_JOBS`` when set, else the cores this process may run on."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        return check_jobs(int(value) if value.lstrip("-").isdigit() else value, JOBS_ENV)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_jobs(n_jobs: Any, name: str = "n_jobs") -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise MLInputError(f"{name}: must be a positive integer (1 = serial), got {n_jobs!r}")
    return n_jobs


@contextmanager
def one_thread() -> Iterator[None]:
    """This process's BLAS and OpenMP pools held to one thread inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def run_parallel(
    work: Callable[[Any, T], R],
    shared: Any,
    items: Sequence[T],
    n_jobs: int,
    on_done: Callable[[int], None] | None = None,
) -> list[R]:
    """``[work(shared, item) for item in items]`` over ``n_jobs`` processes (see the module doc).

    ``work`` must be a module-level function; ``shared`` must pickle with cloudpickle (else the
    items run here, serially, with a warning). ``on_done(i)`` is called here as item ``i``
    finishes. Items should come largest first.

    The :data:`TIMED_ITEMS` smallest items are computed here first; workers are started only when
    the work left is worth it (the fastest one's CPU time x the items left > ``WORKER_START_CPU_S``,
    what a worker spends importing before its first fit; the first item pays this process's lazy
    imports, and one more sample keeps a single slow one from deciding). This process then
    computes every item no worker has taken yet and waits for the (at most ``workers + 1``) items
    the workers hold."""
    n = len(items)
    results: dict[int, R] = {}

    def local(i: int) -> None:
        results[i] = work(shared, items[i])
        if on_done is not None:
            on_done(i)

    workers = min(check_jobs(n_jobs), n) - 1
    if n == 1:
        local(0)
        return [results[0]]
    with one_thread():
        cpu = []
        timed = min(TIMED_ITEMS, n)
        for i in range(n - 1, n - 1 - timed, -1):  # the smallest; the first pays this process's lazy imports
            start = time.thread_time()  # this thread's CPU: not a background thread's (MLflow's set-up)
            local(i)
            cpu.append(time.thread_time() - start)
        left = n - timed
        worth_it = min(cpu) * left > WORKER_START_CPU_S
        path = _dump(shared) if workers > 0 and worth_it and left > 0 else None
        if path is None:
            for i in range(left):
                local(i)
            return [results[i] for i in range(n)]
        try:
            _share(work, path, items[:left], workers, local, results, on_done)
        finally:
            path.unlink(missing_ok=True)
    return [results[i] for i in range(n)]


def _share(
    work: Callable[[Any, T], R],
    path: Path,
    items: Sequence[T],
    workers: int,
    local: Callable[[int], None],
    results: dict[int, R],
    on_done: Callable[[int], None] | None,
) -> None:
    """``items`` between ``workers`` processes (largest first) and this one (smallest first)."""
    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=workers, timeout=WORKER_IDLE_S, env=ONE_THREAD)
    futures = {i: executor.submit(_worker, str(path), work, item) for i, item in enumerate(items)}
    try:
        for i in sorted(futures, reverse=True) if TAKE_PART else ():  # what no worker has taken, smallest first
            if futures[i].cancel():
                local(i)
        for i, future in futures.items():
            if i not in results:
                results[i] = future.result()
                if on_done is not None:
                    on_done(i)
    finally:
        for future in futures.values():
            future.cancel()


def _dump(shared: Any) -> Path | None:
    """``shared`` cloudpickled to a private temporary file (None, with a warning, when it cannot be)."""
    import cloudpickle

    try:
        payload = cloudpickle.dumps(shared)
    except Exception as exc:  # a fit callable holding a lock, an open file, ...
        warnings.warn(f"parallel fits: running serially, the fit cannot be sent to a process ({exc})", stacklevel=3)
        return None
    fd, name = tempfile.mkstemp(prefix="pitwall-fits-", suffix=".pkl")  # 0600
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    return Path(name)


def _worker(path: str, work: Callable[[Any, T], R], item: T) -> R:
    """In a worker process: ``work(shared, item)``, ``shared`` read from ``path`` once."""
    if path not in _SHARED:
        import pickle

        _SHARED.clear()
        with open(path, "rb") as fh:
            _SHARED[path] = pickle.load(fh)
    with one_thread():
        return work(_SHARED[path], item)
