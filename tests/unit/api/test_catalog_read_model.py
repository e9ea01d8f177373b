"""The data catalogue read-model (``pitwall.data.catalog``): what the builder derives from a lake, which
objects a rebuild re-reads, and how the reader picks stored or rebuilt documents (an in-memory store,
no I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from pitwall.data import catalog as cat
from pitwall.data.store import parse_key, partition_key


class MemoryStore:
    """The Store methods the catalogue uses, over frames in memory; counts object reads."""

    def __init__(self, objects: Mapping[str, pd.DataFrame]) -> None:
        self.objects = dict(objects)
        self.tokens = {key: "v1" for key in objects}
        self.reads: list[str] = []

    def put(self, key: str, frame: pd.DataFrame) -> None:
        self.objects[key] = frame
        self.tokens[key] = f"v{int(self.tokens.get(key, 'v0')[1:]) + 1}"

    def datasets(self) -> list[str]:
        return sorted({p.dataset for k in self.objects if (p := parse_key(k))})

    def versions(self, dataset: str) -> dict[str, str]:
        return {k: v for k, v in self.tokens.items() if k.startswith(f"{dataset}/")}

    def seasons(self, dataset: str) -> list[int]:
        return sorted({p.season for k in self.objects if (p := parse_key(k)) and p.dataset == dataset and p.season})

    def _read_table(self, key: str) -> pa.Table | None:
        self.reads.append(key)
        frame = self.objects.get(key)
        return None if frame is None else pa.Table.from_pandas(frame, preserve_index=False)

    def read(self, dataset: str, seasons: Iterable[int] | None = None) -> pd.DataFrame:
        keys = [k for k in self.objects if (p := parse_key(k)) and p.dataset == dataset]
        if seasons is not None:
            keys = [k for k in keys if parse_key(k).season in set(seasons)]  # type: ignore[union-attr]
        frames = [self.objects[k] for k in sorted(keys)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class MemoryDocuments:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.puts: list[str] = []

    def get(self, name: str) -> dict[str, Any] | None:
        return self.docs.get(name)

    def put(self, name: str, document: Mapping[str, Any]) -> None:
        self.docs[name] = dict(document)
        self.puts.append(name)


def _race(season: int, rnd: int, gp: str, circuit: str, date: str) -> dict[str, Any]:
    return {
        "race_id": f"{season}-{rnd:02d}",
        "season": season,
        "round": rnd,
        "grand_prix_id": gp,
        "official_name": f"{gp} grand prix {season}",
        "circuit_id": circuit,
        "date": pd.Timestamp(date),
    }


def _result(race_id: str, order: int, driver: str, team: str, position: float, grid: float) -> dict[str, Any]:
    season, rnd = (int(x) for x in race_id.split("-"))
    text = str(int(position)) if not math.isnan(position) else "DNF"
    return {
        "race_id": race_id,
        "season": season,
        "round": rnd,
        "position_order": order,
        "position": position,
        "position_text": text,
        "driver_id": driver,
        "constructor_id": team,
        "grid_position": grid,
        "points": 25.0 if order == 1 else 0.0,
    }


@pytest.fixture
def store() -> MemoryStore:
    # 2020 had two races at the Red Bull Ring under two grand prix names, and two at Silverstone under
    # one name twice would be ambiguous: the builder must only give '<gp>_<season>' to unique ones.
    races_2020 = pd.DataFrame(
        [
            _race(2020, 1, "austria", "spielberg", "2020-07-05"),
            _race(2020, 2, "styria", "spielberg", "2020-07-12"),
            _race(2020, 3, "great-britain", "silverstone", "2020-08-02"),
            _race(2020, 4, "great-britain", "silverstone", "2020-08-09"),
        ]
    )
    races_2024 = pd.DataFrame([_race(2024, 8, "monaco", "monaco", "2024-05-26")])
    nan = float("nan")
    results_2020 = pd.DataFrame(
        [
            _result("2020-01", 2, "lando-norris", "mclaren", 3.0, 3.0),
            _result("2020-01", 1, "valtteri-bottas", "mercedes", 1.0, 1.0),
            _result("2020-01", 3, "max-verstappen", "red-bull", nan, 2.0),
        ]
    )
    results_2024 = pd.DataFrame(
        [
            _result("2024-08", 1, "charles-leclerc", "ferrari", 1.0, 1.0),
            _result("2024-08", 2, "oscar-piastri", "mclaren", 2.0, 2.0),
        ]
    )
    drivers = pd.DataFrame(
        {
            "driver_id": ["charles-leclerc", "oscar-piastri", "lando-norris", "valtteri-bottas", "max-verstappen"],
            "name": ["Charles Leclerc", "Oscar Piastri", "Lando Norris", "Valtteri Bottas", "Max Verstappen"],
        }
    )
    constructors = pd.DataFrame({"constructor_id": ["ferrari", "mclaren"], "name": ["Ferrari", "McLaren"]})
    circuits = pd.DataFrame(
        {
            "circuit_id": ["spielberg", "silverstone", "monaco"],
            "name": ["Red Bull Ring", "Silverstone", "Monaco"],
            "country_id": ["austria", "united-kingdom", "monaco"],
        }
    )
    return MemoryStore(
        {
            partition_key("races", 2020): races_2020,
            partition_key("races", 2024): races_2024,
            partition_key("results", 2020): results_2020,
            partition_key("results", 2024): results_2024,
            partition_key("drivers"): drivers,
            partition_key("constructors"): constructors,
            partition_key("circuits"): circuits,
        }
    )


def test_races_are_named_unambiguously_and_say_whether_they_have_results(store: MemoryStore) -> None:
    races = cat.build_catalog(store)[cat.RACES]["races"]
    assert [r["race_id"] for r in races] == ["2020-01", "2020-02", "2020-03", "2020-04", "2024-08"]
    refs = {r["race_id"]: r["ref"] for r in races}
    assert refs["2020-01"] == "austria_2020" and refs["2024-08"] == "monaco_2024"
    assert refs["2020-03"] == "2020-03" and refs["2020-04"] == "2020-04"  # two great-britain races in 2020
    assert {r["race_id"] for r in races if r["has_results"]} == {"2020-01", "2024-08"}
    assert races[-1]["date"] == "2024-05-26" and races[-1]["circuit_id"] == "monaco"


def test_circuits_count_their_races_and_seasons(store: MemoryStore) -> None:
    circuits = cat.build_catalog(store)[cat.CIRCUITS]["circuits"]
    assert [c["name"] for c in circuits] == sorted(c["name"] for c in circuits)
    spielberg = next(c for c in circuits if c["circuit_id"] == "spielberg")
    assert (spielberg["name"], spielberg["races"], spielberg["first_season"], spielberg["last_season"]) == (
        "Red Bull Ring",
        2,
        2020,
        2020,
    )


def test_entrants_are_the_drivers_and_teams_with_results_latest_first(store: MemoryStore) -> None:
    entrants = cat.build_catalog(store)[cat.ENTRANTS]
    drivers = entrants["drivers"]
    assert {d["id"] for d in drivers} == {
        "charles-leclerc",
        "oscar-piastri",
        "lando-norris",
        "valtteri-bottas",
        "max-verstappen",
    }
    assert [d["last_season"] for d in drivers] == sorted((d["last_season"] for d in drivers), reverse=True)
    mclaren = next(c for c in entrants["constructors"] if c["id"] == "mclaren")
    assert (mclaren["name"], mclaren["last_season"]) == ("McLaren", 2024)
    red_bull = next(c for c in entrants["constructors"] if c["id"] == "red-bull")
    assert red_bull["name"] == "red-bull"  # no reference row: the id stands in for the name


def test_race_results_are_in_classified_order_with_nulls_for_missing_values(store: MemoryStore) -> None:
    doc = cat.build_catalog(store)[cat.results_name(2020)]
    rows = doc["races"]["2020-01"]
    assert [r["driver_id"] for r in rows] == ["valtteri-bottas", "lando-norris", "max-verstappen"]
    assert rows[0]["driver_name"] == "Valtteri Bottas" and rows[0]["points"] == 25.0
    assert rows[2]["position"] is None and rows[2]["position_text"] == "DNF" and rows[2]["grid_position"] == 2


def test_status_counts_rows_races_and_seasons_per_dataset(store: MemoryStore) -> None:
    status = cat.build_catalog(store, now="2026-01-01T00:00:00+00:00")[cat.STATUS]
    by_name = {d["dataset"]: d for d in status["datasets"]}
    assert by_name["drivers"] == {"dataset": "drivers", "seasons": [], "races": None, "rows": 5}
    assert by_name["races"] == {"dataset": "races", "seasons": [2020, 2024], "races": 5, "rows": 5}
    assert by_name["results"] == {"dataset": "results", "seasons": [2020, 2024], "races": 2, "rows": 5}
    assert (status["seasons"], status["races"]) == ([2020, 2024], 2)
    assert status["last_ingest"] == "2026-01-01T00:00:00+00:00"


def test_a_rebuild_rereads_only_the_objects_that_changed(store: MemoryStore) -> None:
    first = cat.build_catalog(store, now="2026-01-01T00:00:00+00:00")
    store.reads.clear()
    again = cat.build_catalog(store, first[cat.PARTITIONS], now="2026-01-02T00:00:00+00:00")
    assert store.reads == []  # counts reused; the tables the documents need are read through read()
    assert again[cat.STATUS]["last_ingest"] == "2026-01-01T00:00:00+00:00"
    frame = store.objects[partition_key("results", 2024)]
    store.put(partition_key("results", 2024), frame.iloc[:1])
    store.reads.clear()
    changed = cat.build_catalog(store, again[cat.PARTITIONS], now="2026-01-03T00:00:00+00:00")
    assert store.reads == [partition_key("results", 2024)]
    assert changed[cat.STATUS]["last_ingest"] == "2026-01-03T00:00:00+00:00"
    assert next(d for d in changed[cat.STATUS]["datasets"] if d["dataset"] == "results")["rows"] == 4


def test_only_seasons_with_changed_results_get_new_result_documents(store: MemoryStore) -> None:
    documents = MemoryDocuments()
    written = cat.write_catalog(store, documents)
    assert {cat.results_name(2020), cat.results_name(2024)} <= set(written) and written[-1] == cat.STATUS
    versions = cat.lake_versions(store)
    assert cat.changed_result_seasons(versions, None) is None
    assert cat.changed_result_seasons(versions, documents.get(cat.PARTITIONS)) == []
    store.put(partition_key("results", 2024), store.objects[partition_key("results", 2024)])
    assert cat.changed_result_seasons(cat.lake_versions(store), documents.get(cat.PARTITIONS)) == [2024]
    written = cat.write_catalog(store, documents)
    assert cat.results_name(2024) in written and cat.results_name(2020) not in written
    store.put(partition_key("drivers"), store.objects[partition_key("drivers")])  # names may have changed
    assert cat.changed_result_seasons(cat.lake_versions(store), documents.get(cat.PARTITIONS)) is None


def test_the_reader_trusts_fresh_documents_and_rebuilds_stale_ones_in_memory(store: MemoryStore) -> None:
    documents = MemoryDocuments()
    cat.write_catalog(store, documents, now="2026-01-01T00:00:00+00:00")
    stored = {name: dict(doc) for name, doc in documents.docs.items()}
    fresh = cat.CatalogReader(documents, store)
    assert fresh.status() == stored[cat.STATUS] and fresh.races() == stored[cat.RACES]["races"]
    store.put(partition_key("results", 2024), store.objects[partition_key("results", 2024)].iloc[:1])
    documents.puts.clear()
    stale = cat.CatalogReader(documents, store)
    assert stale.status()["fingerprint"] == cat.fingerprint(cat.lake_versions(store))
    assert len(stale.results(2024, "2024-08")) == 1
    assert documents.puts == []  # reading never writes
    lean = cat.CatalogReader(documents)  # no Store (the lean Lambda): what the last ingest wrote
    assert lean.status() == stored[cat.STATUS] and len(lean.results(2024, "2024-08")) == 2


def test_a_lake_without_documents_reads_as_empty() -> None:
    lean = cat.CatalogReader(MemoryDocuments())
    assert (lean.status()["datasets"], lean.status()["races"], lean.status()["last_ingest"]) == ([], 0, None)
    assert lean.races() == [] and lean.circuits() == [] and lean.results(2024, "2024-08") == []
    assert lean.entrants() == {"drivers": [], "constructors": []}


def test_only_a_local_lake_is_checked_for_staleness() -> None:
    from pathlib import Path
    from types import SimpleNamespace

    local = SimpleNamespace(root=Path("lake-that-is-never-read"))
    on_s3 = SimpleNamespace(bucket="pitwall-lake", prefix="lake", s3=object())
    assert cat.reader(lambda: local).store is local
    cloud = cat.reader(lambda: on_s3)
    assert cloud.store is None and isinstance(cloud.documents, cat.S3Documents)
    assert (cloud.documents.bucket, cloud.documents.prefix) == ("pitwall-lake", "lake")
