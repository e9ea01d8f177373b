"""The local training workflow, end to end: the shared definition run by the local runner with
Pitwall's own training (``pitwall.training.train_template``) as the TrainModel step.

- ``train_step``: TrainModel for the local runner (the SageMaker image runs the same training).
- ``run_training_job``: run one submitted job through every workflow step.
- ``retrain_on_race``: a ``RaceIngested`` subscriber that retrains every auto-retrain model and
  deploys the challenger only when it is not worse than the champion.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pitwall.data.events import RaceIngested
from pitwall.workflow.local import default_implementations, local_ports
from pitwall.workflow.local_runner import ExecutionResult, run_workflow
from pitwall.workflow.retrain import RetrainOutcome, start_retraining
from pitwall.workflow.steps import WorkflowPorts


def train_step(state: Mapping[str, Any]) -> dict[str, Any]:
    """TrainModel: train the job's template on the lake the BuildFeatures step selected."""
    from pitwall.data.store import LocalStore
    from pitwall.training import train_template
    from pitwall.workflow.request import TrainingRequest

    job, features = state["job"], state["features"]
    request = TrainingRequest.from_params(job["template"], job["model_name"], job.get("params"))
    # the request's window (None: the template's default); the selected lake only bounds the data
    result = train_template(
        request.template,
        **request.train_kwargs(tenant_id=job["tenant_id"], job_id=job["job_id"]),
        register=False,  # RegisterModel registers it after EvaluateChallenger
        store=LocalStore(Path(features["uri"])),
        experiment=job.get("experiment") or None,
    )
    return {"model_artifacts": str(result.model_dir), "training_job_name": job.get("training_job_name")}


def run_training_job(
    tenant_id: str, job_id: str, *, deploy: bool, ports: WorkflowPorts | None = None
) -> ExecutionResult:
    """Run a submitted training job through the workflow definition, locally."""
    implementations = default_implementations(train_step, ports or local_ports())
    return run_workflow({"tenant_id": tenant_id, "job_id": job_id, "deploy": deploy}, implementations)


def retrain_on_race(event: RaceIngested, ports: WorkflowPorts | None = None) -> list[RetrainOutcome]:
    """Retrain every auto-retrain model after a race is ingested (local ``RaceIngested`` subscriber)."""
    from pitwall.platform import jobs

    p = ports or local_ports()

    def start(name: str, execution_input: dict[str, Any]) -> bool:
        # like Step Functions' execution names: a job that already left the queue is not started again
        job = jobs.get_job(execution_input["tenant_id"], execution_input["job_id"], backend=p.backend)
        if job.status != "queued":
            return False
        run_workflow(execution_input, default_implementations(train_step, p))
        return True

    return start_retraining(event.to_detail(), backend=p.backend, start=start)
