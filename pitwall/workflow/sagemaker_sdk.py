"""Cloud training from a notebook with the SageMaker Python SDK v3 (``pip install 'pitwall[sagemaker]'``).

:func:`train_with_sdk` runs the SDK's ``ModelTrainer`` (v3's replacement of ``Estimator``) with Pitwall's
training image, the ``lake`` channel and the hyper-parameters of the ONE training request
(:class:`pitwall.workflow.request.TrainingRequest`, spelled by
:func:`pitwall.workflow.steps.training_hyperparameters`: exactly what the Step Functions workflow sends,
read back by the image's ``pitwall_image.hyperparameters``), named ``pitwall-...`` like every Pitwall
resource (the IAM policies' prefix). The workflow's own TrainModel step stays on boto3 / Step Functions.
Local mode (``Mode.LOCAL_CONTAINER``) needs Docker: pass ``training_mode`` through ``trainer_options``
where a Docker engine exists.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

from pitwall.config import LOCAL_TENANT
from pitwall.platform.clock import utc_now
from pitwall.platform.records import JobRecord
from pitwall.serving.errors import ServingUnavailable
from pitwall.serving.sagemaker import ROLE_ARN_ENV, lake_environment, sagemaker_name
from pitwall.serving.sagemaker_sdk import require_sdk, sdk_session
from pitwall.workflow.request import TrainingRequest
from pitwall.workflow.steps import training_hyperparameters

TRAINING_IMAGE_ENV = "PITWALL_TRAINING_IMAGE"
LAKE_CHANNEL = "lake"
JOB_BASE_MAX = 47  # ModelTrainer appends "-YYYYmmddHHMMSS" and cuts names at 63 characters


def request_hyperparameters(
    request: TrainingRequest, *, tenant_id: str, job_id: str, experiment: str | None = None
) -> dict[str, str]:
    """The training job's hyper-parameters for ``request`` (a :class:`TrainingRequest`): the workflow's
    own spelling (:func:`pitwall.workflow.steps.training_hyperparameters`), read back by the image."""
    now = utc_now().isoformat()
    job = JobRecord(
        job_id=job_id,
        tenant_id=tenant_id,
        kind=request.kind,
        model_name=request.model_name,
        template=request.template,
        status="queued",
        created_at=now,
        updated_at=now,
        max_runtime_seconds=0,
        params=request.to_params(),
        experiment=experiment,
    )
    return training_hyperparameters(job, request)


def train_with_sdk(
    request: TrainingRequest,
    *,
    lake_uri: str,
    session: Any = None,
    role_arn: str | None = None,
    image_uri: str | None = None,
    instance_type: str = "ml.m5.xlarge",
    max_runtime_seconds: int = 3600,
    tenant_id: str = LOCAL_TENANT,
    job_id: str | None = None,
    experiment: str | None = None,
    output_path: str | None = None,
    wait: bool = False,
    trainer_options: Mapping[str, Any] | None = None,
) -> Any:
    """Start a SageMaker training job for ``request`` with the SDK's ``ModelTrainer``; returns the SDK's
    ``TrainingJob`` (``.wait()``, ``.refresh()``, ``.model_artifacts``).

    ``lake_uri``: the ``s3://`` prefix of the Store's parquet tree (the image's ``lake`` channel); the
    image is ``image_uri`` or ``$PITWALL_TRAINING_IMAGE`` and the role ``role_arn`` or
    ``$PITWALL_SAGEMAKER_ROLE_ARN``. ``trainer_options`` pass through to ``ModelTrainer`` (e.g.
    ``training_mode=Mode.LOCAL_CONTAINER`` where Docker exists)."""
    require_sdk("training with the SageMaker SDK")
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, StoppingCondition
    from sagemaker.train import ModelTrainer

    role_arn = role_arn or os.environ.get(ROLE_ARN_ENV)
    image_uri = image_uri or os.environ.get(TRAINING_IMAGE_ENV)
    if not role_arn or not image_uri:
        raise ServingUnavailable(
            f"SageMaker training needs role_arn/image_uri (or {ROLE_ARN_ENV} and {TRAINING_IMAGE_ENV})",
            code="training_not_configured",
        )
    if not str(lake_uri).startswith("s3://"):
        raise ValueError(f"lake_uri: expected the s3:// prefix of the lake, got {lake_uri!r}")
    job_id = job_id or uuid.uuid4().hex[:12]
    session = session if session is not None else sdk_session()
    hyperparameters = request_hyperparameters(request, tenant_id=tenant_id, job_id=job_id, experiment=experiment)
    options: dict[str, Any] = {
        "sagemaker_session": session,
        "role": role_arn,
        "training_image": image_uri,
        "base_job_name": sagemaker_name(tenant_id, request.model_name, max_len=JOB_BASE_MAX),
        "compute": Compute(instance_type=instance_type, instance_count=1),
        "stopping_condition": StoppingCondition(max_runtime_in_seconds=int(max_runtime_seconds)),
        "hyperparameters": hyperparameters,
        "environment": lake_environment(),
        **({"output_data_config": OutputDataConfig(s3_output_path=output_path)} if output_path else {}),
        **dict(trainer_options or {}),
    }
    trainer = ModelTrainer(**options)
    trainer.train(input_data_config=[InputData(channel_name=LAKE_CHANNEL, data_source=str(lake_uri))], wait=wait)
    return trainer._latest_training_job
