"""The catalogue operations the web UI needs (``pitwall.api.catalog``), through the API's own
request handling (keys, validation, errors) on real F1DB data in a temporary PITWALL_HOME."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from pitwall.api.http import ApiRequest, handle

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("PITWALL_DATA", ROOT.parent / "shared" / "data"))
SEASONS = (2023, 2024)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pitwall.api.operations import operation
    from pitwall.api.services import local_services
    from pitwall.data.ingest import ingest_f1db
    from pitwall.data.store import LocalStore
    from pitwall.platform.keys import create_key
    from pitwall.platform.sqlite_backend import SqliteBackend

    if not (DATA / "f1db").is_dir():
        pytest.skip(f"no F1DB data at {DATA}")
    home = tmp_path_factory.mktemp("home")
    ingest_f1db(LocalStore(home / "lake"), DATA / "f1db", seasons=SEASONS)
    records = SqliteBackend(home / "catalog-test.db")
    services = local_services(records=records, enforce_rate_limits=False)
    key = create_key("catalog-tenant", "free", backend=records)

    def call(operation_id: str, key_: str | None = key, query: dict[str, str] | None = None, **params: str) -> Any:
        op = operation(operation_id)
        headers = {"x-api-key": key_} if key_ else {}
        outer = os.environ.get("PITWALL_HOME")
        os.environ["PITWALL_HOME"] = str(home)  # the store of this module (tests/conftest.py gives each test its own)
        try:
            answer = handle(op, ApiRequest(op.method, op.path, params, query or {}, headers), services)
        finally:
            if outer is not None:
                os.environ["PITWALL_HOME"] = outer
        return answer.status, json.loads(answer.content)

    return call


def _race_dirs(season: int) -> list[Path]:
    return sorted((DATA / "f1db" / "src" / "data" / "seasons" / str(season) / "races").iterdir())


def test_every_catalog_operation_needs_a_key(api: Any) -> None:
    status, body = api("list_templates", key_=None)
    assert status == 401 and body["error"]["field"] == "x-api-key"


def test_templates_are_the_thirteen_cards(api: Any) -> None:
    from pitwall.templates import TEMPLATES

    status, body = api("list_templates")
    assert status == 200
    assert [t["name"] for t in body["templates"]] == list(TEMPLATES)
    assert all(t["description"] and t["primary_metric"] and t["baselines"] for t in body["templates"])
    assert "auto" in body["algorithms"] and body["tuning_methods"] == ["grid", "random", "bayes"]
    status, notebook = api("template_notebook", template="podium")
    assert status == 200 and notebook["filename"] == "podium.ipynb" and notebook["notebook"]["nbformat"] == 4
    assert any("pw.train('podium'" in "".join(c["source"]) for c in notebook["notebook"]["cells"])
    status, missing = api("template_notebook", template="nope")
    assert status == 404 and missing["error"]["field"] == "template"


def test_feature_catalogue_marks_features_without_an_offline_source(api: Any) -> None:
    from pitwall.features.spec import FEATURES

    status, body = api("feature_catalog")
    assert status == 200
    listed = {f["name"]: f for g in body["groups"] for f in g["features"]}
    assert set(listed) == set(FEATURES)
    for name, spec in FEATURES.items():
        assert listed[name]["definition"] == spec.definition
        assert listed[name]["available"] == (spec.source != "none")
    corner = listed["avg_corner_speed"]  # no source has corner speeds (telemetry): greyed out, with why
    assert corner["available"] is False and "telemetry" in corner["unavailable_reason"]
    assert listed["sector_times"]["available"] is True and listed["sector_times"]["source"] == "laps"
    assert body["conditions"] == ["dry", "mixed", "wet"]


def test_data_status_races_and_circuits_match_the_source_tree(api: Any) -> None:
    status, body = api("data_status")
    assert status == 200
    assert body["seasons"] == list(SEASONS), body
    assert body["races"] == sum(len(_race_dirs(s)) for s in SEASONS)
    assert body["last_ingest"] and "F1DB" in body["attribution"]
    status, races = api("list_races", query={"season": "2024"})
    assert status == 200 and len(races["races"]) == len(_race_dirs(2024))
    assert "monaco_2024" in {r["ref"] for r in races["races"]}
    status, bad = api("list_races", query={"season": "24"})
    assert status == 400 and bad["error"]["field"] == "season"
    status, circuits = api("list_circuits")
    monaco = next(c for c in circuits["circuits"] if c["circuit_id"] == "monaco")
    assert monaco["races"] == len(SEASONS) and (monaco["first_season"], monaco["last_season"]) == SEASONS
    status, entrants = api("list_entrants", query={"since": "2024"})
    assert status == 200 and {"charles-leclerc", "max-verstappen"} <= {d["id"] for d in entrants["drivers"]}


def test_race_result_is_the_real_result(api: Any) -> None:
    source = yaml.safe_load((_race_dirs(2024)[7] / "race-results.yml").read_text())
    expected = [r["driverId"] for r in source if r.get("position") in (1, 2, 3)]
    status, body = api("race_result", race="monaco_2024")
    assert status == 200 and body["race"]["race_id"] == "2024-08"
    assert [r["driver_id"] for r in body["results"][:3]] == expected
    status, missing = api("race_result", race="atlantis_2024")
    assert status == 404 and missing["error"]["field"] == "race"


def test_usage_says_how_many_jobs_are_left(api: Any) -> None:
    from pitwall.platform.tiers import TIERS

    status, body = api("usage")
    limit = TIERS["free"].training_jobs_per_day
    assert status == 200 and body["tier"] == "free"
    assert (body["training_jobs_left"], body["training_jobs_per_day"]) == (limit, limit)


def test_openapi_document_lists_the_catalog(api: Any) -> None:
    status, doc = api("openapi", key_=None)
    assert status == 200
    for path in ("/api/v1/templates", "/api/v1/features", "/api/v1/data/status", "/api/v1/usage"):
        assert path in doc["paths"]
    assert "/api/v1/models/{model}/report" in doc["paths"]
