"""cdk-nag (AwsSolutions) acknowledgements: every accepted finding with its written reason.

Nothing is acknowledged wholesale. IAM wildcard findings (``AwsSolutions-IAM5[...]``) are computed
from each synthesized policy the way cdk-nag computes them, and acknowledged one by one only when a
:data:`IAM5_JUSTIFICATIONS` entry explains that exact resource (or action) pattern and every statement
granting it uses only the actions the entry allows; anything else stays an error and fails synth.
Other rules are acknowledged per resource type with a reason (:data:`RULE_JUSTIFICATIONS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct

PACK = "AwsSolutions"


@dataclass(frozen=True)
class Justification:
    """Accept wildcard findings matching ``pattern`` when granted only with ``actions`` (fnmatch patterns)."""

    pattern: str
    actions: tuple[str, ...]
    reason: str

    def allows(self, finding: str, action: str) -> bool:
        """True when ``finding`` matches this pattern and ``action`` is one of the allowed actions."""
        return bool(re.fullmatch(self.pattern, finding)) and any(fnmatchcase(action, p) for p in self.actions)


def justify(finding: str, statements: list[set[str]]) -> list[Justification] | None:
    """The justifications covering every action of every statement producing ``finding``; None if an
    action is not covered. Checked per action, so statements merged by ``minimizePolicies`` still match."""
    used: list[Justification] = []
    for actions in statements:
        for action in sorted(actions):
            match = next((j for j in IAM5_JUSTIFICATIONS if j.allows(finding, action)), None)
            if match is None:
                return None
            if match not in used:
                used.append(match)
    return used


_ACCOUNT = r"arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:"
_BUCKET = r"arn:<AWS::Partition>:s3:::pitwall-[a-z0-9]+-{purpose}-<AWS::AccountId>-<AWS::Region>"

IAM5_JUSTIFICATIONS: tuple[Justification, ...] = (
    Justification(
        r"Resource::\*",
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
        "X-Ray tracing: these actions have no resource-level permissions in IAM.",
    ),
    Justification(
        r"Resource::\*",
        ("ecr:GetAuthorizationToken",),
        "Pulling the model image: ecr:GetAuthorizationToken has no resource-level permissions; "
        "image pulls themselves are limited to the Pitwall model repository.",
    ),
    Justification(
        r"Resource::\*",
        ("cloudwatch:PutMetricData",),
        "SageMaker job/endpoint metrics: PutMetricData has no resource scope; a condition limits it to "
        "SageMaker's namespaces.",
    ),
    Justification(
        r"Resource::\*",
        (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ),
        "Step Functions execution logging: CloudWatch Logs delivery actions require Resource '*'.",
    ),
    Justification(
        r"Resource::\*",
        ("sagemaker:ListTags",),
        "CDK's createTrainingJob.sync task reads training-job tags (read-only) on any resource.",
    ),
    Justification(
        r"Resource::(<[A-Za-z0-9]+\.Arn>|" + _ACCOUNT.format(service="lambda") + r"function:pitwall-[a-z0-9-]+):\*",
        ("lambda:InvokeFunction",),
        "The training workflow invokes its own step functions; ':*' covers their versions and aliases only.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="sagemaker") + r"training-job/\*",
        (
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
            "sagemaker:AddTags",
            "sagemaker:ListTags",
        ),
        "Training jobs are created per execution with generated names; CDK's createTrainingJob.sync task "
        "scopes the actions to training jobs of this account and region.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="states") + r"execution:pitwall-[a-z0-9]+-training:\*",
        ("states:StopExecution",),
        "Cancelling a job stops its execution of the training state machine; executions are named after "
        "job ids, unknown at deploy.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="sagemaker") + r"(model|endpoint-config|endpoint)/pitwall-\*",
        ("sagemaker:*Model", "sagemaker:*EndpointConfig", "sagemaker:*Endpoint", "sagemaker:AddTags"),
        "Models and endpoints are created per tenant model and version; every name starts with 'pitwall-'.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="sagemaker") + r"endpoint/pitwall-\*",
        ("sagemaker:InvokeEndpoint",),
        "The API calls the endpoints of deployed models; every Pitwall endpoint name starts with 'pitwall-'.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="logs") + r"log-group:/aws/sagemaker/(TrainingJobs|Endpoints):\*",
        ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
        "SageMaker writes one log stream per job or endpoint instance into its fixed log group.",
    ),
    Justification(
        r"Resource::" + _BUCKET.format(purpose="(models|features|raw|results)") + r"/[a-z_/-]*\*",
        ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"),
        "Object access below one prefix of one Pitwall bucket; object keys are data-dependent.",
    ),
    Justification(
        r"Resource::(<MlflowArtifactBucket[A-Za-z0-9]+\.Arn>|" + _BUCKET.format(purpose="mlflow") + r")/mlflow/\*",
        ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"),
        "The MLflow tracking server stores run artifacts under mlflow/ in its own bucket.",
    ),
    Justification(
        r"Resource::" + _ACCOUNT.format(service="glue") + r"table/pitwall_[a-z0-9]+/\*",
        ("glue:*Table", "glue:*Tables", "glue:*Partition", "glue:*Partitions", "glue:GetDatabase"),
        "The feature job maintains the tables and partitions of the Pitwall Glue database only.",
    ),
    Justification(
        r"Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/(apikeys|usageplans/<[A-Za-z0-9]+>/keys)/\*",
        ("apigateway:POST", "apigateway:GET", "apigateway:DELETE", "apigateway:PATCH"),
        "Tenants' API keys are created at run time (ids unknown at deploy); key attachment is limited to "
        "Pitwall's Free and Pro usage plans.",
    ),
)

IAM4_ALLOWED = {
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": (
        "Lambda's basic execution policy only allows writing the function's own CloudWatch logs."
    ),
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": (
        "API Gateway's account-level logging role: the AWS-managed policy is the documented setup."
    ),
}

# rule id -> (CloudFormation resource type it is acknowledged on, reason)
RULE_JUSTIFICATIONS: dict[str, tuple[str, str]] = {
    "AwsSolutions-L1": (
        "AWS::Lambda::Function",
        "Python 3.11 is the project's supported and tested interpreter (pyproject requires-python); the "
        "Powertools layer is pinned to the same runtime.",
    ),
    "AwsSolutions-APIG2": (
        "AWS::ApiGateway::RestApi",
        "Every route proxies to the Chalice app, which validates bodies with pydantic and answers 4xx naming "
        "the field; API Gateway models would duplicate that schema.",
    ),
    "AwsSolutions-APIG4": (
        "AWS::ApiGateway::Method",
        "Callers authenticate with tenant API keys: API Gateway requires the key (usage plans) and the app "
        "maps the key's hash to the tenant on every request.",
    ),
    "AwsSolutions-COG4": (
        "AWS::ApiGateway::Method",
        "No user pools: clients are programs using tenant API keys, checked by API Gateway and the app.",
    ),
    "AwsSolutions-APIG3": (
        "AWS::ApiGateway::Stage",
        "No WAF web ACL in the playground (fixed monthly cost); usage plans throttle per key. Add one for "
        "production traffic.",
    ),
    "AwsSolutions-SQS3": (
        "AWS::SQS::Queue",
        "This queue is the dead-letter queue of the EventBridge targets.",
    ),
}


def flatten_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag flattens it (``<Logical.Arn>``, ``<AWS::Region>``...)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return delimiter.join(flatten_reference(i) for i in items)
        if "Fn::Sub" in node:
            return flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_findings(document: Any) -> dict[str, list[set[str]]]:
    """IAM5 findings of a resolved policy document -> the action sets of the statements producing each."""
    findings: dict[str, list[set[str]]] = {}
    for statement in (document or {}).get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = {str(a) for a in _as_list(statement.get("Action", []))}
        for action in actions:
            if "*" in action:
                findings.setdefault(f"Action::{action}", []).append(actions)
        for resource in _as_list(statement.get("Resource", [])):
            flat = flatten_reference(resource)
            if "*" in flat:
                findings.setdefault(f"Resource::{flat}", []).append(actions)
    return findings


def _documents(node: cdk.CfnResource, stack: cdk.Stack) -> list[Any]:
    if isinstance(node, iam.CfnPolicy | iam.CfnManagedPolicy):
        return [stack.resolve(node.policy_document)]
    if isinstance(node, iam.CfnRole):
        policies = stack.resolve(node.policies) or []
        return [stack.resolve(p).get("policyDocument") or stack.resolve(p).get("PolicyDocument") for p in policies]
    return []


def _cfn_resources(scope: IConstruct) -> Iterator[cdk.CfnResource]:
    for node in scope.node.find_all():
        if isinstance(node, cdk.CfnResource):
            yield node


def _acknowledge(node: IConstruct, rule_id: str, reason: str) -> None:
    cdk.Validations.of(node).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def apply_suppressions(stack: cdk.Stack) -> list[tuple[str, str, str]]:
    """Acknowledge the justified findings of ``stack``; returns ``(construct path, rule id, reason)``."""
    acknowledged: list[tuple[str, str, str]] = []
    for node in _cfn_resources(stack):
        findings: dict[str, list[set[str]]] = {}
        for document in _documents(node, stack):
            for finding, statements in wildcard_findings(document).items():
                findings.setdefault(finding, []).extend(statements)
        for finding, statements in findings.items():
            justifications = justify(finding, statements)
            if justifications:
                rule_id = f"{PACK}-IAM5[{finding}]"
                reason = " ".join(j.reason for j in justifications)
                _acknowledge(node, rule_id, reason)
                acknowledged.append((node.node.path, rule_id, reason))
        if isinstance(node, iam.CfnRole):
            for arn in _as_list(stack.resolve(node.managed_policy_arns) or []):
                finding = f"Policy::{flatten_reference(arn)}"
                if finding in IAM4_ALLOWED:
                    rule_id = f"{PACK}-IAM4[{finding}]"
                    _acknowledge(node, rule_id, IAM4_ALLOWED[finding])
                    acknowledged.append((node.node.path, rule_id, IAM4_ALLOWED[finding]))
        for rule_id, (resource_type, reason) in RULE_JUSTIFICATIONS.items():
            if node.cfn_resource_type == resource_type:
                _acknowledge(node, rule_id, reason)
                acknowledged.append((node.node.path, rule_id, reason))
    return acknowledged
