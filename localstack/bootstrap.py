"""Create Pitwall's buckets and platform tables in LocalStack (or any AWS-compatible endpoint).

Usage::

    .venv/bin/python localstack/bootstrap.py [--endpoint http://localhost:4566] [--stage local]

Names follow the deployed stacks: buckets ``pitwall-<stage>-<purpose>-<account>-<region>``, tables
``pitwall-<stage>-<table>`` (keys, indexes and TTL from :mod:`pitwall.platform.dynamo_tables`). Running it
again creates only what is missing. It prints the environment variables that point Pitwall at them.

LocalStack's free edition covers S3, DynamoDB, Lambda, Step Functions, API Gateway (keys checked,
quotas not) and EventBridge; SageMaker, Glue and Athena are not in it, so training, endpoints and SQL
stay on the offline local path there.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from pitwall.platform.dynamo_tables import TABLES, create_tables  # noqa: E402

BUCKET_PURPOSES = ("access-logs", "raw", "features", "models", "results", "mlflow")
DEFAULT_ENDPOINT = "http://localhost:4566"


@dataclass(frozen=True)
class Bootstrapped:
    buckets: list[str]
    tables: list[str]
    created: list[str]
    environment: dict[str, str]


def _client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def bootstrap(endpoint: str = DEFAULT_ENDPOINT, stage: str = "local", region: str = "us-east-1") -> Bootstrapped:
    """Create the stage's buckets and tables at ``endpoint``; returns names and the environment to use."""
    if not stage.isalnum() or not stage.islower():
        raise ValueError(f"stage must be lowercase letters/digits; got {stage!r}")
    account = _client("sts", endpoint, region).get_caller_identity()["Account"]
    s3 = _client("s3", endpoint, region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    buckets, created = [], []
    for purpose in BUCKET_PURPOSES:
        name = f"pitwall-{stage}-{purpose}-{account}-{region}"
        buckets.append(name)
        if name not in existing:
            try:
                s3.create_bucket(Bucket=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
            created.append(name)
    environment = {spec.env_var: f"pitwall-{stage}-{spec.logical_name}" for spec in TABLES.values()}
    previous = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        created += create_tables(_client("dynamodb", endpoint, region))
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    environment.update(
        {
            "PITWALL_BACKEND": "aws",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": region,
            # what pitwall.data.store_aws.AwsStore reads (the lake under lake/ of the raw bucket)
            "PITWALL_BUCKET": f"pitwall-{stage}-raw-{account}-{region}",
            "PITWALL_PREFIX": "lake",
            "PITWALL_GLUE_DATABASE": f"pitwall_{stage}",
            # BuildFeatures' manifests, training output / marketplace bundles
            "PITWALL_FEATURES_BUCKET": f"pitwall-{stage}-features-{account}-{region}",
            "PITWALL_MODELS_BUCKET": f"pitwall-{stage}-models-{account}-{region}",
        }
    )
    tables = [f"pitwall-{stage}-{spec.logical_name}" for spec in TABLES.values()]
    return Bootstrapped(buckets=buckets, tables=tables, created=created, environment=environment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT))
    parser.add_argument("--stage", default="local")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    try:
        result = bootstrap(args.endpoint, args.stage, args.region)
    except Exception as exc:  # noqa: BLE001 - a CLI: one clear line instead of a trace
        print(f"bootstrap failed against {args.endpoint}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"created: {', '.join(result.created) or 'nothing (all present)'}", file=sys.stderr)
    for key, value in result.environment.items():
        print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
