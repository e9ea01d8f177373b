"""pitwall.progress in notebooks: tqdm bars (or text lines without tqdm), per task, closed at their total."""

from __future__ import annotations

import io

from pitwall import progress
from pitwall.progress import NotebookBars, bars, report, show_in_notebook


def test_bars_draw_each_task_with_tqdm_and_close_at_the_total() -> None:
    out = io.StringIO()
    with bars(out) as listener:
        assert listener.uses_tqdm
        report("train rw", 1, 4, "evaluating on season 2024")
        report("tune xgboost", 3, 10, "best 0.41")
        report("train rw", 4, 4, "done")
        assert list(listener._bars) == ["tune xgboost"]  # train rw reached its total: closed
    text = out.getvalue()
    assert "train rw" in text and "4/4" in text and "tune xgboost" in text and "3/10" in text
    assert listener._bars == {}
    report("after the block", 1, 1)  # nobody listens any more
    assert "after the block" not in out.getvalue()


def test_text_lines_without_tqdm() -> None:
    out = io.StringIO()
    listener = NotebookBars(out, use_tqdm=False)
    listener("backtest 2024", 2, 24, "race 2024-02")
    listener("automl", 5, None, "")
    assert out.getvalue().splitlines() == ["backtest 2024: 2/24 race 2024-02", "automl: 5"]


def test_show_in_notebook_listens_outside_any_block_until_turned_off() -> None:
    out = io.StringIO()
    try:
        assert show_in_notebook(stream=out) is not None
        report("a later cell", 1, 2, "fitting")
        seen: list[tuple] = []
        with progress.listening(lambda *event: seen.append(event)):
            report("inside a block", 1, 1)  # the block's listener wins
        assert seen == [("inside a block", 1, 1, "")] and "inside a block" not in out.getvalue()
    finally:
        assert show_in_notebook(False) is None
    report("off again", 1, 1)
    assert "a later cell" in out.getvalue() and "off again" not in out.getvalue()
