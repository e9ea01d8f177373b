"""LocalStore listing, versions and reads through the Store API (real F1DB data, temp folders)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pitwall.data.store import LocalStore, partition_key


@pytest.fixture()
def store(tmp_path: Path, shared_data: Path) -> LocalStore:
    from pitwall.data.ingest import ingest_f1db

    s = LocalStore(tmp_path / "lake")
    ingest_f1db(s, shared_data / "f1db", seasons=[2022, 2023, 2024])
    return s


def test_listing_follows_the_layout_only(store: LocalStore) -> None:
    stray = store.root / "results" / "season=2023" / "notes.txt"
    stray.write_text("not data")
    (store.root / ".staging" / "x" / "races" / "season=2020").mkdir(parents=True)
    (store.root / ".staging" / "x" / "races" / "season=2020" / "data.parquet").write_bytes(b"")
    assert store.seasons("races") == [2022, 2023, 2024]
    assert store.seasons("drivers") == [] and store.seasons("no_such_table") == []
    assert {"races", "results", "drivers"} <= set(store.datasets())
    keys = store._list_keys()
    assert partition_key("drivers") in keys and partition_key("results", 2023) in keys
    assert all(not k.startswith(".") and k.endswith("/data.parquet") for k in keys)
    assert store._list_keys("results/") == [partition_key("results", s) for s in (2022, 2023, 2024)]


def test_versions_change_exactly_when_a_partition_is_rewritten(store: LocalStore) -> None:
    before = store.versions("results")
    assert list(before) == [partition_key("results", s) for s in (2022, 2023, 2024)]
    assert store.versions("results") == before
    df = store.read("results", [2023])
    store.replace_races(2023, [1], {"results": df[df["round"] == 1]})
    after = store.versions("results")
    assert after[partition_key("results", 2023)] != before[partition_key("results", 2023)]
    assert {k: v for k, v in after.items() if "2023" not in k} == {k: v for k, v in before.items() if "2023" not in k}


def test_read_concatenates_partitions_and_keeps_the_schema(store: LocalStore) -> None:
    both = store.read("results", [2024, 2023, 1999])  # order and unknown seasons do not matter
    one = [store.read("results", [s]) for s in (2023, 2024)]
    pd.testing.assert_frame_equal(both, pd.concat(one, ignore_index=True))
    assert sorted(both["season"].unique()) == [2023, 2024]
    assert str(both["position"].dtype) == "Int64"
    assert store.read("results", []).empty
    assert len(store.read("results")) == len(both) + len(store.read("results", [2022]))


def test_feature_inputs_read_through_the_store_api(store: LocalStore) -> None:
    from pitwall.features.inputs import INPUT_TABLES, input_fingerprint, read_dataset

    fingerprint = input_fingerprint(store)
    assert fingerprint == input_fingerprint(store)
    assert {k.split("/", 1)[0] for k, _ in fingerprint} <= set(INPUT_TABLES)
    laps = read_dataset(store, "laps")  # no FastF1 laps ingested: an empty frame with the laps schema
    assert laps.empty and "lap_number" in laps.columns
    races = store.read("races", [2024])
    store.replace_races(2024, [1], {"races": races[races["round"] == 1]})
    assert input_fingerprint(store) != fingerprint
