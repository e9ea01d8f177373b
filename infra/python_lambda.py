"""Python Lambda functions for Pitwall: code assets built without Docker, Powertools, logs, tracing.

Code assets are bundled locally (:class:`CopySources`): the handler folder plus the ``pitwall``
package are copied into the asset, so synth never needs Docker. Third-party runtime dependencies come
from the Powertools for AWS Lambda layer (Powertools itself, pydantic) resolved at deploy time from its
public SSM parameter, and from boto3 in the Lambda runtime. Tests skip bundling with the context
``{"aws:cdk:bundling-stacks": []}``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import REPO_ROOT, StageConfig

RUNTIME = lambda_.Runtime.PYTHON_3_11
POWERTOOLS_LAYER_PARAMETER = "/aws/service/powertools/python/x86_64/python3.11/latest"
METRICS_NAMESPACE = "Pitwall"
# What a zip function's code may import besides its asset (checked by tests/deployed, which builds
# these folders from the same distributions): the Python 3.11 runtime's boto3 ...
LAMBDA_RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# ... and the public Powertools layer (Powertools with its pydantic v2 extra).
POWERTOOLS_LAYER_DISTRIBUTIONS = (
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "typing-inspection",
)
ZIP_FUNCTION_LIMIT_BYTES = 250 * 1024 * 1024  # code + layers, unzipped
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests")


@jsii.implements(cdk.ILocalBundling)
class CopySources:
    """Local bundling: copy ``(source file or folder, destination inside the asset)`` pairs; no Docker."""

    def __init__(self, sources: Sequence[tuple[Path, str]]) -> None:
        self.sources = list(sources)

    def try_bundle(self, output_dir: str, *_options: object, **_kw: object) -> bool:
        for source, destination in self.sources:
            target = Path(output_dir) / destination
            if source.is_dir():
                shutil.copytree(source, target, ignore=_IGNORE, dirs_exist_ok=True)
            elif source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            else:
                raise FileNotFoundError(f"Lambda asset source {source} does not exist")
        return True


def code_with_pitwall(handler_dir: Path, extra: Sequence[tuple[Path, str]] = ()) -> lambda_.Code:
    """An asset holding the files of ``handler_dir`` at its root, the ``pitwall`` package beside them,
    and any ``extra`` ``(source, destination)`` files or folders."""
    return lambda_.Code.from_asset(
        str(handler_dir),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            image=RUNTIME.bundling_image,
            local=CopySources([(handler_dir, "."), (REPO_ROOT / "pitwall", "pitwall"), *extra]),
            # Only used if local bundling were unavailable; local bundling always succeeds.
            command=["bash", "-c", "cp -r /asset-input/. /asset-output/"],
        ),
    )


def workflow_code() -> lambda_.Code:
    """The code of every workflow Lambda: ``functions/workflow`` + ``pitwall``."""
    return code_with_pitwall(REPO_ROOT / "functions" / "workflow")


def chalice_runtime_files() -> list[tuple[Path, str]]:
    """The two files of the ``chalice`` package a deployed Chalice app imports (as Chalice packages them)."""
    import chalice

    package = Path(chalice.__file__).parent
    return [(package / "__init__.py", "chalice/__init__.py"), (package / "app.py", "chalice/app.py")]


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The public Powertools layer for Python 3.11 x86_64 (one per stack), resolved at deploy time."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("PowertoolsLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = ssm.StringParameter.value_for_string_parameter(stack, POWERTOOLS_LAYER_PARAMETER)
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)


def _log_group(scope: Construct, construct_id: str, config: StageConfig) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=logs.RetentionDays.ONE_MONTH if not config.is_prod else logs.RetentionDays.SIX_MONTHS,
        removal_policy=config.removal_policy,
    )


def _environment(config: StageConfig, service: str, environment: Mapping[str, str] | None) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": f"pitwall-{service}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "PITWALL_STAGE": config.stage,
        "PITWALL_BACKEND": "aws",
        **(environment or {}),
    }


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    config: StageConfig,
    code: lambda_.Code,
    handler: str,
    description: str,
    environment: Mapping[str, str] | None = None,
    timeout: cdk.Duration = cdk.Duration.seconds(30),
    memory_size: int = 512,
    service: str = "workflow",
    function_name: str | None = None,
) -> lambda_.Function:
    """A Python 3.11 function with Powertools, X-Ray tracing and a log group that follows the stage policy."""
    return lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.X86_64,
        code=code,
        handler=handler,
        description=description,
        timeout=timeout,
        memory_size=memory_size,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=_log_group(scope, construct_id, config),
        layers=[powertools_layer(scope)],
        environment=_environment(config, service, environment),
    )


def image_function(
    scope: Construct,
    construct_id: str,
    *,
    config: StageConfig,
    code: lambda_.DockerImageCode,
    description: str,
    environment: Mapping[str, str] | None = None,
    timeout: cdk.Duration = cdk.Duration.minutes(15),
    memory_size: int = 3008,
    ephemeral_storage: cdk.Size = cdk.Size.gibibytes(2),
    service: str = "workflow",
) -> lambda_.DockerImageFunction:
    """A container-image function (for code whose dependencies exceed a zip Lambda's 250 MB), with the
    same tracing, log group and environment conventions as :func:`python_function`."""
    return lambda_.DockerImageFunction(
        scope,
        construct_id,
        code=code,
        architecture=lambda_.Architecture.X86_64,
        description=description,
        timeout=timeout,
        memory_size=memory_size,
        ephemeral_storage_size=ephemeral_storage,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=_log_group(scope, construct_id, config),
        environment=_environment(config, service, environment),
    )
