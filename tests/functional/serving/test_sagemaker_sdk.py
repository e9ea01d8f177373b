"""The SageMaker Python SDK path (``pitwall[sagemaker]``) with the SDK's Session over moto.

- ``model.deploy(target="sagemaker")``: the SDK's Model / EndpointConfig / Endpoint with Pitwall's image,
  the artifact packed and uploaded, the tier's variant, the registry flipped; its Predictor sends the
  prediction API's body and returns the container's answer (what ``pitwall serve`` answers).
- ``train_with_sdk``: the SDK's ModelTrainer with Pitwall's training image, the ``lake`` channel and the
  ONE training request's hyper-parameters, which the image parses back into the same training kwargs.
- Without the extra: a clear error naming ``pip install 'pitwall[sagemaker]'``.

moto deviations handled here: it answers unset optional structures as ``{}`` (AWS omits them, the SDK's
pydantic shapes refuse them), so an ``after-call`` hook drops empty objects; it has no
``SimulatePrincipalPolicy``, so the SDK's client-side role check is off (``SAGEMAKER_VALIDATE_ROLE=false``).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("sagemaker.train", reason="the pitwall[sagemaker] extra")

import boto3  # noqa: E402
import requests  # noqa: E402
from moto import mock_aws  # noqa: E402

from pitwall.platform import keys  # noqa: E402
from pitwall.serving import sagemaker_sdk as S  # noqa: E402
from pitwall.workflow import sagemaker_sdk as W  # noqa: E402
from pitwall.workflow.request import TrainingRequest  # noqa: E402

REGION = "us-east-1"
BUCKET = "pitwall-notebook"
ROLE = "arn:aws:iam::123456789012:role/pitwall-sagemaker"
INFERENCE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pitwall-model:cpu"
TRAINING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pitwall-model:train"
FEATURES = ["grid", "prev_position", "avg_pos_last3", "season_points_before", "team_prev_best"]
NO_TELEMETRY = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
IMAGE_SOURCE = Path(__file__).resolve().parents[3] / "training_images"


def _drop_empty_objects(parsed: dict[str, Any], **_: Any) -> None:
    for key in [k for k, v in parsed.items() if v == {}]:
        parsed.pop(key)


@pytest.fixture
def invocations() -> list[dict[str, Any]]:
    """The InvokeEndpoint requests the SDK sends (as botocore builds them)."""
    return []


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, invocations: list[dict[str, Any]]) -> Any:
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("PITWALL_BUCKET", "PITWALL_PREFIX", "PITWALL_GLUE_DATABASE", "PITWALL_ATHENA_WORKGROUP"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        boto_session = boto3.Session(region_name=REGION)
        boto_session.events.register("after-call.sagemaker", _drop_empty_objects)
        boto_session.events.register(
            "before-call.sagemaker-runtime.InvokeEndpoint", lambda params, **_: invocations.append(params)
        )
        boto_session.client("s3").create_bucket(Bucket=BUCKET)
        yield boto_session


@pytest.fixture
def session(aws: Any) -> Any:
    return S.sdk_session(aws, sagemaker_config=NO_TELEMETRY, default_bucket=BUCKET)


@pytest.fixture
def registered(shared_data: Path) -> Any:
    """A CatBoost race-winner model (2022-2023) registered for the local tenant, as a notebook would."""
    import importlib.util

    import pitwall.sdk as sdk
    from pitwall.ml import ModelBuilder

    source = Path(__file__).resolve().parents[1] / "ml" / "conftest.py"  # the small real frame of the ML tests
    spec = importlib.util.spec_from_file_location("pitwall_ml_test_frame", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = module.build_frame(shared_data)
    model = ModelBuilder("ranking", "position", features=FEATURES, top_k=1).train(
        frame, "catboost", params={"iterations": 30}
    )
    keys.ensure_tenant("local")
    return sdk.register(model, "winner", template="race_winner"), frame


def test_deploy_target_sagemaker_uses_the_sdk_model_endpoint_and_predictor(
    aws: Any, session: Any, registered: Any, invocations: list[dict[str, Any]], tmp_path: Path
) -> None:
    from pitwall.platform.models import get_model
    from pitwall.serving.deploy import LocalServing

    model, frame = registered
    deployment = model.deploy(target="sagemaker", session=session, role_arn=ROLE, image_uri=INFERENCE_IMAGE)
    assert isinstance(deployment, S.SdkDeployment)
    assert deployment.backend == "sagemaker-sdk" and deployment.status == "deployed" and deployment.version == 1
    assert deployment.endpoint == S.SdkServing.endpoint_name("local", "winner")
    assert deployment.endpoint.startswith("pitwall-")
    assert get_model("local", "winner").deployed_version == 1  # the registry follows, as for any deploy

    sm = aws.client("sagemaker")
    described = sm.describe_model(ModelName=S.sagemaker_name("local", "winner", "v1"))
    container = described["PrimaryContainer"]
    assert container["Image"] == INFERENCE_IMAGE and described["ExecutionRoleArn"] == ROLE
    record = model.record
    assert container["Environment"] == {
        "PITWALL_TENANT": "local",
        "PITWALL_MODEL": "winner",
        "PITWALL_MODEL_VERSION": "1",
        "PITWALL_TEMPLATE": "race_winner",
        "PITWALL_MODEL_SHA256": record.sha256,
    }
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/pitwall/models/local/winner/v1/model.tar.gz"
    blob = aws.client("s3").get_object(Bucket=BUCKET, Key="pitwall/models/local/winner/v1/model.tar.gz")["Body"]
    uploaded = blob.read()
    with tarfile.open(fileobj=io.BytesIO(uploaded), mode="r:gz") as tar:
        names = sorted(tar.getnames())
    assert names == ["metadata.json", "model.cbm"]  # files at the root, as /opt/ml/model expects
    artifact = Path(record.artifact_uri)
    for name in names:  # packing again later gives the same bytes: no file time or packing time in them
        os.utime(artifact / name, (1_000_000_000, 1_000_000_000))
    assert S.pack_artifact(artifact, tmp_path / "again.tar.gz").read_bytes() == uploaded

    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=deployment.endpoint)["EndpointConfigName"]
    )
    (variant,) = config["ProductionVariants"]
    assert variant["ModelName"] == S.sagemaker_name("local", "winner", "v1")
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)  # the local tenant is Pro

    # the endpoint answers what the container's invocation logic answers for the same body
    rows = frame[[*FEATURES, "driver_id", "race_id"]].iloc[:4]
    payload = {"instances": json.loads(rows.to_json(orient="records"))}
    expected = LocalServing().invoke(get_model("local", "winner"), payload)
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"results": [{"Body": json.dumps(expected), "ContentType": "application/json"}]},
        timeout=5,
    )
    predictor = S.Predictor(deployment.endpoint, S.sdk_session(aws, sagemaker_config=NO_TELEMETRY))
    answer = predictor.predict(pd.DataFrame(payload["instances"]))  # a DataFrame goes as instances
    assert answer == expected and answer["predictions"][0]["rank"] == 1
    (request,) = invocations
    assert json.loads(request["body"]) == payload
    assert request["headers"]["Content-Type"] == "application/json"

    S.SdkServing(session, role_arn=ROLE, image_uri=INFERENCE_IMAGE).remove("local", "winner")
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []


def test_train_with_sdk_sends_the_one_training_requests_hyperparameters(aws: Any, session: Any) -> None:
    request = TrainingRequest("race_winner", "winner", algorithm="catboost", seasons=(2022, 2023), cv_folds=3)
    job = W.train_with_sdk(
        request,
        lake_uri="s3://pitwall-lake/pitwall",
        session=session,
        role_arn=ROLE,
        image_uri=TRAINING_IMAGE,
        instance_type="ml.m5.large",
        max_runtime_seconds=1800,
        tenant_id="local",
        job_id="nb-1",
    )
    assert type(job).__name__ == "TrainingJob" and job.training_job_name.startswith("pitwall-local-winner-")
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=job.training_job_name)
    assert described["AlgorithmSpecification"]["TrainingImage"] == TRAINING_IMAGE
    assert described["RoleArn"] == ROLE
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert described["StoppingCondition"]["MaxRuntimeInSeconds"] == 1800
    (channel,) = described["InputDataConfig"]
    assert channel["ChannelName"] == "lake"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://pitwall-lake/pitwall"

    hyperparameters = described["HyperParameters"]
    assert hyperparameters == W.request_hyperparameters(request, tenant_id="local", job_id="nb-1")
    assert json.loads(hyperparameters["params"]) == request.to_params()
    # the training image reads them back into the same request and training call
    sys.path.insert(0, str(IMAGE_SOURCE))
    try:
        from pitwall_image.hyperparameters import parse_hyperparameters
    finally:
        sys.path.remove(str(IMAGE_SOURCE))
    parsed = parse_hyperparameters(hyperparameters)
    assert parsed.train_kwargs() == request.train_kwargs(tenant_id="local", job_id="nb-1")


def test_without_the_extra_the_error_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, registered: Any
) -> None:
    monkeypatch.setitem(sys.modules, "sagemaker.train", None)  # as if pitwall[sagemaker] were not installed
    with pytest.raises(S.SageMakerSDKMissing, match=r"pip install 'pitwall\[sagemaker\]'"):
        S.sdk_session()
    model, _ = registered
    with pytest.raises(ImportError, match=r"pip install 'pitwall\[sagemaker\]'"):
        model.deploy(target="sagemaker", role_arn=ROLE, image_uri=INFERENCE_IMAGE)
    with pytest.raises(ImportError, match=r"pip install 'pitwall\[sagemaker\]'"):
        W.train_with_sdk(TrainingRequest("race_winner", "winner"), lake_uri="s3://lake/x")
    with pytest.raises(ValueError, match="target"):
        model.deploy(target="sagemaker-local")


def test_the_sdk_is_imported_only_when_used() -> None:
    """The cloud's code paths (API, workflow, boto3 serving) and this module's import stay SDK-free."""
    import subprocess

    code = (
        "import sys\n"
        "import pitwall.serving.sagemaker_sdk, pitwall.workflow.sagemaker_sdk\n"
        "import pitwall.serving.deploy, pitwall.serving.sagemaker\n"
        "import pitwall.workflow.steps, pitwall.sdk\n"
        "loaded = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
