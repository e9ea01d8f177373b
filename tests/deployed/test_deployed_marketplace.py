"""The marketplace as deployed: publish -> verification on the model image -> listed -> another tenant
downloads (presigned S3 URL) and forks (S3 -> S3), through the synthesized API Lambda (its asset +
layers + the runtime's boto3: no numpy) and the synthesized verification state machine walked with
its real step handlers; AWS behind moto.

The author's model is a real race-winner model (trained here on real F1DB data, uploaded where
SageMaker puts ``model.tar.gz`` and registered as training registers it). VerifyModel, the SageMaker
training task, is played by the image's own entry point (``python -m pitwall_image train`` with the
task's hyper-parameters: a ``marketplace_verification`` job runs ``verify``) on a lake channel of
real data; its model folder is uploaded as the job's ``model.tar.gz``, as SageMaker does.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.deployed import support
from tests.deployed.test_deployed_functions import _asl, _by_arn, _packaging_problem, _process, _render, _set

M = "/api/v1/marketplace"
MODEL = "market_winner"


@pytest.fixture(autouse=True)
def _tables(platform_env: dict[str, str]) -> None:
    """The platform tables' names in this process too (the harness reads records the handlers write)."""


@pytest.fixture(scope="module")
def api(api_function: support.Function, layers: support.Layers, aws: dict[str, Any], read_only_home: Any):
    process = _process(api_function, layers, aws, read_only_home)
    yield process
    process.close()


def _tar_gz(folder: Path) -> bytes:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(file, arcname=str(file.relative_to(folder)))
    return archive.getvalue()


@pytest.fixture(scope="module")
def author_model(
    aws: dict[str, Any], tenant_key: dict[str, str], api_function: support.Function, lake: Any, tmp_path_factory: Any
) -> str:
    """A real race-winner model of the key's tenant: its ``model.tar.gz`` in the models bucket."""
    from pitwall.ml.artifacts import sha256_file
    from pitwall.platform.models import register_model
    from pitwall.training import train_template

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PITWALL_HOME", str(tmp_path_factory.mktemp("author-home")))
        mp.setenv("PITWALL_BACKEND", "local")
        result = train_template("race_winner", seasons=[2022, 2023], store=lake, track=False, register=False)
    bucket = api_function.environment["PITWALL_MODELS_BUCKET"]
    key = "training-output/pitwall-acme-market-job/output/model.tar.gz"
    boto3.client("s3", region_name=support.REGION).put_object(Bucket=bucket, Key=key, Body=_tar_gz(result.model_dir))
    meta = json.loads((result.model_dir / "metadata.json").read_text())
    register_model(
        tenant_key["tenant"],
        MODEL,
        template=meta["template"],
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window=meta["data_window"],
        metrics={k: v for k, v in meta["metrics"].items() if isinstance(v, float)},
        baseline_metrics={},
        artifact_uri=f"s3://{bucket}/{key}",
        sha256=sha256_file(result.model_dir / "metadata.json"),
    )
    return MODEL


