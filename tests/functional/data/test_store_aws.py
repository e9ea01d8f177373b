"""AwsStore (S3 + Glue + Athena) under moto, against LocalStore on the same real F1DB data.

Athena never executes SQL under moto: the tests check that the query reaches Athena with the
store's database and workgroup, and prove the SQL itself by running it with DuckDB over the
very parquet objects downloaded from the mocked bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from pitwall.data.ingest import ingest_f1db, ingest_frames
from pitwall.data.schema import TABLES
from pitwall.data.store import LocalStore, get_store, partition_key
from pitwall.data.store.aws import AwsStore

BUCKET = "pitwall-test-lake"
PREFIX = "lake"
DATABASE = "pitwall_test"
WORKGROUP = "pitwall-wg"
SEASON = 2023
RACES_QUERY = f'SELECT count(DISTINCT "round") AS races, count(*) AS entries FROM results WHERE season = {SEASON}'


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=BUCKET)
        session.client("athena").create_work_group(
            Name=WORKGROUP,
            Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena-results/"}},
        )
        yield session


@pytest.fixture(scope="module")
def local_2023(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("local-2023"))
    ingest_f1db(store, shared_data / "f1db", seasons=[SEASON])
    return store


@pytest.fixture
def store(aws: boto3.Session, shared_data: Path) -> AwsStore:
    """An AwsStore holding F1DB season 2023, ingested through the same code path as locally."""
    s = AwsStore(BUCKET, PREFIX, DATABASE, WORKGROUP, boto3_session=aws)
    report = ingest_f1db(s, shared_data / "f1db", seasons=[SEASON])
    assert len(report.races) == 22
    return s


def _objects(session: boto3.Session) -> dict[str, bytes]:
    s3 = session.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/"):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return out


def _download(session: boto3.Session, dest: Path) -> LocalStore:
    for key, body in _objects(session).items():
        path = dest / key.removeprefix(f"{PREFIX}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return LocalStore(dest)


def _partitions(session: boto3.Session, table: str) -> list[tuple[list[str], str]]:
    pages = session.client("glue").get_paginator("get_partitions").paginate(DatabaseName=DATABASE, TableName=table)
    parts = [p for page in pages for p in page["Partitions"]]
    return sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in parts)


def test_ingest_reads_back_like_local_store(store: AwsStore, local_2023: LocalStore) -> None:
    assert store._list_keys() == local_2023._list_keys()
    assert store.datasets() == local_2023.datasets()
    for dataset in local_2023.datasets():
        pd.testing.assert_frame_equal(store.read(dataset), local_2023.read(dataset), obj=dataset)
    assert store.seasons("results") == [SEASON]
    races = store.read("races", [SEASON])
    assert len(races) == 22 and races["round"].tolist() == list(range(1, 23))
    keys = _objects(store.session)
    assert f"{PREFIX}/results/season=2023/data.parquet" in keys and f"{PREFIX}/drivers/data.parquet" in keys
    assert not any("/_staging/" in k for k in keys)


def test_versions_are_etags_that_change_with_the_object(store: AwsStore) -> None:
    before = store.versions("results")
    assert list(before) == [partition_key("results", SEASON)] and all(before.values())
    assert store.versions("results") == before and store.versions("no_such_table") == {}
    assert store.versions("drivers") == {partition_key("drivers"): store.versions("drivers")[partition_key("drivers")]}
    results = store.read("results", [SEASON])
    store.replace_races(SEASON, [1], {"results": results[results["round"] == 1].head(3)})
    assert store.versions("results") != before
    assert store._list_keys("results/") == [partition_key("results", SEASON)]


def test_glue_tables_and_partitions(store: AwsStore, local_2023: LocalStore) -> None:
    glue = store.session.client("glue")
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert sorted(tables) == local_2023.datasets()
    for name, table in tables.items():
        spec = TABLES[name]
        columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
        keys = [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])]
        assert table["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/{PREFIX}/{name}/"
        if spec.race_scoped:
            assert keys == [("season", "int")]
            assert columns == [c for c in spec.column_names if c != "season"]
            assert _partitions(store.session, name) == [(["2023"], f"s3://{BUCKET}/{PREFIX}/{name}/season=2023/")]
        else:
            assert keys == [] and columns == spec.column_names
    types = {c["Name"]: c["Type"] for c in tables["results"]["StorageDescriptor"]["Columns"]}
    assert types["driver_id"] == "string" and types["position"] == "bigint" and types["points"] == "double"
    assert types["finished"] == "boolean"
    assert {c["Name"]: c["Type"] for c in tables["races"]["StorageDescriptor"]["Columns"]}["date"] == "timestamp"


def test_sql_goes_to_athena_and_the_same_sql_is_right_on_the_objects(
    store: AwsStore, local_2023: LocalStore, tmp_path: Path
) -> None:
    store.sql(RACES_QUERY)
    athena = store.session.client("athena")
    ids = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    submitted = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    ours = [q for q in submitted if RACES_QUERY in q["Query"]]
    assert len(ours) == 1
    assert ours[0]["QueryExecutionContext"]["Database"] == DATABASE and ours[0]["WorkGroup"] == WORKGROUP
    # the same SQL over the same objects, with DuckDB
    copy = _download(store.session, tmp_path / "copy")
    counted = copy.sql(RACES_QUERY)
    assert counted["races"].tolist() == [22]
    assert counted["entries"].tolist() == [len(local_2023.read("results"))]
    pd.testing.assert_frame_equal(counted, local_2023.sql(RACES_QUERY))


def test_reingest_of_one_race_is_idempotent(store: AwsStore, shared_data: Path) -> None:
    before = {ds: store.read(ds) for ds in store.datasets()}
    partitions = _partitions(store.session, "results")
    keys = store._list_keys()
    for _ in range(2):
        report = ingest_f1db(store, shared_data / "f1db", seasons=[SEASON], rounds=[5], force=True)
        assert report.races == [(SEASON, 5)]
        assert store._list_keys() == keys
        for ds, frame in before.items():
            pd.testing.assert_frame_equal(store.read(ds), frame, obj=ds)
    assert _partitions(store.session, "results") == partitions


def test_replacing_one_race_changes_only_that_race(store: AwsStore) -> None:
    results = store.read("results", [SEASON])
    race5 = results[results["round"] == 5].assign(points=0.0)
    ingest_frames(store, "test", SEASON, [5], {"results": race5})
    after = store.read("results", [SEASON])
    assert (after.loc[after["round"] == 5, "points"] == 0).all()
    others = results["round"] != 5
    pd.testing.assert_frame_equal(
        after[after["round"] != 5].reset_index(drop=True), results[others].reset_index(drop=True)
    )


def _changed_commit(store: AwsStore) -> dict[tuple[str, int | None], pd.DataFrame]:
    """A commit touching existing partitions plus one new season partition."""
    results = store.read("results", [SEASON]).assign(points=-1.0)
    races = store.read("races", [SEASON]).assign(official_name="CHANGED")
    return {
        ("results", 2022): results.assign(season=2022, race_id=results["race_id"].str.replace("2023", "2022")),
        ("results", SEASON): results,
        ("races", SEASON): races,
    }


def _fail_once(at: int | set[int], real: Any, name: str) -> Any:
    """``real`` with its ``at``-th call(s) failing (other calls, e.g. a rollback's, succeed)."""
    calls = {"n": 0}
    failing = {at} if isinstance(at, int) else at

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] in failing:
            raise ConnectionError(f"simulated S3 failure on {name} #{calls['n']}")
        return real(*args, **kwargs)

    return wrapper


