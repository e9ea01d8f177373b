"""cdk-nag: the shared app synthesizes with AwsSolutions checks on (any unacknowledged finding raises),
every acknowledgement carries a reason, and an unjustified wildcard is not acknowledged."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from infra.nag import apply_suppressions, justify, wildcard_findings
from tests.infra.conftest import NO_BUNDLING, SynthesizedApp


def test_app_passes_aws_solutions_checks(synthesized: SynthesizedApp) -> None:
    # the session fixture called app.synth() with AwsSolutionsChecks: it raises on any unacknowledged error
    acknowledged = [a for stack in synthesized.stacks.all() for a in apply_suppressions(stack)]
    assert acknowledged
    assert all(len(reason) > 30 for _path, _rule, reason in acknowledged)
    rules = {rule.split("[")[0] for _path, rule, _reason in acknowledged}
    assert rules <= {
        "AwsSolutions-IAM5",
        "AwsSolutions-IAM4",
        "AwsSolutions-L1",
        "AwsSolutions-APIG2",
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG4",
        "AwsSolutions-COG4",
        "AwsSolutions-SQS3",
    }


def test_unjustified_wildcards_are_not_acknowledged() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "s3:GetObject"], "Resource": "*"},
            {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
        ]
    }
    findings = wildcard_findings(document)
    assert set(findings) == {"Action::s3:*", "Resource::*"}
    assert justify("Action::s3:*", findings["Action::s3:*"]) is None
    assert justify("Resource::*", findings["Resource::*"]) is None  # s3:GetObject on '*' is not justified
    assert justify("Resource::*", [{"xray:PutTraceSegments"}]) is not None


def test_nag_fails_synth_for_an_unjustified_wildcard(tmp_path) -> None:
    app = cdk.App(context=NO_BUNDLING, outdir=str(tmp_path))
    stack = cdk.Stack(app, "pitwall-dev-probe")
    role = iam.Role(stack, "Probe", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    apply_suppressions(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Action::s3:\*\]"):
        app.synth()