def _call(
    api: support.LambdaProcess,
    synth: support.Synth,
    aws: dict[str, Any],
    method: str,
    path: str,
    key: dict[str, str],
    params: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    event = support.rest_event(
        support.api_methods(synth)[(path, method)],
        params or {},
        api_id=aws["deployed"].rest_api_id,
        api_key=key["key"],
        api_key_id=key["key_id"],
        body=body,
    )
    return support.response_of(api.invoke(event))


def _seed_lake(functions: list[support.Function]) -> None:
    """Objects where the Store's lake lives (SelectVerificationData lists them into the job's manifest;
    the job here reads the real lake channel instead)."""
    (select,) = [f for f in functions if f.handler.endswith(".select_verification_data")]
    env = select.environment
    s3 = boto3.client("s3", region_name=support.REGION)
    for key in [*(f"races/season={s}/data.parquet" for s in (2021, 2022, 2023, 2024)), "drivers/data.parquet"]:
        s3.put_object(Bucket=env["PITWALL_BUCKET"], Key=f"{env['PITWALL_PREFIX']}/{key}", Body=b"PAR1" * 256)


def _verification_input(aws: dict[str, Any], listing_id: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=support.REGION)
    (arn,) = [a for n, a in aws["deployed"].state_machines.items() if n.endswith("-verification")]
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        data = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
        if data.get("listing_id") == listing_id:
            return data
    raise AssertionError(f"no verification execution started for {listing_id}")


def _verify_with_the_image(request: dict[str, Any], lake_root: Path, tmp: Any) -> dict[str, Any]:
    """What SageMaker does with VerifyModel's request: the image's ``train`` entry point with its
    hyper-parameters on a lake channel, then the model folder as ``<S3OutputPath>/<job>/output/model.tar.gz``."""
    root = tmp.mktemp("opt-ml-verify")
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(request["HyperParameters"]))
    (root / "input" / "data").mkdir(parents=True)
    (root / "input" / "data" / "lake").symlink_to(lake_root, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PITWALL_MLFLOW_URI")}
    env.update(
        PITWALL_OPT_ML=str(root),
        PITWALL_HOME=str(tmp.mktemp("verify-home")),
        PYTHONPATH=str(support.REPO_ROOT / "training_images"),
        **request.get("Environment", {}),
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "pitwall_image", "train"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (root / "model" / "verification.json").is_file(), done.stderr[-3000:]
    output = request["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://")
    bucket, _, prefix = output.partition("/")
    key = f"{prefix}/{request['TrainingJobName']}/output/model.tar.gz".lstrip("/")
    boto3.client("s3", region_name=support.REGION).put_object(Bucket=bucket, Key=key, Body=_tar_gz(root / "model"))
    return {
        "TrainingJobName": request["TrainingJobName"],
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{bucket}/{key}"},
    }


def _walk_verification(
    synth: support.Synth,
    functions: list[support.Function],
    layers: support.Layers,
    aws: dict[str, Any],
    home: Any,
    data: dict[str, Any],
    lake_root: Path,
    tmp: Any,
) -> list[str]:
    """Walk the synthesized verification ASL from ``data`` with the real step handlers; the states visited."""
    asl = _asl(synth, "verification")
    by_arn = _by_arn(functions, synth)
    processes: dict[str, support.LambdaProcess] = {}
    name, visited = asl["StartAt"], []
    try:
        for _ in range(20):
            state = asl["States"][name]
            visited.append(name)
            if state["Type"] in ("Succeed", "Fail"):
                break
            if ":sagemaker:" in state["Resource"]:
                request = _render(state["Parameters"], data)
                assert request["HyperParameters"]["kind"] == "marketplace_verification", request["HyperParameters"]
                response = _verify_with_the_image(request, lake_root, tmp)
                data = _set(data, state.get("ResultPath"), _render(state.get("ResultSelector", {}), response))
                name = state["Next"]
                continue
            function = by_arn[state["Resource"]]
            if function.logical_id not in processes:
                processes[function.logical_id] = _process(function, layers, aws, home)
            payload = _render(state["Parameters"], data) if "Parameters" in state else data
            result = processes[function.logical_id].invoke(payload)
            assert not _packaging_problem(result), f"{name}: {result.error_type}: {result.error}\n{result.trace}"
            assert result.ok, (
                f"{name}: {result.error_type}: {result.error}\n{processes[function.logical_id].log_tail()}"
            )
            data = _set(data, state.get("ResultPath"), result.result)
            name = state["Next"]
    finally:
        for process in processes.values():
            process.close()
    return visited


def test_publish_verify_download_and_fork_through_the_deployed_functions(
    api: support.LambdaProcess,
    synth: support.Synth,
    functions: list[support.Function],
    layers: support.Layers,
    aws: dict[str, Any],
    tenant_key: dict[str, str],
    other_tenant_key: dict[str, str],
    author_model: str,
    read_only_home: Any,
    lake: Any,
    tmp_path_factory: Any,
) -> None:
    from pitwall.marketplace.bundles import check_bundle
    from pitwall.platform.models import get_model

    body = {"model_name": author_model, "title": "Grid + form winner", "description": "race_winner, 2022-2023"}
    status, listing = _call(api, synth, aws, "POST", f"{M}/listings", tenant_key, body=body)
    assert (status, listing["status"], listing["verified"]) == (202, "verifying", False), listing
    lid = listing["listing_id"]
    params = {"listing_id": lid}
    # while verifying: the author sees it, nobody else does, and it cannot be downloaded
    status, card = _call(api, synth, aws, "GET", f"{M}/listings/{{listing_id}}", tenant_key, params)
    assert (status, card["status"]) == (200, "verifying"), card
    status, _ = _call(api, synth, aws, "POST", f"{M}/listings/{{listing_id}}/download", other_tenant_key, params)
    assert status == 404

    _seed_lake(functions)
    data = _verification_input(aws, lid)
    assert data == {"tenant_id": tenant_key["tenant"], "listing_id": lid}
    visited = _walk_verification(synth, functions, layers, aws, read_only_home, data, Path(lake.root), tmp_path_factory)
    print("\nwalked:", " -> ".join(visited))
    assert visited[-1] == "VerificationSucceeded" and "VerifyModel" in visited and "RecordRejection" not in visited

    status, card = _call(api, synth, aws, "GET", f"{M}/listings/{{listing_id}}", other_tenant_key, params)
    assert (status, card["status"], card["verified"]) == (200, "listed", True), card
    verified = card["verified_metrics"]
    assert verified["backtest_season"] == 2024.0 and verified["train_seasons"] == 3.0 and verified["n_races"] >= 20
    assert "baseline_top1_accuracy" in verified

    # another tenant downloads: a presigned URL to the bundle the verification job checked and kept
    status, download = _call(api, synth, aws, "POST", f"{M}/listings/{{listing_id}}/download", other_tenant_key, params)
    assert status == 200, download
    assert download["url"] and download["bundle_base64"] is None and download["downloads"] == 1
    with urllib.request.urlopen(download["url"], timeout=60) as answer:  # noqa: S310 - the moto endpoint
        bundle = answer.read()
    assert hashlib.sha256(bundle).hexdigest() == download["bundle_sha256"] and len(bundle) == download["size_bytes"]
    assert (
        check_bundle(bundle, listing["sha256"], bundle_sha256=download["bundle_sha256"]).metadata
        == (download["metadata"])
    )
    # the same tenant again the same day: answered, not counted; the author's own download never counts
    status, again = _call(api, synth, aws, "POST", f"{M}/listings/{{listing_id}}/download", other_tenant_key, params)
    assert (status, again["downloads"]) == (200, 1)
    status, own = _call(api, synth, aws, "POST", f"{M}/listings/{{listing_id}}/download", tenant_key, params)
    assert (status, own["downloads"]) == (200, 1)

    # another tenant forks: an S3 -> S3 copy registered in its models, lineage kept
    fork_path = f"{M}/listings/{{listing_id}}/fork"
    status, fork = _call(api, synth, aws, "POST", fork_path, other_tenant_key, params, {"new_name": "rival_winner"})
    assert status == 201, fork
    assert fork["forked_from"]["listing_id"] == lid and fork["model"] == "rival_winner"
    record = get_model(other_tenant_key["tenant"], "rival_winner")
    assert record.artifact_uri.startswith("s3://") and record.artifact_uri.endswith("/model.tar.gz")
    assert record.sha256 == listing["sha256"] == download["sha256"]
    bucket, _, key = record.artifact_uri.removeprefix("s3://").partition("/")
    copied = boto3.client("s3", region_name=support.REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert tarfile.open(fileobj=io.BytesIO(copied), mode="r:gz").getnames()  # a readable model.tar.gz

    # the fork cannot be published as the forker's original
    body = {"model_name": "rival_winner", "title": "My winner", "description": "all mine"}
    status, refused = _call(api, synth, aws, "POST", f"{M}/listings", other_tenant_key, body=body)
    assert (status, refused["error"]["code"], refused["error"]["field"]) == (422, "fork_not_original", "model_name")
