"""Least-privilege access helpers shared by the stacks: S3 objects by prefix, platform tables by name.

Buckets and tables are addressed by their stage names (``StageConfig.bucket_name`` /
``StageConfig.table_name``), so a grant never needs a cross-stack reference and every IAM resource in
the synthesized policies is an exact, readable ARN. Actions are always listed explicitly (no ``s3:*`` or
``s3:Get*`` style wildcards).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import StageConfig
from pitwall.platform.dynamo_tables import JOBS, MODELS, QUOTAS, TABLES, TENANTS, TableSpec

RAW, FEATURES, MODELS_BUCKET, ATHENA_RESULTS = "raw", "features", "models", "results"
LAKE_PREFIX = "lake"
"""The Store's lake (``pitwall.data.store_aws.AwsStore``) lives under ``s3://<raw bucket>/lake/``."""
MANIFESTS_PREFIX = "manifests/"
"""Per-job SageMaker manifests of the lake objects a training job reads (features bucket)."""

READ_OBJECTS = ["s3:GetObject"]
WRITE_OBJECTS = ["s3:PutObject", "s3:AbortMultipartUpload"]
DELETE_OBJECTS = ["s3:DeleteObject"]

DYNAMODB_READ = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"]
DYNAMODB_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]

# Tables each workflow Lambda reads (False) or writes (True), following the platform rules it calls.
STEP_TABLES: dict[str, dict[TableSpec, bool]] = {
    "validate_and_reserve_quota": {TENANTS: False, JOBS: False},
    "build_features": {JOBS: True},
    "evaluate_challenger": {MODELS: False},
    "register_model": {MODELS: True, JOBS: True},
    "deploy_model": {MODELS: True, QUOTAS: True, JOBS: True},
    "release_quota_and_record_failure": {QUOTAS: True, JOBS: True},
    "start_retraining": {TENANTS: False, MODELS: False, QUOTAS: True, JOBS: True},
}


def bucket_arn(scope: Construct, config: StageConfig, purpose: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:s3:::{config.bucket_name(purpose)}"


def grant_s3(
    grantee: iam.IGrantable,
    scope: Construct,
    config: StageConfig,
    purpose: str,
    *,
    prefix: str = "",
    read: bool = False,
    write: bool = False,
    delete: bool = False,
    list_objects: bool = False,
) -> None:
    """Object access to ``<bucket>/<prefix>*`` and, with ``list_objects``, listing of that prefix."""
    arn = bucket_arn(scope, config, purpose)
    actions = (READ_OBJECTS if read else []) + (WRITE_OBJECTS if write else []) + (DELETE_OBJECTS if delete else [])
    principal = grantee.grant_principal
    if actions:
        principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[f"{arn}/{prefix}*"]))
    if list_objects:
        statement = iam.PolicyStatement(actions=["s3:ListBucket"], resources=[arn])
        if prefix:
            statement.add_condition("StringLike", {"s3:prefix": [f"{prefix}*"]})
        principal.add_to_principal_policy(statement)


def store_environment(config: StageConfig) -> dict[str, str]:
    """The variables ``pitwall.data.store.get_store()`` reads for the S3/Glue/Athena Store."""
    return {
        "PITWALL_BUCKET": config.bucket_name(RAW),
        "PITWALL_PREFIX": LAKE_PREFIX,
        "PITWALL_GLUE_DATABASE": config.glue_database,
        "PITWALL_ATHENA_WORKGROUP": config.name("athena"),
    }


def table_environment(config: StageConfig) -> dict[str, str]:
    """``PITWALL_*_TABLE`` variables naming every platform table (the backend opens all of them)."""
    return {spec.env_var: config.table_name(spec) for spec in TABLES.values()}


def table_arn(scope: Construct, config: StageConfig, spec: TableSpec) -> str:
    """The ARN of a platform table from its stage name."""
    return cdk.Stack.of(scope).format_arn(service="dynamodb", resource="table", resource_name=config.table_name(spec))


def grant_tables(grantee: iam.IGrantable, scope: Construct, config: StageConfig, tables: dict[TableSpec, bool]) -> None:
    """Item-level access to ``tables`` and their declared indexes: read, plus write where True.

    Transactions (``TransactWriteItems``) are authorised by these per-item actions.
    """
    for write in (False, True):
        specs = [spec for spec, w in tables.items() if w is write]
        if not specs:
            continue
        resources = []
        for spec in specs:
            arn = table_arn(scope, config, spec)
            resources += [arn, *(f"{arn}/index/{index.name}" for index in spec.indexes)]
        actions = DYNAMODB_READ + (DYNAMODB_WRITE if write else [])
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
