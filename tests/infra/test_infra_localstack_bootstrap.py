"""localstack/bootstrap.py against an AWS-compatible endpoint (a moto server standing in for LocalStack)."""

from __future__ import annotations

import importlib.util
import socket
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto.server import ThreadedMotoServer

from pitwall.platform.dynamo_tables import TABLES

SCRIPT = Path(__file__).resolve().parents[2] / "localstack" / "bootstrap.py"


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pitwall_localstack_bootstrap", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto's backends live in this process: clear what earlier tests' mocks left behind
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    yield url
    server.stop()


def test_bootstrap_creates_buckets_and_tables_once(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()
    result = bootstrap.bootstrap(endpoint, stage="local")
    assert len(result.buckets) == len(bootstrap.BUCKET_PURPOSES)
    assert all(b.startswith("pitwall-local-") and b.endswith("-us-east-1") for b in result.buckets)
    assert sorted(result.created) == sorted(result.buckets + result.tables)

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == set(result.buckets)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    assert set(dynamodb.list_tables()["TableNames"]) == {f"pitwall-local-{name}" for name in TABLES}
    models = dynamodb.describe_table(TableName="pitwall-local-models")["Table"]
    assert [i["IndexName"] for i in models["GlobalSecondaryIndexes"]] == [i.name for i in TABLES["models"].indexes]

    assert bootstrap.bootstrap(endpoint, stage="local").created == []  # idempotent
    assert bootstrap.main(["--endpoint", endpoint, "--stage", "local"]) == 0
    out = capsys.readouterr().out
    assert "export PITWALL_MODELS_TABLE=pitwall-local-models" in out
    assert "export PITWALL_BACKEND=aws" in out


def test_bootstrap_reports_an_unreachable_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert bootstrap.main(["--endpoint", f"http://127.0.0.1:{port}"]) == 1
    assert "bootstrap failed against" in capsys.readouterr().err


def test_bootstrap_prints_only_variables_the_code_reads(endpoint: str) -> None:
    """Every PITWALL_* variable printed is read somewhere in pitwall/, functions/ or feature_jobs/."""
    result = load_bootstrap().bootstrap(endpoint, stage="local")
    root = SCRIPT.parents[1]
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("pitwall", "functions", "feature_jobs")
        for path in (root / folder).rglob("*.py")
    )
    printed = [key for key in result.environment if key.startswith("PITWALL_") and not key.endswith("_TABLE")]
    assert "PITWALL_BUCKET" in printed and "PITWALL_RAW_BUCKET" not in printed
    unread = [key for key in printed if f'"{key}"' not in sources and f"'{key}'" not in sources]
    assert unread == []
