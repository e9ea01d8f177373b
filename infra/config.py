"""Deployment settings read from CDK context, and the naming rules every stack shares.

Context keys (``-c key=value`` or ``cdk.json``):

- ``stage`` (default ``dev``): part of every resource name and tag. ``prod`` retains data on delete.
- ``useImageAsset`` (default ``false``): build ``training_images/`` as a CDK Docker image asset at
  synth (needs Docker). When false, the stack creates an ECR repository and uses ``modelImageTag``
  (default ``latest``) from it; push the image there yourself (see ``infra/README.md``).
- ``modelImageTag``: the tag used from the ECR repository when ``useImageAsset`` is false.
- ``apiAssetPath`` (default ``functions/api``): the Chalice project of the API Lambda (its route
  table becomes the REST API's resources).
- ``withMlflowServer`` (default ``true``): deploy the SageMaker managed MLflow tracking server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

from pitwall.platform.dynamo_tables import TableSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "pitwall"


def _flag(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"context flag must be true or false; got {value!r}")


@dataclass(frozen=True)
class StageConfig:
    """Settings of one deployment (a stage: dev, test, prod...)."""

    stage: str
    use_image_asset: bool = False
    model_image_tag: str = "latest"
    api_asset_path: Path = REPO_ROOT / "functions" / "api"

    def __post_init__(self) -> None:
        if not self.stage.isalnum() or not self.stage.islower() or len(self.stage) > 12:
            raise ValueError(f"stage must be 1-12 lowercase letters/digits; got {self.stage!r}")

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """Data (buckets, tables, repositories, logs): kept in prod, deleted with the stack elsewhere."""
        return cdk.RemovalPolicy.RETAIN if self.is_prod else cdk.RemovalPolicy.DESTROY

    def name(self, suffix: str) -> str:
        """A physical name ``pitwall-<stage>-<suffix>`` (used where other stacks look names up)."""
        return f"{PROJECT}-{self.stage}-{suffix}"

    def bucket_name(self, purpose: str) -> str:
        """A bucket's name: ``pitwall-<stage>-<purpose>-<account>-<region>`` (globally unique, and known to
        every stack without a cross-stack reference, so IAM policies name their exact resources)."""
        return f"{self.name(purpose)}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"

    @property
    def glue_database(self) -> str:
        """The Glue database of the canonical tables (Glue names use underscores)."""
        return f"pitwall_{self.stage}"

    @property
    def deploy_function_name(self) -> str:
        """The DeployModel Lambda (serving stack), invoked by the training workflow (training stack)."""
        return self.name("deploy-model")

    def table_name(self, spec: TableSpec) -> str:
        """The deployed name of a platform table (see :mod:`pitwall.platform.dynamo_tables`)."""
        return self.name(spec.logical_name)

    @classmethod
    def from_context(cls, scope: Construct) -> StageConfig:
        node = scope.node
        stage = node.try_get_context("stage") or "dev"
        api = node.try_get_context("apiAssetPath")
        return cls(
            stage=str(stage),
            use_image_asset=_flag(node.try_get_context("useImageAsset"), False),
            model_image_tag=str(node.try_get_context("modelImageTag") or "latest"),
            api_asset_path=(REPO_ROOT / api) if api else REPO_ROOT / "functions" / "api",
        )


def apply_tags(scope: Construct, config: StageConfig) -> None:
    """Tag everything in ``scope`` with the project and stage (cost allocation)."""
    cdk.Tags.of(scope).add("project", PROJECT)
    cdk.Tags.of(scope).add("stage", config.stage)
