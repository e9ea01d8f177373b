"""The training workflow: ONE ordered definition read by the CDK stack and the local runner.

``WORKFLOW`` lists every state of the training state machine in order. ``infra/stacks/training_stack.py``
turns it into Step Functions states (Lambda tasks, the SageMaker ``createTrainingJob.sync`` task, the
deploy choice, the failure path) and :mod:`pitwall.workflow.local_runner` executes the same states with
in-process callables, so both paths share names, order, retry and catch policies.

State data follows Step Functions semantics: the execution input is a JSON object (the training request);
each task's result is stored under ``result_key`` (``$.<result_key>``) and the next state receives the
whole document. A caught error is stored under ``$.error`` as ``{"Error": name, "Cause": message}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StepKind = Literal["task", "choice", "succeed", "fail"]
TaskResource = Literal["lambda", "sagemaker_training"]

ALL_ERRORS = "States.ALL"

# Transient errors worth retrying: Lambda service throttling as Step Functions names it, and
# ``ThrottlingException`` raised by our own step code when DynamoDB/S3/SageMaker calls are throttled
# (see :class:`pitwall.workflow.errors.ThrottlingException`). The optimised SageMaker integration
# reports SageMaker API errors, throttling included, as ``SageMaker.AmazonSageMakerException``.
LAMBDA_THROTTLING_ERRORS = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.SdkClientException",
    "ThrottlingException",
)
SAGEMAKER_THROTTLING_ERRORS = ("SageMaker.AmazonSageMakerException", "ThrottlingException")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry ``errors`` up to ``max_attempts`` times, waiting ``interval_seconds * backoff_rate**n``."""

    errors: tuple[str, ...]
    interval_seconds: int = 2
    max_attempts: int = 3
    backoff_rate: float = 2.0


@dataclass(frozen=True)
class CatchPolicy:
    """On ``errors``, store ``{"Error", "Cause"}`` at ``result_path`` and go to ``next``."""

    next: str
    errors: tuple[str, ...] = (ALL_ERRORS,)
    result_path: str = "$.error"


@dataclass(frozen=True)
class BooleanCondition:
    """True when the boolean at JSON path ``variable`` (``$.a.b``) equals ``equals``."""

    variable: str
    equals: bool


@dataclass(frozen=True)
class ChoiceRule:
    """Go to ``next`` when every condition in ``all_of`` holds."""

    all_of: tuple[BooleanCondition, ...]
    next: str


@dataclass(frozen=True)
class Step:
    """One state of the workflow.

    ``implementation`` names the attribute of :class:`pitwall.workflow.local_runner.StepImplementations`
    (and the module in ``functions/workflow/``) that implements a task; ``resource`` says what runs it in
    the cloud: a Lambda handler or the SageMaker training job.
    """

    name: str
    kind: StepKind
    doc: str
    implementation: str | None = None
    resource: TaskResource | None = None
    result_key: str | None = None
    next: str | None = None
    retry: tuple[RetryPolicy, ...] = ()
    catch: tuple[CatchPolicy, ...] = ()
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def result_path(self) -> str | None:
        """The JSON path the task result is written to (``$.<result_key>``)."""
        return f"$.{self.result_key}" if self.result_key else None


LAMBDA_RETRY = (RetryPolicy(LAMBDA_THROTTLING_ERRORS, interval_seconds=2, max_attempts=3, backoff_rate=2.0),)
SAGEMAKER_RETRY = (RetryPolicy(SAGEMAKER_THROTTLING_ERRORS, interval_seconds=10, max_attempts=3, backoff_rate=2.0),)


def task(
    name: str,
    doc: str,
    *,
    implementation: str,
    result_key: str,
    next: str,
    failure_handler: str,
    resource: TaskResource = "lambda",
) -> Step:
    """A task state: retried on its resource's throttling errors, any other error caught to
    ``failure_handler`` (stored under ``$.error``)."""
    return Step(
        name=name,
        kind="task",
        doc=doc,
        implementation=implementation,
        resource=resource,
        result_key=result_key,
        next=next,
        retry=SAGEMAKER_RETRY if resource == "sagemaker_training" else LAMBDA_RETRY,
        catch=(CatchPolicy(next=failure_handler),),
    )


def failure_path(
    handler: str, failed: str, *, doc: str, implementation: str, failed_doc: str, error: str, cause: str
) -> tuple[Step, Step]:
    """The failure handler (a Lambda task every other task is caught to) and the fail state it ends in.

    The handler's own error is stored under ``$.failure_error`` and still ends in ``failed``, so a
    workflow whose failure could not be recorded still fails with ``error``."""
    return (
        Step(
            name=handler,
            kind="task",
            doc=doc,
            implementation=implementation,
            resource="lambda",
            result_key="failure",
            next=failed,
            retry=LAMBDA_RETRY,
            catch=(CatchPolicy(next=failed, result_path="$.failure_error"),),
        ),
        Step(name=failed, kind="fail", doc=failed_doc, error=error, cause=cause),
    )


