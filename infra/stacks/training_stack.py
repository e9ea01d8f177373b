"""Training stack: the training workflow state machine, its step Lambdas and the SageMaker training role.

The state machine is generated from :data:`pitwall.workflow.definition.WORKFLOW` (the same definition
the local runner executes): one state per step, in order, with the step's Retry and Catch policies.
Lambda tasks invoke ``functions/workflow/workflow_steps.py`` handlers (the DeployModel handler lives in
the serving stack); TrainModel is a SageMaker ``createTrainingJob.sync`` task whose image, instance
type, max runtime and hyper-parameters come from ``$.job`` (set from the tenant's tier by
ValidateAndReserveQuota: a GPU job on Pro gets the GPU instance and ``PITWALL_TRAINING_IMAGE_GPU``,
every other job a CPU instance and ``PITWALL_TRAINING_IMAGE``).

The marketplace verification state machine is built the same way from
:data:`pitwall.workflow.verification.VERIFICATION_WORKFLOW` (``functions/workflow/workflow_verification.py``
handlers; its VerifyModel state is the same SageMaker training task, run with the CPU model image whose
``train`` entry point turns to ``verify`` for a ``marketplace_verification`` job). :meth:`TrainingStack.connect_api`
lets the API Lambda start it (``PITWALL_VERIFICATION_STATE_MACHINE_ARN``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.access import (
    FEATURES,
    LAKE_PREFIX,
    MANIFESTS_PREFIX,
    MODELS_BUCKET,
    RAW,
    STEP_TABLES,
    grant_s3,
    grant_tables,
    store_environment,
    table_environment,
)
from infra.config import StageConfig
from infra.python_lambda import python_function, workflow_code
from infra.stacks.serving_stack import TRAINING_OUTPUT_PREFIX, ServingStack, grant_sagemaker_logs
from infra.stacks.tracking_stack import TrackingStack
from pitwall.platform.dynamo_tables import MARKETPLACE, TableSpec
from pitwall.workflow import verification
from pitwall.workflow.definition import START_AT, WORKFLOW, Step
from pitwall.workflow.steps import HYPERPARAMETER_NAMES

TRAINING_VOLUME_GIB = 30
TRAINING_IMAGE_PATH = "$.job.training_image"  # PITWALL_TRAINING_IMAGE or PITWALL_TRAINING_IMAGE_GPU
STATE_MACHINE_TIMEOUT = cdk.Duration.hours(10)  # longer than the longest tier runtime (Pro: 8 h)
VERIFICATION_TIMEOUT = cdk.Duration.hours(2)  # the verification job's max runtime is 1 h
VERIFICATION_TABLES = {"prepare_verification": False, "select_verification_data": False, "record_verification": True}
"""Marketplace-table access of the verification steps (write where True); RecordRejection writes too."""


@dataclass(frozen=True)
class WorkflowLambdas:
    """What differs between the Lambdas of the training and the verification workflows."""

    handler_module: str  # functions/workflow/<handler_module>.py
    title: str  # the functions' descriptions start with it
    chooses_image: str  # the task that names the job's image (gets the image variables)
    selects_data: str  # the task that lists the lake and writes the channel's manifest
    reads_outputs: frozenset[str]  # the tasks that read the training jobs' outputs
    tables: Callable[[str], dict[TableSpec, bool]]  # implementation -> tables (write where True)


def _verification_tables(implementation: str) -> dict[TableSpec, bool]:
    return {MARKETPLACE: VERIFICATION_TABLES.get(implementation, True)}


TRAINING_LAMBDAS = WorkflowLambdas(
    handler_module="workflow_steps",
    title="Training workflow",
    chooses_image="validate_and_reserve_quota",
    selects_data="build_features",
    reads_outputs=frozenset({"evaluate_challenger", "register_model"}),
    tables=STEP_TABLES.__getitem__,
)
VERIFICATION_LAMBDAS = WorkflowLambdas(
    handler_module="workflow_verification",
    title="Marketplace verification",
    chooses_image="prepare_verification",
    selects_data="select_verification_data",
    reads_outputs=frozenset({"record_verification"}),
    tables=_verification_tables,
)


class PrefixLocation(tasks.S3Location):
    """An S3 URI (fixed, or a JSON path token) for a SageMaker task that grants nothing when bound.

    ``S3Location.from_bucket`` would give the training role ``s3:DeleteObject*``/``s3:Abort*`` on the
    whole bucket and ``from_json_expression`` read access to every bucket (``*``); the role instead gets
    exactly the prefixes it needs (:func:`infra.access.grant_s3`).
    """

    def __init__(self, uri: str) -> None:
        super().__init__()
        self.uri = uri

    def bind(
        self, task: tasks.ISageMakerTask, *, for_reading: bool | None = None, for_writing: bool | None = None
    ) -> tasks.S3LocationConfig:
        return tasks.S3LocationConfig(uri=self.uri)


class TrainingStack(cdk.Stack):
    """The training state machine and everything it runs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        serving: ServingStack,
        tracking: TrackingStack | None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.features_bucket_name = config.bucket_name(FEATURES)

        self.training_role = iam.Role(
            self,
            "TrainingJobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker training jobs: read training tables, write model artifacts, log to MLflow",
        )
        grant_s3(self.training_role, self, config, RAW, prefix=f"{LAKE_PREFIX}/", read=True)
        grant_s3(self.training_role, self, config, FEATURES, prefix=MANIFESTS_PREFIX, read=True)
        # write: model artifacts; read: a listed model's artifact, checked by the verification job
        grant_s3(self.training_role, self, config, MODELS_BUCKET, prefix=TRAINING_OUTPUT_PREFIX, read=True, write=True)
        serving.grant_image_pull(self.training_role, gpu=True)
        grant_sagemaker_logs(self, self.training_role, "TrainingJobs")
        if tracking is not None:
            tracking.grant_client(self.training_role)
        self.training_environment = {"PITWALL_STAGE": config.stage}
        if tracking is not None:
            self.training_environment["MLFLOW_TRACKING_URI"] = tracking.tracking_server_arn
        self.model_image_uri = serving.model_image_uri
        self.training_image_environment = serving.training_image_environment()

        # The DeployModel Lambda lives in the serving stack; it is addressed by its stage name.
        deploy_arn = self.format_arn(
            service="lambda",
            resource="function",
            resource_name=config.deploy_function_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.step_functions: dict[str, lambda_.IFunction] = {
            "deploy_model": lambda_.Function.from_function_attributes(
                self, "DeployModelFunction", function_arn=deploy_arn, same_environment=True
            )
        }
        for step in WORKFLOW:
            if step.resource == "lambda" and step.implementation not in self.step_functions:
                self.step_functions[step.implementation] = self._step_function(step, TRAINING_LAMBDAS)
        self.state_machine = self._state_machine(
            "Training", config.name("training"), WORKFLOW, START_AT, timeout=STATE_MACHINE_TIMEOUT
        )

        for step in verification.VERIFICATION_WORKFLOW:
            if step.resource == "lambda" and step.implementation not in self.step_functions:
                self.step_functions[step.implementation] = self._step_function(step, VERIFICATION_LAMBDAS)
        self.verification_state_machine = self._state_machine(
            "Verification",
            config.name("verification"),
            verification.VERIFICATION_WORKFLOW,
            verification.START_AT,
            timeout=VERIFICATION_TIMEOUT,
        )

    def connect_api(self, api_function: lambda_.Function) -> None:
        """Let the API Lambda start verification executions (marketplace publish answers 202)."""
        api_function.add_environment(verification.STATE_MACHINE_ENV, self.verification_state_machine.state_machine_arn)
        self.verification_state_machine.grant_start_execution(api_function)

    def _state_machine(
        self, title: str, name: str, workflow: tuple[Step, ...], start_at: str, *, timeout: cdk.Duration
    ) -> sfn.StateMachine:
        """``<title>Workflow``: the state machine of ``workflow``, its log group and its ARN output."""
        log_group = logs.LogGroup(
            self,
            f"{title}WorkflowLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=self.config.removal_policy,
        )
        machine = sfn.StateMachine(
            self,
            f"{title}Workflow",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(self._states(workflow)[start_at]),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        cdk.CfnOutput(self, f"{title}StateMachineArn", value=machine.state_machine_arn)
        return machine

    def _step_function(self, step: Step, lambdas: WorkflowLambdas) -> lambda_.Function:
        """The Lambda of one task of a workflow, with exactly the access ``lambdas`` gives that task."""
        assert step.implementation is not None
        implementation = step.implementation
        environment = table_environment(self.config)
        if implementation == lambdas.chooses_image:
            environment.update(self.training_image_environment)  # the job's image follows its instance
        if implementation == lambdas.selects_data:
            environment.update(store_environment(self.config))
            environment["PITWALL_FEATURES_BUCKET"] = self.features_bucket_name
        function = python_function(
            self,
            f"{step.name}Function",
            config=self.config,
            code=workflow_code(),
            handler=f"{lambdas.handler_module}.{implementation}",
            description=f"{lambdas.title} {step.name}: {step.doc}"[:256],
            environment=environment,
            timeout=cdk.Duration.minutes(2),
        )
        if implementation == lambdas.selects_data:
            grant_s3(function, self, self.config, RAW, prefix=f"{LAKE_PREFIX}/", list_objects=True)
            grant_s3(function, self, self.config, FEATURES, prefix=MANIFESTS_PREFIX, write=True)
        if implementation in lambdas.reads_outputs:
            grant_s3(function, self, self.config, MODELS_BUCKET, prefix=TRAINING_OUTPUT_PREFIX, read=True)
        grant_tables(function, self, self.config, lambdas.tables(implementation))
        return function

    def _states(self, workflow: tuple[Step, ...]) -> dict[str, sfn.State]:
        """Every state of ``workflow``, created then wired (next, choices, retries, catches)."""
        states: dict[str, sfn.State] = {step.name: self._state(step) for step in workflow}
        for step in workflow:
            state = states[step.name]
            if step.kind == "task":
                assert isinstance(state, sfn.TaskStateBase)
                for policy in step.retry:
                    state.add_retry(
                        errors=list(policy.errors),
                        interval=cdk.Duration.seconds(policy.interval_seconds),
                        max_attempts=policy.max_attempts,
                        backoff_rate=policy.backoff_rate,
                    )
                for catch in step.catch:
                    state.add_catch(states[catch.next], errors=list(catch.errors), result_path=catch.result_path)
                assert step.next is not None
                state.next(states[step.next])
            elif step.kind == "choice":
                assert isinstance(state, sfn.Choice) and step.default is not None
                for rule in step.choices:
                    conditions = [sfn.Condition.boolean_equals(c.variable, c.equals) for c in rule.all_of]
                    condition = conditions[0] if len(conditions) == 1 else sfn.Condition.and_(*conditions)
                    state.when(condition, states[rule.next])
                state.otherwise(states[step.default])
        return states

    def _state(self, step: Step) -> sfn.State:
        if step.kind == "succeed":
            return sfn.Succeed(self, step.name, comment=step.doc)
        if step.kind == "fail":
            return sfn.Fail(self, step.name, comment=step.doc, error=step.error, cause=step.cause)
        if step.kind == "choice":
            return sfn.Choice(self, step.name, comment=step.doc)
        if step.resource == "sagemaker_training":
            return self._training_task(step)
        assert step.implementation is not None
        return tasks.LambdaInvoke(
            self,
            step.name,
            comment=step.doc,
            lambda_function=self.step_functions[step.implementation],
            payload_response_only=True,
            retry_on_service_exceptions=False,  # retries come from the workflow definition only
            result_path=step.result_path,
        )

    def _training_task(self, step: Step) -> tasks.SageMakerCreateTrainingJob:
        hyperparameter_names: Mapping[str, str] = {
            name: sfn.JsonPath.string_at(f"$.job.hyperparameters.{name}") for name in HYPERPARAMETER_NAMES
        }
        return tasks.SageMakerCreateTrainingJob(
            self,
            step.name,
            comment=step.doc,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            training_job_name=sfn.JsonPath.string_at("$.job.training_job_name"),
            role=self.training_role,
            algorithm_specification=tasks.AlgorithmSpecification(
                # CPU or GPU model image, as ValidateAndReserveQuota chose with the instance type
                training_image=tasks.DockerImage.from_json_expression(
                    sfn.JsonPath.string_at(TRAINING_IMAGE_PATH), allow_any_ecr_image_pull=False
                ),
                training_input_mode=tasks.InputMode.FILE,
            ),
            hyperparameters=dict(hyperparameter_names),
            environment=self.training_environment,
            input_data_config=[
                tasks.Channel(
                    channel_name="lake",
                    data_source=tasks.DataSource(
                        s3_data_source=tasks.S3DataSource(
                            s3_data_type=tasks.S3DataType.MANIFEST_FILE,
                            s3_location=PrefixLocation(sfn.JsonPath.string_at("$.features.uri")),
                        )
                    ),
                )
            ],
            output_data_config=tasks.OutputDataConfig(
                s3_output_location=PrefixLocation(
                    f"s3://{self.config.bucket_name(MODELS_BUCKET)}/{TRAINING_OUTPUT_PREFIX.rstrip('/')}"
                )
            ),
            resource_config=tasks.ResourceConfig(
                instance_count=1,
                instance_type=ec2.InstanceType(sfn.JsonPath.string_at("$.job.instance_type")),
                volume_size=cdk.Size.gibibytes(TRAINING_VOLUME_GIB),
            ),
            stopping_condition=tasks.StoppingCondition(
                max_runtime=cdk.Duration.seconds(sfn.JsonPath.number_at("$.job.max_runtime_seconds"))
            ),
            tags={"project": "pitwall", "stage": self.config.stage},
            result_path=step.result_path,
            result_selector={
                "training_job_name.$": "$.TrainingJobName",
                "model_artifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
                "status.$": "$.TrainingJobStatus",
            },
        )
