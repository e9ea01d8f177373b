"""``pitwall market`` option parsing (no I/O)."""

from __future__ import annotations

import pytest
import typer

from pitwall.cli.market_cmds import _parse_metrics


def test_cli_metric_options() -> None:
    assert _parse_metrics(None) is None
    assert _parse_metrics(["acc=0.5", "log_loss = 0.2"]) == {"acc": 0.5, "log_loss": 0.2}
    for bad in (["acc"], ["=1"], ["acc=high"]):
        with pytest.raises(typer.BadParameter):
            _parse_metrics(bad)
