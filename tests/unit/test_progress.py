"""pitwall.progress: reports reach the listener of the current context only."""

from __future__ import annotations

import threading

from pitwall.progress import listening, report


def test_reports_reach_the_listener_and_stop_with_the_block() -> None:
    seen: list[tuple] = []
    report("nobody listens", 1, 2)  # a no-op without a listener
    with listening(lambda *event: seen.append(event)):
        report("train x", 1, 4, "fitting")
        with listening(lambda *event: seen.append(("inner", *event))):
            report("backtest 2024", 3, 24)
        report("train x", 4, 4)
    report("train x", 5, 5)
    assert seen == [("train x", 1, 4, "fitting"), ("inner", "backtest 2024", 3, 24, ""), ("train x", 4, 4, "")]


def test_other_threads_are_not_reported() -> None:
    seen: list[tuple] = []
    with listening(lambda *event: seen.append(event)):
        worker = threading.Thread(target=report, args=("a server's job", 1, 1))
        worker.start()
        worker.join()
    assert seen == []
