"""Live stack: the OpenF1 poller and the live feed the API's live routes read.

- Table ``pitwall-<stage>-live`` (DynamoDB, on demand, TTL ``expires_at``: items expire 7 days after
  they are written): per model, session and lap the lap's snapshot, and a head item per model
  (``pitwall.live.aws.DynamoFeed``).
- Poller Lambda (``functions/live_poller``, zip: the handler + ``pitwall``, boto3 and the Powertools
  layer only; the live models' LightGBM text trees are evaluated in Python by
  ``pitwall.live.predictors``). It reads the saved live models named in ``PITWALL_LIVE_MODELS``
  (context ``liveModels``, default ``live_v1``) from ``s3://<models bucket>/live_models/<name>/``
  and OpenF1 over HTTPS.
- Secret ``pitwall-<stage>-openf1-token`` (Secrets Manager): OpenF1 access for live sessions, a JSON
  object ``{"token": ...}`` (put the token there) or ``{"username": ..., "password": ...}`` (an OpenF1
  account: the rotation exchanges it for a fresh token). The poller reads it (``PITWALL_OPENF1_SECRET``
  names it; ``pitwall.live.aws.openf1_token_from_secret``, never logged) and is its rotation function
  (every 4 hours: ``pitwall.live.aws.rotate_openf1_secret``). Historical sessions need no token.
- EventBridge Scheduler: every minute on Saturdays and Sundays (UTC; every race starts on one),
  input ``{"session_key": "latest"}``. Outside a race's window the poller stops after one OpenF1
  request; retries are off (the next minute polls again) and failed deliveries go to an encrypted
  dead-letter queue.
- The API function gets ``PITWALL_LIVE_TABLE`` and read access to the table (``GET /api/v1/live/...``).

Cost (us-east-1 list prices): ~2,900 scheduled invocations a week (~12,500 a month: inside
Scheduler's and Lambda's free tiers; beyond them ~$0.01 + ~$0.03 of 512 MB x ~0.3 s), and per
race and model ~2 x 80 DynamoDB writes of ~10 KB (~1,600 write units: < $0.01). The secret costs
$0.40 a month (+ ~1,500 reads: < $0.01). Under $0.50 a month.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.access import DYNAMODB_READ, DYNAMODB_WRITE, MODELS_BUCKET, grant_s3
from infra.config import REPO_ROOT, StageConfig
from infra.python_lambda import code_with_pitwall, python_function

POLL_SCHEDULE = scheduler.ScheduleExpression.cron(minute="*", hour="*", week_day="SAT-SUN")
POLL_INPUT = {"session_key": "latest"}
LIVE_MODELS_PREFIX = "live_models"
DEFAULT_LIVE_MODELS = "live_v1"
POLLER_HANDLER = "handler.handler"
OPENF1_SECRET_ROTATION = cdk.Duration.hours(4)


class LiveStack(cdk.Stack):
    """The live feed table, the OpenF1 poller and its schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api_function: lambda_.Function | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.table_name = config.name("live")
        self.table = dynamodb.Table(
            self,
            "LiveTable",
            table_name=self.table_name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=config.removal_policy,
        )
        self.openf1_secret_name = config.name("openf1-token")
        self.openf1_secret = secretsmanager.Secret(
            self,
            "OpenF1Token",
            secret_name=self.openf1_secret_name,
            description='OpenF1 access for live sessions: {"token": ...} or {"username": ..., "password": ...}',
            secret_object_value={"token": cdk.SecretValue.unsafe_plain_text("")},  # empty: no token yet
            removal_policy=config.removal_policy,
        )
        models = str(self.node.try_get_context("liveModels") or DEFAULT_LIVE_MODELS)
        self.poller = python_function(
            self,
            "LivePoller",
            config=config,
            code=code_with_pitwall(REPO_ROOT / "functions" / "live_poller"),
            handler=POLLER_HANDLER,
            description="Pitwall live poller: OpenF1 race session -> per-lap live model snapshots in DynamoDB",
            timeout=cdk.Duration.seconds(60),
            memory_size=512,
            service="live",
            environment={
                "PITWALL_LIVE_TABLE": self.table_name,
                "PITWALL_LIVE_MODELS": models,
                "PITWALL_LIVE_MODELS_URI": f"s3://{config.bucket_name(MODELS_BUCKET)}/{LIVE_MODELS_PREFIX}",
                "PITWALL_HOME": "/tmp/pitwall",
                "PITWALL_OPENF1_SECRET": self.openf1_secret_name,
            },
        )
        self.grant_feed(self.poller, write=True)
        grant_s3(self.poller, self, config, MODELS_BUCKET, prefix=f"{LIVE_MODELS_PREFIX}/", read=True)
        self._rotate_secret_with_poller()
        self.dead_letter_queue = sqs.Queue(
            self,
            "LivePollDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(4),
        )
        self.schedule = scheduler.Schedule(
            self,
            "LivePollSchedule",
            schedule=POLL_SCHEDULE,
            description="Poll OpenF1 every minute on race days (the poller skips outside a race's window)",
            target=scheduler_targets.LambdaInvoke(
                self.poller,
                input=scheduler.ScheduleTargetInput.from_object(POLL_INPUT),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=0,
                max_event_age=cdk.Duration.minutes(1),
            ),
        )
        if api_function is not None:
            api_function.add_environment("PITWALL_LIVE_TABLE", self.table_name)
            self.grant_feed(api_function, write=False)

    def _rotate_secret_with_poller(self) -> None:
        """The poller reads the OpenF1 secret and rotates it (its own rotation steps, on the secret only)."""
        self.poller.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[self.openf1_secret.secret_arn],
            )
        )
        self.poller.add_permission(
            "SecretsManagerRotation",
            principal=iam.ServicePrincipal("secretsmanager.amazonaws.com"),
            source_account=self.account,
        )
        secretsmanager.CfnRotationSchedule(
            self,
            "OpenF1TokenRotation",
            secret_id=self.openf1_secret.secret_arn,
            rotation_lambda_arn=self.poller.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                schedule_expression=f"rate({int(OPENF1_SECRET_ROTATION.to_hours())} hours)"
            ),
            rotate_immediately_on_update=False,
        )

    def grant_feed(self, grantee: iam.IGrantable, *, write: bool) -> None:
        """Item access to the live table (by its stage name: no cross-stack reference)."""
        arn = self.format_arn(service="dynamodb", resource="table", resource_name=self.table_name)
        actions = DYNAMODB_READ + (DYNAMODB_WRITE if write else [])
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[arn]))
