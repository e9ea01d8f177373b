"""Tracking stack: a SageMaker managed MLflow tracking server and its artifact bucket.

Training jobs receive the server's ARN as ``MLFLOW_TRACKING_URI`` (the ``sagemaker-mlflow`` plugin
accepts the ARN as tracking URI) and may log runs with the actions in :data:`MLFLOW_CLIENT_ACTIONS`.

Cost: the server bills per hour while it exists, whether used or not. A ``Small`` server lists at
roughly USD 0.6/hour (about USD 430/month) in us-east-1 at the time of writing - by far the largest idle
cost of a Pitwall deployment. Deploy with ``-c withMlflowServer=false`` to leave it out (jobs then keep
their MLflow runs inside the model artifact), or ``cdk destroy`` this stack when idle.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import StageConfig

TRACKING_SERVER_SIZE = "Small"
MLFLOW_CLIENT_ACTIONS = [
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:SearchExperiments",
    "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:UpdateRun",
    "sagemaker-mlflow:LogMetric",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogModel",
    "sagemaker-mlflow:LogInputs",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:CreateRegisteredModel",
    "sagemaker-mlflow:CreateModelVersion",
]


class TrackingStack(cdk.Stack):
    """The MLflow tracking server (``Small``), its execution role and artifact bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        access_logs_bucket = s3.Bucket.from_bucket_name(self, "AccessLogsBucket", config.bucket_name("access-logs"))
        # The data stack's access-logs bucket policy admits S3 server access logs from every bucket of the
        # account (statement S3ServerAccessLogsFromPitwallBuckets); an imported bucket cannot be changed here.
        self.artifact_bucket = s3.Bucket(
            self,
            "MlflowArtifactBucket",
            bucket_name=config.bucket_name("mlflow"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="mlflow/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(7)
                ),
                s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=cdk.Duration.days(30)),
            ],
            removal_policy=config.removal_policy,
            auto_delete_objects=not config.is_prod,
        )
        cdk.Annotations.of(self.artifact_bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "the data stack's access-logs bucket policy already admits logs from this account's buckets",
        )
        role = iam.Role(
            self,
            "MlflowServerRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Lets the MLflow tracking server read and write its artifact bucket",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[self.artifact_bucket.arn_for_objects("mlflow/*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[self.artifact_bucket.bucket_arn]
            )
        )
        self.server_name = config.name("mlflow")
        server = sagemaker.CfnMlflowTrackingServer(
            self,
            "MlflowTrackingServer",
            tracking_server_name=self.server_name,
            artifact_store_uri=self.artifact_bucket.s3_url_for_object("mlflow"),
            role_arn=role.role_arn,
            tracking_server_size=TRACKING_SERVER_SIZE,
            automatic_model_registration=False,
            weekly_maintenance_window_start="Tue:03:00",
        )
        server.node.add_dependency(role)
        self.tracking_server_arn = server.attr_tracking_server_arn
        cdk.CfnOutput(self, "MlflowTrackingServerArn", value=self.tracking_server_arn)

    def grant_client(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (a training role) log runs to this tracking server only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=MLFLOW_CLIENT_ACTIONS, resources=[self.tracking_server_arn])
        )
