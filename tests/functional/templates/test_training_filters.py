"""The wizard's row filters (circuits, drivers, teams) reach the training rows, on real data."""

from __future__ import annotations

import pytest

from pitwall.errors import ValidationFailed
from pitwall.training import train_template


def test_circuit_and_driver_filters_choose_the_training_rows(feature_lake) -> None:
    common = dict(seasons=[2022, 2023], store=feature_lake, register=False, track=False)
    everywhere = train_template("pit_stop_duration", **common)
    monaco = train_template("pit_stop_duration", circuits=["monaco", "silverstone"], **common)
    assert monaco.model.data_window["rows"] < everywhere.model.data_window["rows"] / 5
    assert monaco.model.data_window["races"] == 4  # Monaco and Silverstone, 2022 and 2023
    assert monaco.evaluated_on.startswith("season 2023 (2 races")
    one = train_template("pit_stop_duration", drivers=["charles-leclerc"], **common)
    assert one.model.data_window["rows"] < everywhere.model.data_window["rows"] / 10
    with pytest.raises(ValidationFailed) as caught:
        train_template("pit_stop_duration", circuits=["atlantis"], **common)
    assert caught.value.field == "circuits" and "atlantis" in caught.value.message