def test_put_failure_mid_commit_leaves_objects_intact(store: AwsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _objects(store.session)
    commit = _changed_commit(store)
    monkeypatch.setattr(store.s3, "put_object", _fail_once(3, store.s3.put_object, "PUT"))
    with pytest.raises(ConnectionError, match="simulated S3 failure on PUT #3"):
        store.write_partitions(commit)
    assert _objects(store.session) == before  # nothing replaced, nothing staged left behind
    assert store.seasons("results") == [SEASON]


def test_copy_failure_mid_swap_restores_previous_objects(store: AwsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _objects(store.session)
    partitions = _partitions(store.session, "results")
    reads = {ds: store.read(ds) for ds in ("results", "races")}
    commit = _changed_commit(store)
    # copies: backup of results 2022 (none: NoSuchKey), results 2022 into place, backup of results 2023,
    # results 2023 into place, backup of races 2023, then races 2023 into place fails
    monkeypatch.setattr(store.s3, "copy_object", _fail_once(6, store.s3.copy_object, "COPY"))
    with pytest.raises(ConnectionError, match="simulated S3 failure on COPY #6"):
        store.write_partitions(commit)
    monkeypatch.undo()
    assert _objects(store.session) == before
    assert _partitions(store.session, "results") == partitions  # the new season's partition is gone again
    for ds, frame in reads.items():
        pd.testing.assert_frame_equal(store.read(ds), frame)
    assert store.seasons("results") == [SEASON]
    # and the same commit without failures goes through whole
    store.write_partitions(commit)
    assert store.seasons("results") == [2022, SEASON]
    assert (store.read("results", [SEASON])["points"] == -1).all()
    assert set(store.read("races")["official_name"]) == {"CHANGED"}
    assert _partitions(store.session, "results") == [
        (["2022"], f"s3://{BUCKET}/{PREFIX}/results/season=2022/"),
        (["2023"], f"s3://{BUCKET}/{PREFIX}/results/season=2023/"),
    ]


def test_failed_rollback_keeps_the_replaced_objects(store: AwsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _objects(store.session)
    commit = _changed_commit(store)
    # races 2023 fails to go into place (#6), then restoring it from its backup fails too (#7)
    monkeypatch.setattr(store.s3, "copy_object", _fail_once({6, 7}, store.s3.copy_object, "COPY"))
    with pytest.raises(RuntimeError, match="so did its rollback") as err:
        store.write_partitions(commit)
    monkeypatch.undo()
    kept = str(err.value).split("kept under s3://" + BUCKET + "/")[1].split(" ")[0]
    objects = _objects(store.session)
    # everything else was undone: the final objects are the previous ones, the new season is gone
    assert {k: v for k, v in objects.items() if "/_staging/" not in k} == before
    assert objects[kept + "results/season=2023/data.parquet"] == before[f"{PREFIX}/results/season=2023/data.parquet"]
    assert objects[kept + "races/season=2023/data.parquet"] == before[f"{PREFIX}/races/season=2023/data.parquet"]


def test_schema_change_recreates_the_table_with_all_partitions(aws: boto3.Session) -> None:
    store = AwsStore(BUCKET, PREFIX, DATABASE, WORKGROUP, boto3_session=aws)
    frame = pd.DataFrame({"season": [2022, 2022], "driver_id": ["a", "b"], "score": [1.0, 2.0]})
    store.write_partitions({("features_driver", 2022): frame})
    wider = frame.assign(season=2023, wins=pd.array([1, None], dtype="Int64"))
    store.write_partitions({("features_driver", 2023): wider})
    glue = aws.client("glue").get_table(DatabaseName=DATABASE, Name="features_driver")["Table"]
    assert [(c["Name"], c["Type"]) for c in glue["StorageDescriptor"]["Columns"]] == [
        ("driver_id", "string"),
        ("score", "double"),
        ("wins", "bigint"),
    ]
    assert [v for v, _ in _partitions(aws, "features_driver")] == [["2022"], ["2023"]]
    assert store.read("features_driver")["season"].tolist() == [2022, 2022, 2023, 2023]


def test_rejects_keys_outside_the_layout(aws: boto3.Session) -> None:
    store = AwsStore(BUCKET, PREFIX, DATABASE, WORKGROUP, boto3_session=aws)
    with pytest.raises(ValueError, match="key: 'Bad Name/data.parquet'"):
        store._commit({"Bad Name/data.parquet": pd.DataFrame({"a": [1]})})
    assert _objects(aws) == {}


def test_from_env_and_get_store(monkeypatch: pytest.MonkeyPatch, aws: boto3.Session) -> None:
    monkeypatch.delenv("PITWALL_BUCKET", raising=False)
    with pytest.raises(ValueError, match="PITWALL_BUCKET"):
        AwsStore.from_env()
    monkeypatch.setenv("PITWALL_BUCKET", BUCKET)
    monkeypatch.setenv("PITWALL_PREFIX", "/team/lake/")
    monkeypatch.setenv("PITWALL_GLUE_DATABASE", DATABASE)
    monkeypatch.setenv("PITWALL_ATHENA_WORKGROUP", WORKGROUP)
    monkeypatch.setenv("PITWALL_BACKEND", "aws")
    store = get_store()
    assert isinstance(store, AwsStore)
    assert (store.bucket, store.prefix, store.database, store.workgroup) == (BUCKET, "team/lake", DATABASE, WORKGROUP)
    assert store.uri(partition_key("results", 2023)) == f"s3://{BUCKET}/team/lake/results/season=2023/data.parquet"
    store.write_partitions({("drivers", None): pd.DataFrame({"driver_id": ["x"]})})
    assert list(_all_keys(aws)) == ["team/lake/drivers/data.parquet"]


def _all_keys(session: boto3.Session) -> list[str]:
    return [o["Key"] for o in session.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]
