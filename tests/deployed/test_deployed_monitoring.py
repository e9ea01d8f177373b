"""Model monitoring as deployed, behind moto: the endpoint container captures, the monitoring job scores,
the API reads what the job wrote.

- The endpoint's environment is what ``SageMakerServing.prepare`` puts in the SageMaker model when the
  synthesized deploy function deploys (its lake, capture and state variables; the model's identity).
- The image's ``serve`` entry point, started with that environment, captures every answered prediction
  to the capture prefix of the models bucket under the endpoint's tenant/model/version, at the
  deployment's rate (its settings in the S3 state, written as the deploy route writes them); a capture
  that cannot be written never fails the prediction.
- The synthesized monitoring job (its image's packages), invoked with the ``RaceIngested`` event as
  EventBridge delivers it, scores a live verified race from a capture made before the race and
  reconstructs a race nobody asked about from the model artifact in S3 (SageMaker's ``model.tar.gz``).
- The synthesized API Lambda answers ``GET /api/v1/models/{model}/monitoring`` from the summary the job
  pushed to S3; another tenant gets 404.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.deployed import support
from tests.deployed.model_image import ServeContainer, train_race_winner
from tests.support.environment import environ

RACE = "monaco_2024"  # 2024-08
RACE_ID = "2024-08"
LIVE_MODEL = "winner_live"
SAMPLED_MODEL = "winner_sampled"
BROKEN_SINK_MODEL = "winner_nosink"
RECON_MODEL = "winner_recon"
SAMPLED_RATE = 30.0
SAMPLED_REQUESTS = 300
STUB_INTERNET = ["feature_jobs.ingest_latest:fastf1_rounds_loader"]


def _function(functions: list[support.Function], handler: str) -> support.Function:
    (function,) = [f for f in functions if f.handler == handler]
    return function


def _state_env(api: support.Function) -> dict[str, str]:
    """The capture and state variables of the API function (the deploy route's process)."""
    from pitwall.serving.sagemaker import MONITORING_ENV

    return {k: api.environment[k] for k in MONITORING_ENV if k in api.environment}


@pytest.fixture(scope="module")
def cloud(
    functions: list[support.Function],
    api_function: support.Function,
    aws: dict[str, Any],
    platform_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> dict[str, Any]:
    """The lake (2022-2024 F1DB) in S3, a race-winner model trained by the image's train entry point on
    2022-2023, uploaded as SageMaker's ``model.tar.gz`` and registered for tenant acme."""
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store.aws import AwsStore
    from pitwall.ml.artifacts import sha256_file
    from pitwall.serving.sagemaker import lake_environment

    deploy = _function(functions, "workflow_steps.deploy_model")
    lake = lake_environment(deploy.environment)
    with environ({k: v for k, v in lake.items() if k != "PITWALL_BACKEND"}):
        ingest_f1db(AwsStore.from_env(), shared_data / "f1db", seasons=[2022, 2023, 2024], workers=1)
    trained = train_race_winner(tmp_path_factory, shared_data, "opt-ml-monitoring")

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for file in sorted(trained.model_dir.rglob("*")):
            tar.add(file, arcname=str(file.relative_to(trained.model_dir)))
    bucket = api_function.environment["PITWALL_MODELS_BUCKET"]
    key = "training-output/acme/pitwall-acme-monitoring/output/model.tar.gz"
    boto3.client("s3", region_name=support.REGION).put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return {
        "deploy": deploy,
        "lake": lake,
        "trained": trained,
        "model_dir": trained.model_dir,
        "artifact_uri": f"s3://{bucket}/{key}",
        "sha256": sha256_file(trained.model_dir / "metadata.json"),
        "metadata": trained.metadata,
        "bucket": bucket,
    }


def _register(cloud: dict[str, Any], tenant: str, name: str) -> Any:
    """Register the trained artifact as ``name`` and mark it deployed (as the workflow's steps do)."""
    from pitwall.platform.models import deploy_model, register_model
    from pitwall.platform.records import Principal

    meta = cloud["metadata"]
    record = register_model(
        tenant, name, template=meta["template"], task=meta["task"], algorithm=meta["algorithm"],
        features=meta["features"], target=meta["target"], data_window=meta["data_window"],
        metrics=meta.get("metrics") or {}, baseline_metrics=meta.get("baseline_metrics") or {},
        artifact_uri=cloud["artifact_uri"], sha256=cloud["sha256"], params=meta.get("params") or {},
    )  # fmt: skip
    deploy_model(Principal(tenant, "pro"), name, record.version)
    return record


def _endpoint_environment(cloud: dict[str, Any], record: Any) -> dict[str, str]:
    """The SageMaker model's container environment, created by ``SageMakerServing.prepare`` in the
    deploy function's environment (moto's SageMaker keeps it)."""
    from pitwall.platform.records import Principal
    from pitwall.serving.sagemaker import SageMakerServing, sagemaker_name

    deploy_env = {k: v for k, v in cloud["deploy"].environment.items() if k.startswith("PITWALL_")}
    with environ(deploy_env):
        serving = SageMakerServing()
        serving.prepare(Principal(record.tenant_id, "pro"), record, None)
        model = serving.sm.describe_model(ModelName=sagemaker_name(record.tenant_id, record.name, f"v{record.version}"))
    return dict(model["PrimaryContainer"]["Environment"])


def _configure(api_function: support.Function, tenant: str, name: str, capture_percent: float) -> None:
    """What ``POST /api/v1/models/{model}/deploy`` with ``capture_percent`` saves, in the API's environment."""
    from pitwall.monitoring.settings import configure

    with environ(_state_env(api_function)):
        configure(tenant, name, capture_percent=capture_percent)


@dataclass
class Endpoints:
    """The tenant's deployments of the trained artifact, each with its endpoint's container."""

    cloud: dict[str, Any]
    aws: dict[str, Any]
    api_function: support.Function
    tenant: str
    tmp_path_factory: pytest.TempPathFactory

    def start(
        self, name: str, capture_percent: float | None, **overrides: str
    ) -> tuple[dict[str, str], ServeContainer]:
        """Register and deploy ``name`` (its capture rate saved as the deploy route saves it, unless
        None) and start the image's ``serve`` with its SageMaker model's environment (``overrides``
        replacing some of it); returns that environment and the container."""
        record = _register(self.cloud, self.tenant, name)
        if capture_percent is not None:
            _configure(self.api_function, self.tenant, name, capture_percent)
        env = {**_endpoint_environment(self.cloud, record), **overrides}
        home = self.tmp_path_factory.mktemp(f"endpoint-{name}")
        return env, ServeContainer(self.cloud["trained"], {**self.aws["env"], **env}, home)


@pytest.fixture
def endpoints(
    cloud: dict[str, Any],
    aws: dict[str, Any],
    api_function: support.Function,
    tenant_key: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Endpoints:
    return Endpoints(cloud, aws, api_function, tenant_key["tenant"], tmp_path_factory)


def _instance(cloud: dict[str, Any], i: int) -> dict[str, float]:
    """One explicit instance with every feature of the model (grid position ``1 + i % 20``)."""
    return {f: float(1 + i % 20) if "position" in f else 0.5 for f in cloud["metadata"]["features"]}


def _captures(cloud: dict[str, Any], env: Mapping[str, str], tenant: str, name: str) -> Any:
    from pitwall.monitoring.capture_aws import BUCKET_ENV, DEFAULT_PREFIX, PREFIX_ENV, S3CaptureSink

    return S3CaptureSink(env[BUCKET_ENV], env.get(PREFIX_ENV, DEFAULT_PREFIX)).read(tenant, name)


def test_the_endpoint_container_captures_every_answered_prediction_to_s3(
    cloud: dict[str, Any], endpoints: Endpoints
) -> None:
    tenant = endpoints.tenant
    env, container = endpoints.start(LIVE_MODEL, 100)
    try:
        assert env["PITWALL_CAPTURE_BUCKET"] == cloud["bucket"] and env["PITWALL_MONITORING_BUCKET"] == cloud["bucket"]
        assert (env["PITWALL_TENANT"], env["PITWALL_MODEL"], env["PITWALL_MODEL_VERSION"]) == (tenant, LIVE_MODEL, "1")
        race = container.post({"race": RACE})
        assert race.status_code == 200, (race.text, container.log())
        instances = container.post({"instances": [_instance(cloud, 0), _instance(cloud, 11)]})
        assert instances.status_code == 200, (instances.text, container.log())
        refused = container.post({"race": "no_such_race_1950"})
        assert 400 <= refused.status_code < 500, refused.text
    finally:
        container.stop()  # writes what is still queued
    captures = _captures(cloud, env, tenant, LIVE_MODEL)
    assert captures["capture_id"].nunique() == 2, container.log()  # the refused request is not captured
    assert set(captures["tenant_id"]) == {tenant} and set(captures["model"]) == {LIVE_MODEL}
    assert set(captures["version"]) == {1} and set(captures["template"]) == {"race_winner"}
    race_rows = captures[captures["request_kind"] == "race"]
    predictions = race.json()["predictions"]
    assert set(race_rows["race_id"]) == {RACE_ID} and len(race_rows) == len(predictions)
    assert sorted(race_rows["entity"]) == sorted(p["driver_id"] for p in predictions)
    by_driver = {p["driver_id"]: p for p in predictions}
    for _, row in race_rows.iterrows():
        assert row["rank"] == by_driver[row["entity"]]["rank"]
        assert set(json.loads(row["features"])) == set(cloud["metadata"]["features"])
    assert len(captures[captures["request_kind"] == "instances"]) == 2
    assert _captures(cloud, env, "rival", LIVE_MODEL).empty  # another tenant's prefix holds nothing of it


def test_the_container_honours_the_deployments_capture_rate(cloud: dict[str, Any], endpoints: Endpoints) -> None:
    tenant = endpoints.tenant
    env, container = endpoints.start(SAMPLED_MODEL, SAMPLED_RATE)
    try:
        for i in range(SAMPLED_REQUESTS):
            answer = container.post({"instances": [_instance(cloud, i)]})
            assert answer.status_code == 200, answer.text
    finally:
        container.stop()
    kept = _captures(cloud, env, tenant, SAMPLED_MODEL)["capture_id"].nunique()
    p = SAMPLED_RATE / 100
    mean, sd = SAMPLED_REQUESTS * p, (SAMPLED_REQUESTS * p * (1 - p)) ** 0.5
    print(f"\ncaptured {kept} of {SAMPLED_REQUESTS} requests at {SAMPLED_RATE:g}% (expected {mean:.0f} +/- {sd:.1f})")
    assert abs(kept - mean) <= 4 * sd, (kept, mean, sd)


def test_a_capture_that_cannot_be_written_never_fails_the_prediction(
    cloud: dict[str, Any], endpoints: Endpoints
) -> None:
    _, container = endpoints.start(BROKEN_SINK_MODEL, None, PITWALL_CAPTURE_BUCKET="no-such-capture-bucket")
    try:
        answers = [container.post({"race": RACE}), container.post({"instances": [_instance(cloud, 1)]})]
    finally:
        container.stop()
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["predictions"]
    assert "capture(s) failed" in container.log_path.read_text(errors="replace")  # logged, not raised


def _capture_before_the_race(cloud: dict[str, Any], env: Mapping[str, str]) -> str:
    """A race request answered and captured by the image's serving code before Monaco 2024 (the
    container's clock set to the Saturday): what makes a race *live verified*."""
    sys.path.insert(0, str(support.REPO_ROOT / "training_images"))
    try:
        from pitwall_image.serve import ModelIdentity, ModelService
    finally:
        sys.path.remove(str(support.REPO_ROOT / "training_images"))
    import pandas as pd

    from pitwall.monitoring.capture import CaptureRecorder, Sampler
    from pitwall.monitoring.capture_aws import S3CaptureSink
    from pitwall.monitoring.record import race_cutoff

    saturday = race_cutoff(pd.Timestamp("2024-05-26")) - timedelta(hours=10)
    with environ({k: v for k, v in env.items() if k.startswith("PITWALL_")}):
        service = ModelService(cloud["model_dir"], ModelIdentity.from_env())
        assert service.load(), service.load_error
        sink = S3CaptureSink(env["PITWALL_CAPTURE_BUCKET"], env["PITWALL_CAPTURE_PREFIX"])
        service.recorder = CaptureRecorder(sink, sampler=Sampler(0), clock=lambda: saturday)
        status, _, answer = service.invoke(json.dumps({"race": RACE}).encode(), "application/json")
    assert status == 200, answer
    return str(saturday.isoformat())


def test_the_monitoring_job_scores_and_the_api_reads_its_summary_from_s3(
    cloud: dict[str, Any],
    synth: support.Synth,
    functions: list[support.Function],
    api_function: support.Function,
    layers: support.Layers,
    aws: dict[str, Any],
    tenant_key: dict[str, str],
    other_tenant_key: dict[str, str],
    read_only_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> None:
    import pandas as pd

    from pitwall.monitoring.capture import read_captures
    from pitwall.monitoring.capture_aws import S3CaptureSink
    from pitwall.monitoring.record import race_cutoff
    from pitwall.platform.models import get_model
    from tests.deployed.test_deployed_functions import _delivered_race_ingested

    tenant = tenant_key["tenant"]
    live = get_model(tenant, LIVE_MODEL) if _has_model(tenant, LIVE_MODEL) else _register(cloud, tenant, LIVE_MODEL)
    env = _endpoint_environment(cloud, live)
    captured_at = _capture_before_the_race(cloud, env)
    _register(cloud, tenant, RECON_MODEL)
    _configure(api_function, tenant, RECON_MODEL, 100)  # monitored, never asked: reconstructed

    (job,) = [f for f in functions if f.image and f.handler.endswith("subscriber.handler")]
    home = tmp_path_factory.mktemp("job-tmp")
    job_env = {
        **aws["env"],
        "PITWALL_HOME": str(home / "pitwall"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    process = support.LambdaProcess(
        job, [job.asset_dir, support.image_site_packages()], job_env, read_only_home, stubs=STUB_INTERNET
    )
    try:
        outcome = process.invoke(_delivered_race_ingested())
    finally:
        process.close()
    assert outcome.ok, f"{outcome.error_type}: {outcome.error}\n{outcome.trace}\n{process.log_tail()}"
    assert outcome.result["races"] == [RACE_ID] and outcome.result["scores"] >= 2, outcome.result

    methods = support.api_methods(synth)
    method = methods[("/api/v1/models/{model}/monitoring", "GET")]
    api = support.LambdaProcess(
        api_function, [api_function.asset_dir, *layers.for_function(api_function), layers.runtime], aws["env"],
        read_only_home,
    )  # fmt: skip
    try:

        def monitoring(name: str, key: dict[str, str]) -> tuple[int, Any]:
            event = support.rest_event(
                method, {"model": name}, api_id=aws["deployed"].rest_api_id, api_key=key["key"],
                api_key_id=key["key_id"],
            )  # fmt: skip
            return support.response_of(api.invoke(event))

        status, view = monitoring(LIVE_MODEL, tenant_key)
        assert status == 200, view
        assert view["generated_at"] is not None and view["settings"]["capture_percent"] == 100
        (race,) = [r for r in view["live_verified"]["races"] if r["race_id"] == RACE_ID]
        assert race["value"] is not None and race["baseline"] is not None and race["version"] == live.version
        # the live race is the one captured before the race, not the container's later captures
        sink = S3CaptureSink(env["PITWALL_CAPTURE_BUCKET"], env["PITWALL_CAPTURE_PREFIX"])
        pre_race = read_captures(sink, tenant, LIVE_MODEL, race_id=RACE_ID)
        cutoff = race_cutoff(pd.Timestamp("2024-05-26")).isoformat()
        assert race["captured_at"] < cutoff and race["captured_at"][:13] == captured_at[:13]
        assert race["captured_at"] in set(pre_race["captured_at"])
        # an independent recomputation from the captured pre-race prediction and F1DB's result files
        chosen = pre_race[pre_race["captured_at"] == race["captured_at"]]
        results = _f1db(shared_data, 2024, 8, "race-results.yml")
        winner = next(r["driverId"] for r in results if r["position"] == 1)
        pole = next(
            r["driverId"] for r in _f1db(shared_data, 2024, 8, "starting-grid-positions.yml") if r["position"] == 1
        )
        predicted = chosen.loc[chosen["rank"] == 1, "entity"].iloc[0]
        assert race["metric"] == "top1_accuracy"
        assert (race["value"], race["baseline"]) == (float(predicted == winner), float(pole == winner))
        assert view["live_verified"]["label"] == "live verified"
        assert not [r for r in view["reconstructed"]["races"] if r["race_id"] == RACE_ID]

        status, recon = monitoring(RECON_MODEL, tenant_key)
        assert status == 200, recon
        assert [r["race_id"] for r in recon["reconstructed"]["races"]] == [RACE_ID]  # from the S3 artifact
        assert recon["live_verified"]["races"] == [] and recon["reconstructed"]["label"].startswith("reconstructed")

        status, other = monitoring(LIVE_MODEL, other_tenant_key)
        assert status == 404, other  # another tenant's model: not found, nothing read
    finally:
        api.close()
    keys = {
        o["Key"]
        for o in boto3.client("s3", region_name=support.REGION).list_objects_v2(
            Bucket=cloud["bucket"], Prefix="monitoring/summaries/"
        )["Contents"]
    }
    assert f"monitoring/summaries/tenant={tenant}/model={LIVE_MODEL}.json" in keys


def _f1db(data: Path, season: int, round_: int, file: str) -> list[dict[str, Any]]:
    """One file of a race's folder in the F1DB source tree."""
    import yaml

    races = data / "f1db" / "src" / "data" / "seasons" / str(season) / "races"
    (folder,) = [p for p in races.iterdir() if p.name.startswith(f"{round_:02d}-")]
    return list(yaml.safe_load((folder / file).read_text()))


def _has_model(tenant: str, name: str) -> bool:
    from pitwall.errors import NotFound
    from pitwall.platform.models import get_model

    try:
        get_model(tenant, name)
    except NotFound:
        return False
    return True
