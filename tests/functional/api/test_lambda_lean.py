"""The cloud path stays lean: serving requests with ``PITWALL_BACKEND=aws`` never imports
pandas, numpy or ML libraries (the Lambda bundle has none of them; see
``functions/api/requirements.txt``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pitwall.config import REPO_ROOT

SCRIPT = r"""
import json, sys
import boto3
from moto import mock_aws

with mock_aws():
    from pitwall.platform.dynamo_tables import create_tables
    create_tables(boto3.client("dynamodb"))
    from chalice.test import Client
    sys.path.insert(0, "functions/api")  # the Lambda bundle's root: handler app.app
    import app as lambda_entry
    from pitwall.platform import keys, models
    key = keys.create_key("acme", "free")
    models.register_model("acme", "rw", template="race_winner", task="ranking", algorithm="xgboost",
        features=["start_position"], target="position", data_window={}, metrics={}, baseline_metrics={},
        artifact_uri="s3://b/acme/rw/1/model.tar.gz", sha256="ab" * 32)
    client = Client(lambda_entry.app)
    headers = {"x-api-key": key, "content-type": "application/json"}
    statuses = [
        client.http.get("/api/v1/health").status_code,
        client.http.get("/api/v1/openapi.json").status_code,
        client.http.get("/api/v1/models", headers=headers).status_code,
        client.http.get("/api/v1/models/rw", headers=headers).status_code,
        client.http.post("/api/v1/models/rw/deploy", headers=headers).status_code,
        client.http.post("/api/v1/predict/rw", headers=headers, body=b'{"race": "monaco_2024"}').status_code,
        client.http.post("/api/v1/predict/rw", headers=headers, body=b'{"race": 1}').status_code,
        client.http.get("/api/v1/jobs", headers=headers).status_code,
        client.http.get("/api/v1/experiments", headers=headers).status_code,
        client.http.get("/api/v1/marketplace/listings", headers=headers).status_code,
        client.http.get("/api/v1/marketplace/top", headers=headers).status_code,
    ]
heavy = [m for m in ("pandas", "numpy", "xgboost", "sklearn", "lightgbm", "pyarrow", "duckdb", "mlflow")
         if m in sys.modules]
print(json.dumps({"statuses": statuses, "heavy": heavy}))
"""


def test_aws_request_path_imports_no_heavy_libraries() -> None:
    env = {
        **os.environ,
        "PITWALL_BACKEND": "aws",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PITWALL_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sm",
        "PITWALL_INFERENCE_IMAGE": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pitwall:1",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # predict reaches the endpoint (moto's canned non-JSON answer -> 502); bad input -> 400
    assert result["statuses"] == [200, 200, 200, 200, 200, 502, 400, 200, 200, 200, 200]
    assert result["heavy"] == []
