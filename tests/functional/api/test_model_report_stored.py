"""Model reports on real data: computed at training time and stored in the artifact (``report.json``,
checksummed in ``metadata.json``), answered as stored by the local API and read back from a SageMaker
style ``model.tar.gz`` in S3 (moto) by the lean path; another season is computed on request."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pitwall.api.http import ApiRequest, handle
from pitwall.api.operations import operation
from pitwall.data.store import LocalStore
from pitwall.model_report import REPORT_FIELDS, REPORT_FILE, ReportIntegrityError, read_report

TRAINED = [2022, 2023]
BUCKET = "pitwall-report-models"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    from pitwall.data.ingest import ingest_f1db
    from pitwall.training import train_template

    home = tmp_path_factory.mktemp("report-home")
    store = LocalStore(home / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[*TRAINED, 2024])
    result = train_template("race_winner", seasons=TRAINED, store=store, register=False, track=False)
    return {"home": home, "store": store, "result": result}


@pytest.fixture
def api(trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    from pitwall.api.services import local_services
    from pitwall.ml.artifacts import sha256_file
    from pitwall.platform.keys import create_key
    from pitwall.platform.models import register_model
    from pitwall.platform.sqlite_backend import SqliteBackend

    monkeypatch.setenv("PITWALL_HOME", str(trained["home"]))  # the lake the model was trained on
    records = SqliteBackend(tmp_path / "records.db")
    result = trained["result"]

    def register(name: str, artifact_uri: str) -> None:
        register_model(
            "acme",
            name,
            template="race_winner",
            task="ranking",
            algorithm=result.model.algorithm,
            features=list(result.model.features),
            target="position",
            data_window=result.model.data_window,
            metrics=result.metrics,
            baseline_metrics=result.baseline_metrics,
            artifact_uri=artifact_uri,
            sha256=sha256_file(Path(result.model_dir) / "metadata.json"),
            backend=records,
        )

    services = local_services(records=records, enforce_rate_limits=False)
    key = create_key("acme", "pro", backend=records)

    def call(model: str, query: dict[str, str] | None = None) -> tuple[int, Any]:
        op = operation("model_report")
        request = ApiRequest(op.method, op.path, {"model": model}, query or {}, {"x-api-key": key})
        answer = handle(op, request, services)
        return answer.status, json.loads(answer.content)

    call.register = register  # type: ignore[attr-defined]
    return call


def _tarball(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix())
    return buf.getvalue()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_training_stores_a_verified_report_of_the_season_after_the_window(trained: dict[str, Any]) -> None:
    from pitwall.ml.artifacts import load_model, verify_artifact

    folder = Path(trained["result"].model_dir)
    meta = verify_artifact(folder)  # the report is one of the artifact's checksummed files
    assert REPORT_FILE in meta["files"]
    report = json.loads((folder / REPORT_FILE).read_text())
    assert set(REPORT_FIELDS) <= set(report)
    assert (report["season"], report["out_of_sample"], report["metric"]) == (2024, True, "top1_accuracy")
    assert report["holdout"] is False  # scored by the registered model itself
    races_2024 = trained["store"].read("races", [2024])
    assert [r["race_id"] for r in report["races"]] == sorted(races_2024["race_id"])
    assert set(report["importance"]) == set(load_model(folder).features)


def test_a_window_up_to_the_latest_season_stores_the_runs_out_of_sample_evaluation(trained: dict[str, Any]) -> None:
    """No season comes after 2023-2024: the stored report is 2024 as the run scored it (the model
    fitted on 2023), the very test metrics `pitwall train` prints, not the refitted model in sample."""
    from pitwall.training import train_template

    result = train_template("race_winner", seasons=[2023, 2024], store=trained["store"], register=False, track=False)
    report = json.loads((Path(result.model_dir) / REPORT_FILE).read_text())
    assert (report["season"], report["out_of_sample"], report["holdout"]) == (2024, True, True)
    assert result.evaluated_on.startswith("season 2024")
    for metric in ("top1_accuracy", "log_loss", "winner_nll"):
        assert report["metrics"][metric] == pytest.approx(result.metrics[metric]), metric
    assert report["importance"] == pytest.approx(result.model.feature_importance())  # the registered model's


def test_the_api_answers_the_stored_report_and_computes_other_seasons(
    api: Callable[..., Any], trained: dict[str, Any]
) -> None:
    folder = Path(trained["result"].model_dir)
    api.register("winner", str(folder))  # type: ignore[attr-defined]
    stored = json.loads((folder / REPORT_FILE).read_text())
    status, answer = api("winner")
    assert status == 200, answer
    assert answer == {"model": "winner", "version": 1, "template": "race_winner", **stored}
    assert api("winner", {"season": "2024"}) == (200, answer)
    status, in_sample = api("winner", {"season": "2023"})  # computed now, the same way
    assert status == 200
    assert (in_sample["season"], in_sample["out_of_sample"], in_sample["holdout"]) == (2023, False, False)
    assert in_sample["importance"] == stored["importance"] and in_sample["races"] != stored["races"]
    status, missing = api("winner", {"season": "1999"})
    assert status == 422 and missing["error"]["field"] == "season"


def test_the_lean_path_reads_the_report_from_the_model_tarball_in_s3(
    api: Callable[..., Any], trained: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    folder = Path(trained["result"].model_dir)
    s3.put_object(Bucket=BUCKET, Key="training-output/acme/job-1/output/model.tar.gz", Body=_tarball(folder))
    uri = f"s3://{BUCKET}/training-output/acme/job-1/output/model.tar.gz"
    assert read_report(uri) == json.loads((folder / REPORT_FILE).read_text())
    api.register("winner_s3", uri)  # type: ignore[attr-defined]
    api.register("winner_local", str(folder))  # type: ignore[attr-defined]
    status, cloud = api("winner_s3")
    assert status == 200 and cloud == {**api("winner_local")[1], "model": "winner_s3"}
    status, other = api("winner_s3", {"season": "2023"})  # the artifact is not local: not computed here
    assert status == 503 and "S3" in other["error"]["message"]
    api.register("gone", f"s3://{BUCKET}/training-output/acme/job-gone/output/model.tar.gz")  # type: ignore[attr-defined]
    status, gone = api("gone")
    assert status == 404 and gone["error"]["field"] == "model" and "artifact" in gone["error"]["message"]

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for path in folder.iterdir():
        (tampered / path.name).write_bytes(path.read_bytes())
    report = json.loads((tampered / REPORT_FILE).read_text())
    report["metrics"] = {k: 1.0 for k in report["metrics"]}
    (tampered / REPORT_FILE).write_text(json.dumps(report))
    s3.put_object(Bucket=BUCKET, Key="tampered/model.tar.gz", Body=_tarball(tampered))
    with pytest.raises(ReportIntegrityError, match="sha256"):
        read_report(f"s3://{BUCKET}/tampered/model.tar.gz")