FAILURE_HANDLER = "ReleaseQuotaAndRecordFailure"
FAILED = "WorkflowFailed"
SUCCEEDED = "WorkflowSucceeded"

WORKFLOW: tuple[Step, ...] = (
    task(
        "ValidateAndReserveQuota",
        "Check the queued job, its daily training-jobs reservation and the tier's limits.",
        implementation="validate_and_reserve_quota",
        result_key="job",
        next="BuildFeatures",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "BuildFeatures",
        "Find the template's training table for the seasons, check its size, start the job.",
        implementation="build_features",
        result_key="features",
        next="TrainModel",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "TrainModel",
        "Train (and tune) the challenger: a SageMaker training job in the cloud, in-process locally.",
        implementation="train_model",
        resource="sagemaker_training",
        result_key="training",
        next="EvaluateChallenger",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "EvaluateChallenger",
        "Compare the challenger's held-out metric with the deployed champion's.",
        implementation="evaluate_challenger",
        result_key="evaluation",
        next="RegisterModel",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "RegisterModel",
        "Register the artifact as a new model version; finish the job unless a deployment follows.",
        implementation="register_model",
        result_key="registration",
        next="ShouldDeploy",
        failure_handler=FAILURE_HANDLER,
    ),
    Step(
        name="ShouldDeploy",
        kind="choice",
        doc="Deploy only when the request asked for it and the challenger is not worse than the champion.",
        choices=(
            ChoiceRule(
                all_of=(
                    BooleanCondition("$.job.deploy", True),
                    BooleanCondition("$.evaluation.not_worse_than_champion", True),
                ),
                next="DeployModel",
            ),
        ),
        default=SUCCEEDED,
    ),
    task(
        "DeployModel",
        "Mark the version deployed and point the model's endpoint at it (serverless Free, instances Pro).",
        implementation="deploy_model",
        result_key="deployment",
        next=SUCCEEDED,
        failure_handler=FAILURE_HANDLER,
    ),
    Step(name=SUCCEEDED, kind="succeed", doc="The model is trained, registered and (if asked) deployed."),
    *failure_path(
        FAILURE_HANDLER,
        FAILED,
        doc="Record the job as failed; its training-jobs unit is given back if it never started running.",
        implementation="release_quota_and_record_failure",
        failed_doc="The training job failed; the job record holds the error.",
        error="TrainingWorkflowFailed",
        cause="A workflow step failed; see the job record for the error.",
    ),
)

START_AT = WORKFLOW[0].name


def steps_by_name() -> dict[str, Step]:
    """Every state of :data:`WORKFLOW` keyed by name."""
    return {step.name: step for step in WORKFLOW}


def get_step(name: str) -> Step:
    """The state called ``name``; ``KeyError`` naming the known states otherwise."""
    try:
        return steps_by_name()[name]
    except KeyError:
        raise KeyError(f"unknown workflow step {name!r}; known: {[s.name for s in WORKFLOW]}") from None


def task_steps() -> list[Step]:
    """The task states, in definition order."""
    return [step for step in WORKFLOW if step.kind == "task"]


def transitions(step: Step) -> list[str]:
    """Every state ``step`` can move to: next, choice targets, default and catch targets."""
    targets = [step.next] if step.next else []
    targets += [rule.next for rule in step.choices]
    targets += [step.default] if step.default else []
    targets += [policy.next for policy in step.catch]
    return targets


def validate_definition(workflow: tuple[Step, ...] = WORKFLOW) -> None:
    """Raise ``ValueError`` naming the state and the problem if ``workflow`` is not a valid machine.

    Checked: unique names, every transition targets a known state, tasks have an implementation, a
    resource and a result key, choices have rules and a default, terminal states have no transitions,
    and every state is reachable from the first.
    """
    names = [step.name for step in workflow]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"workflow: duplicate state names {duplicates}")
    known = set(names)
    for step in workflow:
        for target in transitions(step):
            if target not in known:
                raise ValueError(f"workflow state {step.name!r}: transition to unknown state {target!r}")
        if step.kind == "task":
            if not (step.implementation and step.resource and step.result_key and step.next):
                raise ValueError(
                    f"workflow state {step.name!r}: a task needs implementation, resource, result_key and next"
                )
        elif step.kind == "choice":
            if not step.choices or not step.default:
                raise ValueError(f"workflow state {step.name!r}: a choice needs rules and a default")
        elif transitions(step):
            raise ValueError(f"workflow state {step.name!r}: a {step.kind} state cannot have transitions")
    reachable: set[str] = set()
    frontier = [workflow[0].name]
    by_name = {step.name: step for step in workflow}
    while frontier:
        name = frontier.pop()
        if name not in reachable:
            reachable.add(name)
            frontier.extend(transitions(by_name[name]))
    unreachable = [n for n in names if n not in reachable]
    if unreachable:
        raise ValueError(f"workflow: states {unreachable} are unreachable from {workflow[0].name!r}")


validate_definition()
