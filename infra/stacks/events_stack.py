"""Events stack: the weekly feature job and event-driven retraining.

- Schedule: every Monday 06:00 UTC (after a race weekend) the feature-job Lambda (``feature_jobs/``)
  ingests the latest race into the raw bucket, rebuilds feature/training tables and publishes
  ``RaceIngested`` (source ``pitwall.data``) on the default event bus. It is a container-image
  Lambda (``feature_jobs/Dockerfile``, built and pushed by ``cdk deploy``): pandas, pyarrow, duckdb,
  fastf1 and awswrangler are ~660 MB unzipped, over a zip Lambda's 250 MB; its caches live under
  ``/tmp`` (Lambda's home is read-only).
- Rule: ``RaceIngested`` starts the retraining Lambda, which submits a ``retrain`` job for every
  model with auto-retrain on (the platform's quota rules apply) and starts the training workflow.
Both targets retry twice and keep undeliverable events in an encrypted dead-letter queue.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.access import (
    ATHENA_RESULTS,
    LAKE_PREFIX,
    RAW,
    STEP_TABLES,
    grant_s3,
    grant_tables,
    store_environment,
    table_environment,
)
from infra.config import StageConfig
from infra.images import FEATURE_JOB_DOCKERFILE, image_asset_options
from infra.python_lambda import image_function, python_function, workflow_code
from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED

FEATURE_JOB_SCHEDULE = events.Schedule.cron(minute="0", hour="6", week_day="MON")
FEATURE_JOB_HANDLER = "feature_jobs.build_features.handler"  # the image's CMD
# Lambda's home is read-only: pitwall's files (FastF1's cache) and library caches go under /tmp.
FEATURE_JOB_SCRATCH = {
    "PITWALL_HOME": "/tmp/pitwall",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "XDG_CACHE_HOME": "/tmp/.cache",
}


class EventsStack(cdk.Stack):
    """Weekly ingestion schedule and the RaceIngested -> retraining rule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        glue_database_name: str,
        state_machine: sfn.IStateMachine,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.dead_letter_queue = sqs.Queue(
            self,
            "EventsDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            removal_policy=config.removal_policy,
        )
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")

        self.feature_job = image_function(
            self,
            "FeatureJobFunction",
            config=config,
            code=lambda_.DockerImageCode.from_image_asset(
                **image_asset_options(),  # type: ignore[arg-type]
                file=FEATURE_JOB_DOCKERFILE,
                platform=ecr_assets.Platform.LINUX_AMD64,
                cmd=[FEATURE_JOB_HANDLER],
            ),
            description="Weekly: ingest the latest race, rebuild features, publish RaceIngested",
            service="feature-job",
            environment={**store_environment(config), **FEATURE_JOB_SCRATCH, "PITWALL_EVENT_BUS": "default"},
        )
        # The Store writes under lake/ (staging, swap, clean-up) and queries through Athena.
        grant_s3(
            self.feature_job,
            self,
            config,
            RAW,
            prefix=f"{LAKE_PREFIX}/",
            read=True,
            write=True,
            delete=True,
            list_objects=True,
        )
        grant_s3(self.feature_job, self, config, ATHENA_RESULTS, read=True, write=True, list_objects=True)
        self.feature_job.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[
                    self.format_arn(service="athena", resource="workgroup", resource_name=config.name("athena"))
                ],
            )
        )
        default_bus.grant_put_events_to(self.feature_job)
        self.feature_job.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:DeleteTable",
                    "glue:BatchDeletePartition",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                    "glue:CreatePartition",
                    "glue:UpdatePartition",
                ],
                resources=[
                    self.format_arn(service="glue", resource="catalog"),
                    self.format_arn(service="glue", resource="database", resource_name=glue_database_name),
                    self.format_arn(service="glue", resource="table", resource_name=f"{glue_database_name}/*"),
                ],
            )
        )
        self.schedule_rule = events.Rule(
            self,
            "WeeklyFeatureJobRule",
            description="Monday 06:00 UTC: ingest the weekend's race and rebuild features",
            schedule=FEATURE_JOB_SCHEDULE,
            targets=[
                targets.LambdaFunction(
                    self.feature_job,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.hours(2),
                )
            ],
        )

        self.retrain_function = python_function(
            self,
            "StartRetrainingFunction",
            config=config,
            code=workflow_code(),
            handler="workflow_retrain.start_retraining",
            description="On RaceIngested: submit and start retraining jobs for auto-retrain models",
            timeout=cdk.Duration.minutes(5),
            environment={
                **table_environment(config),
                "PITWALL_TRAINING_STATE_MACHINE_ARN": state_machine.state_machine_arn,
            },
        )
        grant_tables(self.retrain_function, self, config, STEP_TABLES["start_retraining"])
        state_machine.grant_start_execution(self.retrain_function)
        self.race_ingested_rule = events.Rule(
            self,
            "RaceIngestedRule",
            description="A race was ingested: retrain models with auto-retrain on",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[RACE_INGESTED]),
            targets=[
                targets.LambdaFunction(
                    self.retrain_function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )
