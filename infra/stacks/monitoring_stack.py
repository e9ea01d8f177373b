"""Monitoring stack: data capture prefix, the after-race monitoring job and the alert topic.

- Capture: SageMaker endpoints (the model containers) write sampled requests as parquet under
  ``s3://<models bucket>/captures/tenant=<t>/model=<m>/date=<d>/`` (:mod:`pitwall.monitoring.capture_aws`;
  serverless endpoints have no ``DataCaptureConfig``, so the container does it). The endpoint role
  gets ``s3:PutObject`` on that prefix only, and reads the deployments' capture rates
  (``monitoring/settings/``). The functions that create endpoints (the deploy Lambda, the API
  Lambda) get the capture and state variables, which they hand to every endpoint container
  (``pitwall.serving.sagemaker.MONITORING_ENV``); the API Lambda writes a deployment's settings and
  reads its summary there (``GET /api/v1/models/{model}/monitoring``).
- Job: on ``RaceIngested`` (one summary event per ingest run, or the per-race shape) a container-image
  Lambda (``monitoring_job/Dockerfile``: the model image's dependencies on the Lambda base image) runs
  :func:`pitwall.monitoring.subscriber.handler`: scores every monitored deployment's captured pre-race
  predictions against the results (the live verified record), checks drift and the record against
  the thresholds and publishes ``ModelAlert`` events. Retries twice; undeliverable events stay in an
  encrypted dead-letter queue.
- Alerts: ``ModelAlert`` (source ``pitwall.monitoring``) -> an SNS topic (SSE with the AWS-managed
  key, TLS only). Context ``alertEmail`` adds an email subscription (confirm it from the inbox).

State: the job's settings, records, alerts and summaries persist under ``s3://<models bucket>/monitoring/``
(pulled before a run, changes pushed after it; reserved concurrency 1 keeps runs from interleaving).

Least privilege: the job reads and writes its state (``monitoring/``), reads captures (``captures/``)
and model artifacts (``training-output/``) in the models bucket, reads the lake through Athena/Glue
(read-only catalog actions), reads the tenants and models tables, and puts events on the default bus;
nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.access import (
    ATHENA_RESULTS,
    LAKE_PREFIX,
    MODELS_BUCKET,
    RAW,
    grant_s3,
    grant_tables,
    store_environment,
    table_environment,
)
from infra.config import StageConfig
from infra.images import image_asset_options
from infra.python_lambda import image_function
from infra.stacks.serving_stack import TRAINING_OUTPUT_PREFIX, ServingStack
from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED
from pitwall.monitoring.alerts import ALERT_SOURCE, MODEL_ALERT
from pitwall.monitoring.capture_aws import BUCKET_ENV, PREFIX_ENV
from pitwall.monitoring.state_aws import BUCKET_ENV as STATE_BUCKET_ENV
from pitwall.monitoring.state_aws import PREFIX_ENV as STATE_PREFIX_ENV
from pitwall.platform.dynamo_tables import MODELS, TENANTS

CAPTURE_PREFIX = "captures"
STATE_PREFIX = "monitoring"  # settings, records, alerts, summaries (pitwall.monitoring.state_aws)
MONITORING_JOB_DOCKERFILE = "monitoring_job/Dockerfile"
MONITORING_JOB_HANDLER = "pitwall.monitoring.subscriber.handler"  # the image's CMD
ALERT_EMAIL_CONTEXT = "alertEmail"
MONITORING_SCRATCH = {
    "PITWALL_HOME": "/tmp/pitwall",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "XDG_CACHE_HOME": "/tmp/.cache",
}
ATHENA_QUERY_ACTIONS = [
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
    "athena:GetWorkGroup",
]
GLUE_READ_ACTIONS = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]


class MonitoringStack(cdk.Stack):
    """Capture prefix grant, the RaceIngested -> monitoring job rule, and ModelAlert -> SNS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        serving: ServingStack,
        glue_database_name: str,
        api_function: lambda_.Function | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The endpoint containers write captures (and only there) and read their capture rate.
        grant_s3(serving.endpoint_role, self, config, MODELS_BUCKET, prefix=f"{CAPTURE_PREFIX}/", write=True)
        grant_s3(serving.endpoint_role, self, config, MODELS_BUCKET, prefix=f"{STATE_PREFIX}/settings/", read=True)
        monitoring_env = {
            BUCKET_ENV: config.bucket_name(MODELS_BUCKET),
            PREFIX_ENV: CAPTURE_PREFIX,
            STATE_BUCKET_ENV: config.bucket_name(MODELS_BUCKET),
            STATE_PREFIX_ENV: STATE_PREFIX,
        }
        # What creates endpoints hands these to the containers (the API Lambda already has the
        # models bucket; the deploy Lambda only passes them on).
        for deployer in (serving.deploy_function, api_function):
            if deployer is not None:
                for name, value in monitoring_env.items():
                    deployer.add_environment(name, value)

        self.dead_letter_queue = sqs.Queue(
            self,
            "MonitoringDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=config.removal_policy,
        )
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.job = image_function(
            self,
            "MonitoringJobFunction",
            config=config,
            code=self._job_code(config, serving),
            description="On RaceIngested: score deployed models' live record, check drift, raise ModelAlert",
            service="monitoring",
            environment={
                **store_environment(config),
                **table_environment(config),
                **MONITORING_SCRATCH,
                "PITWALL_EVENT_BUS": "default",
                **monitoring_env,
            },
        )
        # One run at a time: each run pulls the state from S3 and pushes what it changed.
        job_resource = self.job.node.default_child
        assert isinstance(job_resource, lambda_.CfnFunction)
        job_resource.reserved_concurrent_executions = 1
        grant_s3(
            self.job, self, config, MODELS_BUCKET, prefix=f"{STATE_PREFIX}/", read=True, write=True, list_objects=True
        )
        grant_s3(self.job, self, config, MODELS_BUCKET, prefix=f"{CAPTURE_PREFIX}/", read=True, list_objects=True)
        grant_s3(self.job, self, config, MODELS_BUCKET, prefix=TRAINING_OUTPUT_PREFIX, read=True)
        grant_s3(self.job, self, config, RAW, prefix=f"{LAKE_PREFIX}/", read=True, list_objects=True)
        grant_s3(self.job, self, config, ATHENA_RESULTS, read=True, write=True, list_objects=True)
        self.job.add_to_role_policy(
            iam.PolicyStatement(
                actions=ATHENA_QUERY_ACTIONS,
                resources=[
                    self.format_arn(service="athena", resource="workgroup", resource_name=config.name("athena"))
                ],
            )
        )
        self.job.add_to_role_policy(
            iam.PolicyStatement(
                actions=GLUE_READ_ACTIONS,
                resources=[
                    self.format_arn(service="glue", resource="catalog"),
                    self.format_arn(service="glue", resource="database", resource_name=glue_database_name),
                    self.format_arn(service="glue", resource="table", resource_name=f"{glue_database_name}/*"),
                ],
            )
        )
        grant_tables(self.job, self, config, {TENANTS: False, MODELS: False})
        default_bus.grant_put_events_to(self.job)

        self.race_ingested_rule = events.Rule(
            self,
            "MonitoringRaceIngestedRule",
            description="A race was ingested: score deployed models' live record and check their alerts",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[RACE_INGESTED]),
            targets=[
                targets.LambdaFunction(
                    self.job,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )

        self.alert_topic = sns.Topic(
            self,
            "MonitoringAlerts",
            display_name="Pitwall model alerts",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.alert_rule = events.Rule(
            self,
            "ModelAlertRule",
            description="A deployed model drifted or fell below its baseline: notify the alert topic",
            event_pattern=events.EventPattern(source=[ALERT_SOURCE], detail_type=[MODEL_ALERT]),
            targets=[
                targets.SnsTopic(
                    self.alert_topic,
                    message=events.RuleTargetInput.from_event_path("$.detail.message"),
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                )
            ],
        )
        email = self.node.try_get_context(ALERT_EMAIL_CONTEXT)
        if email:
            self.alert_topic.add_subscription(subs.EmailSubscription(str(email)))
        cdk.CfnOutput(self, "AlertTopicArn", value=self.alert_topic.topic_arn)

    def _job_code(self, config: StageConfig, serving: ServingStack) -> lambda_.DockerImageCode:
        if config.use_image_asset:
            return lambda_.DockerImageCode.from_image_asset(
                **image_asset_options(),  # type: ignore[arg-type]
                file=MONITORING_JOB_DOCKERFILE,
                platform=ecr_assets.Platform.LINUX_AMD64,
                cmd=[MONITORING_JOB_HANDLER],
            )
        # Without image assets: the tag <modelImageTag>-monitoring in the model repository (pushed by hand).
        return lambda_.DockerImageCode.from_ecr(
            serving.image_repository,
            tag_or_digest=f"{config.model_image_tag}-monitoring",
            cmd=[MONITORING_JOB_HANDLER],
        )
