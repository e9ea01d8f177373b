"""``pw.marketplace`` and ``pitwall market ...`` on a real model and local records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import pitwall as pw
from pitwall.cli import market_cmds
from pitwall.errors import Forbidden, NotFound, ValidationFailed
from pitwall.features import FeatureStore
from pitwall.platform import models
from pitwall.templates import get_template
from pitwall.training import TrainingResult


@pytest.fixture
def cli() -> Any:
    app = typer.Typer()
    market_cmds.register(app)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["market", *args], env={"COLUMNS": "250"})

    return run


def test_sdk_publish_discover_download_fork_rate_unpublish(
    h: Any, market_home: Path, winner_artifact: Path, lake: Any, tmp_path: Path
) -> None:
    record = h.register_artifact("sdk-author", "sdk-winner", winner_artifact, market_home)
    result = TrainingResult("race_winner", "sdk-winner", None, Path(record.artifact_uri), {}, {}, record=record)
    listing = pw.marketplace.publish(result, "SDK winner", "Shared from a notebook", reported_metrics={"f1": 0.4})
    assert (listing.author_tenant_id, listing.model_name, listing.model_version) == ("sdk-author", "sdk-winner", 1)
    with pytest.raises(ValidationFailed, match="registered"):
        pw.marketplace.publish(TrainingResult("race_winner", "x", None, tmp_path, {}, {}), "t", "d")

    assert [x.listing_id for x in pw.marketplace.list(author="sdk-author").items] == [listing.listing_id]
    card = pw.marketplace.show(listing.listing_id)
    assert card.verified_metrics == listing.verified_metrics and card.reported_metrics == {"f1": 0.4}

    folder = pw.marketplace.download(listing.listing_id, tmp_path / "model", tenant="sdk-user")
    frame = get_template("race_winner").frame(FeatureStore(lake), [2024])
    mine, theirs = pw.load_model(folder).predict_frame(frame), pw.load_model(winner_artifact).predict_frame(frame)
    assert np.allclose(mine["probability"], theirs["probability"])
    bundle = pw.marketplace.download(listing.listing_id, tmp_path / "b" / "m.zip", unpack=False, tenant="sdk-user")
    assert bundle.read_bytes()[:2] == b"PK" and not list(bundle.parent.glob(".*"))
    with pytest.raises(ValidationFailed, match="dest"):  # refused before downloading: not counted
        pw.marketplace.download(listing.listing_id, bundle, unpack=False, tenant="sdk-user")
    # sdk-user downloaded twice today: counted once (issue 18's rule)
    assert [(e.listing.listing_id, e.downloads_7d) for e in pw.marketplace.top()] == [(listing.listing_id, 1)]

    copy = pw.marketplace.fork(listing.listing_id, "my-winner", tenant="sdk-user")
    assert copy.forked_from is not None and copy.forked_from.tenant_id == "sdk-author"
    with pytest.raises(Forbidden):
        pw.marketplace.rate(listing.listing_id, 5, tenant="sdk-author")
    assert pw.marketplace.rate(listing.listing_id, 3, tenant="sdk-user").rating_avg == 3.0
    with pytest.raises(Forbidden):
        pw.marketplace.unpublish(listing.listing_id, tenant="sdk-user")
    pw.marketplace.unpublish(listing.listing_id, tenant="sdk-author")
    with pytest.raises(NotFound):
        pw.marketplace.show(listing.listing_id)
    assert pw.load_model(models.get_model("sdk-user", "my-winner").artifact_uri).features == card.features


def test_cli_market_commands(cli: Any, h: Any, market_home: Path, winner_artifact: Path) -> None:
    h.register_artifact("cli-author", "cli-winner", winner_artifact, market_home)

    refused = cli("publish", "cli-winner", "--title", "x" * 101, "--description", "d", "--tenant", "cli-author")
    assert refused.exit_code == 2 and "title" in refused.output
    published = cli(
        "publish", "cli-winner", "--title", "CLI [red]winner[/red]", "--description", "From the shell",
        "--metric", "top1_accuracy=0.7", "--tenant", "cli-author",
    )  # fmt: skip
    assert published.exit_code == 0, published.output
    lid = re.search(r"published (lst_[0-9a-f]+)", published.output).group(1)  # type: ignore[union-attr]
    assert "backtest_season=2024" in published.output

    listed = cli("list", "--author", "cli-author", "--sort", "rating")
    assert listed.exit_code == 0 and lid in listed.output
    assert "CLI [red]winner[/red]" in listed.output  # user text is printed as plain text, never markup
    assert cli("list", "--sort", "best").exit_code == 2

    shown = cli("show", lid)
    assert shown.exit_code == 0, shown.output
    assert (
        "CLI [red]winner[/red]" in shown.output
        and "From the shell" in shown.output
        and "feature importance" in shown.output
    )
    assert re.search(r"top1_accuracy\s.*\s0\.7\s", shown.output)  # the reported value beside the verified one

    forked = cli("fork", lid, "--name", "cli-copy", "--tenant", "cli-fan")
    assert forked.exit_code == 0 and "cli-copy" in forked.output
    assert models.get_model("cli-fan", "cli-copy").forked_from.listing_id == lid  # type: ignore[union-attr]
    assert cli("rate", lid, "5", "--tenant", "cli-author").exit_code == 2
    rated = cli("rate", lid, "4", "--tenant", "cli-fan")
    assert rated.exit_code == 0 and "average 4.00 from 1" in rated.output
    assert cli("rate", lid, "9", "--tenant", "cli-fan").exit_code == 2

    top = cli("top")
    assert top.exit_code == 0 and lid in top.output
    assert cli("unpublish", lid, "--tenant", "cli-fan").exit_code == 2
    assert cli("unpublish", lid, "--tenant", "cli-author").exit_code == 0
    gone = cli("show", lid)
    assert gone.exit_code == 2 and "not found" in gone.output
