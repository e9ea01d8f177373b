"""Serving stack: the Pitwall model image, the endpoint role and the deploy Lambda.

The model image (``training_images/``) implements both SageMaker contracts (training and inference),
so it lives here and the training stack uses it too: the stack graph stays acyclic while the training
workflow's DeployModel state invokes the deploy Lambda defined here (by its stage name).

How a tier's model is served (serverless for Free, instance-backed for Pro) is data:
:data:`pitwall.workflow.serving.SERVING_BY_TIER`, read by the deploy step at run time.

Image source (context ``useImageAsset``): ``true`` (``cdk.json``) makes ``training_images/Dockerfile``
(CPU) and ``training_images/Dockerfile.gpu`` (GPU, Pro jobs that ask for one) CDK Docker image assets,
built and pushed by ``cdk deploy`` (Docker on the deploying machine; synth only stages the context);
``false`` creates an ECR repository and uses the tags ``<modelImageTag>`` and ``<modelImageTag>-gpu``
from it, which you push yourself (see ``infra/README.md``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.access import (
    LAKE_PREFIX,
    MODELS_BUCKET,
    RAW,
    STEP_TABLES,
    grant_s3,
    grant_tables,
    store_environment,
    table_environment,
)
from infra.config import StageConfig
from infra.images import MODEL_DOCKERFILE, MODEL_GPU_DOCKERFILE, image_asset_options
from infra.python_lambda import python_function, workflow_code

DEPLOY_ACTIONS = [
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",  # rollback of a new endpoint whose registry flip was refused
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:AddTags",
]
UNDEPLOY_ACTIONS = ["sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"]
SAGEMAKER_RESOURCE_TYPES = ("model", "endpoint-config", "endpoint")
NAME_PREFIX = "pitwall-"
GPU_TAG_SUFFIX = "-gpu"  # without image assets: <modelImageTag>-gpu in the same repository
TRAINING_OUTPUT_PREFIX = "training-output/"


class ServingStack(cdk.Stack):
    """Model image, SageMaker endpoint role and the DeployModel Lambda."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.image_repository: ecr.IRepository
        self.gpu_image_repository: ecr.IRepository
        if config.use_image_asset:
            cpu, gpu = (
                ecr_assets.DockerImageAsset(
                    self,
                    construct_id,
                    **image_asset_options(),  # type: ignore[arg-type]
                    file=dockerfile,
                    platform=ecr_assets.Platform.LINUX_AMD64,
                )
                for construct_id, dockerfile in (
                    ("ModelImage", MODEL_DOCKERFILE),
                    ("ModelGpuImage", MODEL_GPU_DOCKERFILE),
                )
            )
            self.image_repository, self.model_image_uri = cpu.repository, cpu.image_uri
            self.gpu_image_repository, self.gpu_model_image_uri = gpu.repository, gpu.image_uri
        else:
            repository = ecr.Repository(
                self,
                "ModelImageRepository",
                repository_name=config.name("model-image"),
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.MUTABLE,
                encryption=ecr.RepositoryEncryption.AES_256,
                lifecycle_rules=[ecr.LifecycleRule(description="keep the last 10 images", max_image_count=10)],
                removal_policy=config.removal_policy,
                empty_on_delete=not config.is_prod,
            )
            self.image_repository = self.gpu_image_repository = repository
            self.model_image_uri = repository.repository_uri_for_tag(config.model_image_tag)
            self.gpu_model_image_uri = repository.repository_uri_for_tag(f"{config.model_image_tag}{GPU_TAG_SUFFIX}")

        self.endpoint_role = iam.Role(
            self,
            "EndpointRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker endpoints: pull the model image, read model artifacts, write logs",
        )
        grant_s3(self.endpoint_role, self, config, MODELS_BUCKET, prefix=TRAINING_OUTPUT_PREFIX, read=True)
        # race and championship bodies: the container resolves features from the lake (read-only)
        grant_s3(self.endpoint_role, self, config, RAW, prefix=f"{LAKE_PREFIX}/", read=True, list_objects=True)
        self.grant_image_pull(self.endpoint_role)
        grant_sagemaker_logs(self, self.endpoint_role, "Endpoints")

        self.deploy_function = python_function(
            self,
            "DeployModelFunction",
            config=config,
            function_name=config.deploy_function_name,
            code=workflow_code(),
            handler="workflow_steps.deploy_model",
            description="Training workflow DeployModel: create/update the model's SageMaker endpoint",
            timeout=cdk.Duration.minutes(15),  # waits for the endpoint to be InService (DEPLOY_WAIT_SECONDS)
            environment={**table_environment(config), **self.serving_environment()},
        )
        self.grant_deploy(self.deploy_function)
        grant_tables(self.deploy_function, self, config, STEP_TABLES["deploy_model"])
        cdk.CfnOutput(self, "ModelImageUri", value=self.model_image_uri)
        cdk.CfnOutput(self, "ModelGpuImageUri", value=self.gpu_model_image_uri)

    def serving_environment(self) -> dict[str, str]:
        """What ``pitwall.serving.deploy.SageMakerServing`` reads: the inference image and endpoint role."""
        return {
            "PITWALL_INFERENCE_IMAGE": self.model_image_uri,
            "PITWALL_SAGEMAKER_ROLE_ARN": self.endpoint_role.role_arn,
            **store_environment(self.config),  # handed to the endpoint containers (race/championship bodies)
        }

    def grant_deploy(self, grantee: iam.IGrantable, *, undeploy: bool = False) -> None:
        """Create/update (and with ``undeploy`` delete) ``pitwall-*`` models and endpoints, passing the
        endpoint role to SageMaker only."""
        stack = cdk.Stack.of(grantee) if isinstance(grantee, Construct) else self
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=DEPLOY_ACTIONS + (UNDEPLOY_ACTIONS if undeploy else []),
                resources=[
                    stack.format_arn(service="sagemaker", resource=kind, resource_name=f"{NAME_PREFIX}*")
                    for kind in SAGEMAKER_RESOURCE_TYPES
                ],
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.endpoint_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

    def training_image_environment(self) -> dict[str, str]:
        """The CPU and GPU model images, for the step that picks a job's image by its instance type."""
        return {"PITWALL_TRAINING_IMAGE": self.model_image_uri, "PITWALL_TRAINING_IMAGE_GPU": self.gpu_model_image_uri}

    def grant_image_pull(self, grantee: iam.IGrantable, *, gpu: bool = False) -> None:
        """Pull the model image, and with ``gpu`` its GPU variant (``ecr:GetAuthorizationToken`` has no
        resource scope in IAM)."""
        self.image_repository.grant_pull(grantee)
        if gpu and self.gpu_image_repository is not self.image_repository:
            self.gpu_image_repository.grant_pull(grantee)


def grant_sagemaker_logs(scope: Construct, role: iam.Role, kind: str) -> None:
    """Let SageMaker jobs/endpoints running as ``role`` write their logs and metrics.

    ``kind`` is ``TrainingJobs`` or ``Endpoints`` (the ``/aws/sagemaker/<kind>`` log group, one stream
    per job or endpoint instance). ``cloudwatch:PutMetricData`` has no resource scope in IAM; it is
    limited to SageMaker's namespaces by condition.
    """
    stack = cdk.Stack.of(scope)
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"/aws/sagemaker/{kind}:*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        )
    )
