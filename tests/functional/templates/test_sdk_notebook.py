"""The notebook SDK (`import pitwall as pw`) end to end on real data: train, deploy under a new
name, load back with identical predictions, share on the marketplace."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import pitwall as pw
from pitwall.data.store import LocalStore


def test_train_deploy_load_and_share(feature_lake: LocalStore, _isolated_home: Path) -> None:
    shutil.copytree(feature_lake.root, _isolated_home / "lake")
    model = pw.train("safety_car", seasons=[2021, 2022, 2023], algorithm="random_forest", track=False)
    assert model.version == 1 and "accuracy" in model.metrics and "accuracy" in model.baseline_metrics

    deployment = model.deploy(name="sc_live")
    assert (deployment.model, deployment.version) == ("sc_live", 1)

    rows = pw.race_features("safety_car", 2024, 5)
    loaded = pw.load("sc_live")
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))

    listing = model.share(title="Safety car from circuit history", description="random forest, 2021-2023")
    assert listing.title == "Safety car from circuit history"
    assert listing.verified_metrics  # Pitwall's own backtest at publish time
    found = pw.marketplace.list(text="Safety car")
    assert [item.listing_id for item in found.items] == [listing.listing_id]
