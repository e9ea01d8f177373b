"""Run the training workflow in-process, state by state, exactly as :data:`WORKFLOW` defines it.

The runner follows Step Functions semantics for the subset the workflow uses: a task's result is
written to ``$.<result_key>``; ``Retry`` policies retry matching errors with exponential backoff;
``Catch`` policies store ``{"Error", "Cause"}`` at their result path and jump; a ``Choice`` compares
booleans at JSON paths (a missing path fails the execution with ``States.Runtime``, as in AWS);
``Succeed``/``Fail`` end the execution.

Step code is injected through :class:`StepImplementations`: one callable per task, taking the whole
state document and returning the step's JSON result. :func:`pitwall.workflow.local.default_implementations`
wires the local defaults; the ML engine's feature building and training are plugged in there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pitwall.workflow.definition import ALL_ERRORS, WORKFLOW, Step, validate_definition
from pitwall.workflow.errors import error_name

StepFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class StepImplementations:
    """One callable per task of :data:`WORKFLOW`; field names equal the steps' ``implementation``."""

    validate_and_reserve_quota: StepFn
    build_features: StepFn
    train_model: StepFn
    evaluate_challenger: StepFn
    register_model: StepFn
    deploy_model: StepFn
    release_quota_and_record_failure: StepFn

    def for_step(self, step: Step) -> StepFn:
        """The callable implementing ``step`` (a task)."""
        if step.implementation is None or not hasattr(self, step.implementation):
            raise KeyError(f"no implementation {step.implementation!r} for workflow step {step.name!r}")
        return getattr(self, step.implementation)


IMPLEMENTATION_NAMES = tuple(f.name for f in fields(StepImplementations))


@dataclass
class StepAttempt:
    """One attempt at a task: ``error`` is None when it succeeded."""

    step: str
    attempt: int
    error: str | None = None
    cause: str | None = None


@dataclass
class ExecutionResult:
    """What a local execution did: final status, output document, states visited, task attempts."""

    status: Literal["SUCCEEDED", "FAILED"]
    output: dict[str, Any]
    path: list[str] = field(default_factory=list)
    attempts: list[StepAttempt] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class WorkflowRuntimeError(Exception):
    """A state could not be evaluated (e.g. a Choice variable is missing): ``States.Runtime`` in AWS."""


def get_path(document: Mapping[str, Any], path: str) -> Any:
    """The value at a ``$.a.b`` JSON path; ``KeyError`` naming the path if any part is missing."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise ValueError(f"unsupported JSON path {path!r}: expected '$' or '$.a.b'")
    value: Any = document
    for part in path[2:].split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"JSON path {path!r} not found in the state")
        value = value[part]
    return value


def set_path(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with ``value`` stored at the ``$.a.b`` path (intermediate objects created)."""
    if path == "$":
        if not isinstance(value, dict):
            raise WorkflowRuntimeError("a result stored at '$' must be a JSON object")
        return value
    out = json.loads(json.dumps(document))
    target = out
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return out


def _matches(errors: tuple[str, ...], name: str) -> bool:
    return ALL_ERRORS in errors or name in errors or ("States.TaskFailed" in errors and name != "States.Timeout")


def _run_task(
    step: Step, fn: StepFn, state: dict[str, Any], attempts: list[StepAttempt], sleep: Callable[[float], None]
) -> dict[str, Any]:
    """Call ``fn`` with ``step``'s retry policies; return its JSON result or raise the final error."""
    retries_used = [0] * len(step.retry)
    attempt = 0
    while True:
        attempt += 1
        try:
            result = fn(json.loads(json.dumps(state)))
            result = json.loads(json.dumps(result, allow_nan=False))
        except Exception as exc:  # noqa: BLE001 - every step error is matched against Retry/Catch
            name = error_name(exc)
            attempts.append(StepAttempt(step.name, attempt, name, str(exc)))
            for i, policy in enumerate(step.retry):
                if _matches(policy.errors, name):
                    if retries_used[i] < policy.max_attempts:
                        sleep(policy.interval_seconds * policy.backoff_rate ** retries_used[i])
                        retries_used[i] += 1
                        break
                    raise
            else:
                raise
            continue
        attempts.append(StepAttempt(step.name, attempt))
        return result


def run_workflow(
    execution_input: Mapping[str, Any],
    implementations: StepImplementations,
    *,
    workflow: tuple[Step, ...] = WORKFLOW,
    sleep: Callable[[float], None] = time.sleep,
    max_transitions: int = 100,
) -> ExecutionResult:
    """Execute ``workflow`` on ``execution_input`` with the injected step callables.

    Never raises for a step failure: the result says ``FAILED`` with the error name and cause, like a
    Step Functions execution. ``sleep`` is called with each retry's wait in seconds.
    """
    validate_definition(workflow)
    by_name = {step.name: step for step in workflow}
    state: dict[str, Any] = json.loads(json.dumps(dict(execution_input)))
    result = ExecutionResult(status="FAILED", output=state)
    current: str | None = workflow[0].name
    while current is not None:
        if len(result.path) >= max_transitions:
            result.error, result.cause = "States.Runtime", f"more than {max_transitions} state transitions"
            return result
        step = by_name[current]
        result.path.append(step.name)
        if step.kind == "succeed":
            result.status, result.output = "SUCCEEDED", state
            return result
        if step.kind == "fail":
            result.output, result.error, result.cause = state, step.error, step.cause
            return result
        if step.kind == "choice":
            try:
                current = choose(step, state)
            except WorkflowRuntimeError as exc:
                result.output, result.error, result.cause = state, "States.Runtime", str(exc)
                return result
            continue
        try:
            output = _run_task(step, implementations.for_step(step), state, result.attempts, sleep)
        except Exception as exc:  # noqa: BLE001 - matched against Catch; uncaught ends the execution
            name = error_name(exc)
            catcher = next((c for c in step.catch if _matches(c.errors, name)), None)
            if catcher is None:
                result.output, result.error, result.cause = state, name, str(exc)
                return result
            state = set_path(state, catcher.result_path, {"Error": name, "Cause": str(exc)})
            current = catcher.next
            continue
        state = set_path(state, step.result_path or "$", output)
        current = step.next
    raise AssertionError("unreachable: every path ends in a succeed or fail state")


def choose(step: Step, state: Mapping[str, Any]) -> str:
    """The state a Choice moves ``state`` to; :class:`WorkflowRuntimeError` like ``States.Runtime``."""
    for rule in step.choices:
        holds = True
        for condition in rule.all_of:
            try:
                value = get_path(state, condition.variable)
            except KeyError as exc:
                raise WorkflowRuntimeError(
                    f"choice {step.name!r}: invalid path {condition.variable!r}: {exc.args[0]}"
                ) from None
            if not isinstance(value, bool):
                raise WorkflowRuntimeError(
                    f"choice {step.name!r}: {condition.variable} must be a boolean; got {value!r}"
                )
            holds = holds and value == condition.equals
        if holds:
            return rule.next
    if step.default is None:
        raise WorkflowRuntimeError(f"choice {step.name!r}: no rule matched and there is no default")
    return step.default
