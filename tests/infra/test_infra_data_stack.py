"""Data stack: encrypted, private, TLS-only buckets with lifecycle rules and access logs; Glue tables
from the canonical schema partitioned by season; a capped Athena workgroup."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from infra.config import StageConfig
from infra.stacks.data_stack import ATHENA_BYTES_SCANNED_CUTOFF, GLUE_TYPES, DataStack
from pitwall.data.schema import TABLES
from tests.infra.conftest import NO_BUNDLING, SynthesizedApp


def test_every_bucket_is_encrypted_private_and_versioned_where_needed(synthesized: SynthesizedApp) -> None:
    buckets = synthesized.resources("data", "AWS::S3::Bucket")
    assert len(buckets) == 5  # access logs, raw, features, models, athena results
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "AES256"
        }
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["LifecycleConfiguration"]["Rules"], "every bucket has lifecycle rules"
        assert bucket["DeletionPolicy"] == "Delete"  # dev stage
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(logged) == 4  # every bucket but the access-logs bucket itself


def test_every_bucket_refuses_plain_http(synthesized: SynthesizedApp) -> None:
    policies = synthesized.resources("data", "AWS::S3::BucketPolicy")
    assert len(policies) == 5
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_glue_tables_follow_the_canonical_schema(synthesized: SynthesizedApp) -> None:
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in synthesized.resources("data", "AWS::Glue::Table").values()
    }
    assert set(tables) == set(TABLES)
    for name, spec in TABLES.items():
        table = tables[name]
        columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
        expected = [
            (c.name, GLUE_TYPES[c.dtype]) for c in spec.columns if not (spec.race_scoped and c.name == "season")
        ]
        assert columns == expected, name
        if spec.race_scoped:
            assert table["PartitionKeys"] == [{"Name": "season", "Type": "int", "Comment": "championship year"}]
            assert table["Parameters"]["projection.enabled"] == "true"
        else:
            assert "PartitionKeys" not in table
    results = tables["results"]["StorageDescriptor"]
    assert results["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert results["Location"]["Fn::Join"][1][-1] == "/lake/results/"  # the AwsStore lake layout


def test_athena_workgroup_caps_bytes_scanned_and_encrypts_results(synthesized: SynthesizedApp) -> None:
    synthesized.template("data").has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "pitwall-dev-athena",
            "WorkGroupConfiguration": {
                "BytesScannedCutoffPerQuery": ATHENA_BYTES_SCANNED_CUTOFF,
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {"EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}},
            },
        },
    )


def _prod_data_template() -> dict[str, Any]:
    app = cdk.App(context=NO_BUNDLING)
    stack = DataStack(app, "pitwall-prod-data", config=StageConfig(stage="prod"))
    return Template.from_stack(stack).to_json()


def test_prod_retains_data_and_dev_destroys_it(synthesized: SynthesizedApp) -> None:
    prod = _prod_data_template()
    for resource in prod["Resources"].values():
        if resource["Type"] in ("AWS::S3::Bucket", "AWS::Athena::WorkGroup"):
            assert resource["DeletionPolicy"] == "Retain", resource["Type"]
    assert not [r for r in prod["Resources"].values() if r["Type"] == "Custom::S3AutoDeleteObjects"]
    dev = synthesized.templates["data"]["Resources"]
    assert [r for r in dev.values() if r["Type"] == "Custom::S3AutoDeleteObjects"]
    synthesized.template("data").has_resource("AWS::Athena::WorkGroup", {"DeletionPolicy": "Delete"})
    synthesized.template("data").has_resource_properties(
        "AWS::S3::Bucket", {"BucketName": Match.object_like({"Fn::Join": Match.any_value()})}
    )
