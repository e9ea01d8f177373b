"""Backend-specific storage facts: SQLite file, restarts and processes; DynamoDB tables; factory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pitwall.platform import jobs, keys, quotas
from pitwall.platform.backend import clear_backend_cache, get_backend
from pitwall.platform.dynamo_backend import DynamoBackend
from pitwall.platform.dynamo_tables import MODELS, TABLES, create_table_request, create_tables, table_name
from pitwall.platform.records import Principal
from pitwall.platform.sqlite_backend import SqliteBackend

REPO = Path(__file__).resolve().parents[3]


def test_sqlite_records_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    first = SqliteBackend(path)
    plaintext = keys.create_key("acme", "free", backend=first)
    submitted = jobs.submit_job(Principal("acme", "free"), model_name="w", template="race_winner", backend=first)
    first.close()

    second = SqliteBackend(path)
    assert keys.authenticate(plaintext, backend=second).tenant_id == "acme"
    assert jobs.get_job("acme", submitted.job.job_id, backend=second) == submitted.job
    assert second._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second.close()


_WORKER = """
import json, sys
from datetime import datetime, UTC
from pathlib import Path
from pitwall.errors import QuotaExceeded
from pitwall.platform import quotas
from pitwall.platform.records import Principal
from pitwall.platform.sqlite_backend import SqliteBackend

backend = SqliteBackend(Path(sys.argv[1]))
now = datetime(2026, 3, 1, 12, tzinfo=UTC)
accepted = 0
for _ in range(5):
    try:
        quotas.reserve_training_job(Principal("shared", "free"), now=now, backend=backend)
        accepted += 1
    except QuotaExceeded:
        pass
print(json.dumps(accepted))
"""


def test_sqlite_quota_is_exact_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "platform.db"
    SqliteBackend(path).close()
    env = os.environ | {"PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    accepted = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(accepted) == 5
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert quotas.used_today("shared", quotas.TRAINING_JOBS, now=now, backend=SqliteBackend(path)) == 5


def test_get_backend_local_uses_pitwall_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PITWALL_BACKEND", raising=False)
    clear_backend_cache()
    backend = get_backend()
    assert isinstance(backend, SqliteBackend)
    assert backend.path == tmp_path / "home" / "platform.db"
    assert get_backend() is backend
    keys.create_key("acme", "pro")  # the default backend is used when none is passed
    assert (tmp_path / "home" / "platform.db").exists()
    assert backend.get_tenant("acme") is not None
    monkeypatch.setenv("PITWALL_BACKEND", "cassandra")
    with pytest.raises(ValueError, match="PITWALL_BACKEND"):
        get_backend()
    clear_backend_cache()


def test_get_backend_aws_uses_the_named_tables(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    monkeypatch.setenv("PITWALL_BACKEND", "aws")
    monkeypatch.setenv("PITWALL_MODELS_TABLE", "dev-models")
    clear_backend_cache()
    with mock_aws():
        created = create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        assert "dev-models" in created and "pitwall-tenants" in created
        backend = get_backend()
        assert isinstance(backend, DynamoBackend) and backend.models_table == "dev-models"
        plaintext = keys.create_key("acme", "free")
        assert keys.authenticate(plaintext).tier == "free"
    clear_backend_cache()


def test_create_tables_matches_the_declared_schema(aws_env: None) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        assert sorted(create_tables(client)) == sorted(table_name(t) for t in TABLES.values())
        assert create_tables(client) == []  # idempotent
        for spec in TABLES.values():
            described = client.describe_table(TableName=table_name(spec))["Table"]
            keys_ = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
            assert keys_ == {"HASH": "pk", "RANGE": "sk"}
            assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
            indexes = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
            assert indexes == {i.name for i in spec.indexes}
            ttl = client.describe_time_to_live(TableName=table_name(spec))["TimeToLiveDescription"]
            if spec.ttl_attribute:
                assert ttl["AttributeName"] == spec.ttl_attribute and ttl["TimeToLiveStatus"] == "ENABLED"
    request = create_table_request(MODELS)
    assert request["GlobalSecondaryIndexes"][0]["KeySchema"][0]["AttributeName"] == "auto_retrain_pk"


def test_platform_imports_stay_lean_for_the_api_lambda() -> None:
    """The API Lambda imports the platform layer: it must not drag in data/ML libraries."""
    code = (
        "import sys, pitwall.errors, pitwall.platform.keys, pitwall.platform.quotas, pitwall.platform.models, "
        "pitwall.platform.jobs, pitwall.marketplace.rules, pitwall.platform.dynamo_backend, "
        "pitwall.platform.sqlite_backend, pitwall.platform.dynamo_tables\n"
        "heavy = {'pandas', 'numpy', 'pyarrow', 'duckdb', 'xgboost', 'lightgbm', 'sklearn', 'mlflow', 'optuna'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    env = os.environ | {"PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_sqlite_model_reads_follow_every_writer(tmp_path: Path) -> None:
    """get_model keeps what a connection read until the database changes: a deploy by another
    backend on the same file (another process's connection), or by this one, is seen at once."""
    from pitwall.platform import models
    from tests.functional.platform.conftest import model_fields

    path = tmp_path / "platform.db"
    server, cli = SqliteBackend(path), SqliteBackend(path)
    models.register_model("acme", "w", backend=cli, **model_fields())
    assert models.get_model("acme", "w", backend=server).deployed_version is None
    assert models.get_model("acme", "w", backend=server).deployed_version is None  # the kept read

    models.deploy_model(Principal("acme", "pro"), "w", backend=cli)  # another connection commits
    assert models.get_model("acme", "w", backend=server).deployed_version == 1
    models.register_model("acme", "w", backend=server, **model_fields(metrics={"log_loss": 0.2}))
    assert models.get_model("acme", "w", backend=server).version == 2  # its own commit
    models.undeploy_model("acme", "w", backend=server)
    assert models.get_model("acme", "w", version=1, backend=server).deployed_version is None
    models.delete_model("acme", "w", backend=cli)
    with pytest.raises(Exception, match="w"):
        models.get_model("acme", "w", backend=server)
    server.close()
    cli.close()
