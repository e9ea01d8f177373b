"""Fixtures for the marketplace tests: a real model trained once per session on the real lake,
a Pitwall home per test module, and the API (``functions/api/app.py`` + the marketplace
blueprint) served over real HTTP.

``PITWALL_HOME`` is one folder per test module (this folder's ``_isolated_home`` replaces the
root conftest's per-test home), so each module's listings live in one ``platform.db``; tests
use their own tenants and listings and do not depend on each other. The module home's
``lake`` is a link to the session lake, so the default store (used by the verification
backtest and by serving) holds the real data.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pitwall.config import REPO_ROOT
from pitwall.data.store import Store
from pitwall.ml.artifacts import sha256_file
from pitwall.platform import models
from pitwall.platform.backend import clear_backend_cache
from pitwall.platform.records import ModelRecord

TEMPLATE = "race_winner"
APP_DIR = REPO_ROOT / "functions" / "api"


@pytest.fixture(scope="session")
def winner_artifact(tmp_path_factory: pytest.TempPathFactory, lake: Store) -> Path:
    """A race-winner model (the template's default algorithm) trained on 2022-2023."""
    from pitwall.training import train_template

    home = tmp_path_factory.mktemp("market-train-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PITWALL_HOME", str(home))
        result = train_template(TEMPLATE, seasons=[2022, 2023], store=lake, track=False, register=False)
    return result.model_dir


@pytest.fixture(scope="module")
def market_home(tmp_path_factory: pytest.TempPathFactory, lake: Any) -> Path:
    home = tmp_path_factory.mktemp("market-home")
    (home / "lake").symlink_to(Path(lake.root), target_is_directory=True)
    return home


@pytest.fixture(autouse=True)
def _isolated_home(market_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """One PITWALL_HOME per module (overrides the root conftest's per-test home)."""
    monkeypatch.setenv("PITWALL_HOME", str(market_home))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("PITWALL_BACKEND", raising=False)
    clear_backend_cache()
    yield market_home
    clear_backend_cache()


def register_artifact(
    tenant: str, name: str, source: Path, home: Path, *, backend: Any = None, artifact_uri: str | None = None
) -> ModelRecord:
    """Copy ``source`` into ``home/models/<tenant>/<name>/<id>`` (or use ``artifact_uri``) and
    register it as the next version of the tenant's model, as training does."""
    meta = json.loads((source / "metadata.json").read_text())
    if artifact_uri is None:
        dest = home / "models" / tenant / name / uuid.uuid4().hex[:12]
        shutil.copytree(source, dest)
        artifact_uri = str(dest)
    return models.register_model(
        tenant,
        name,
        template=meta["template"],
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window=meta["data_window"],
        metrics={k: v for k, v in meta["metrics"].items() if isinstance(v, float)},
        baseline_metrics={},
        artifact_uri=artifact_uri,
        sha256=sha256_file(source / "metadata.json"),
        backend=backend,
    )


@functools.lru_cache(maxsize=1)
def app_with_marketplace() -> Any:
    """A fresh instance of the API app (``functions/api/app.py``) with the marketplace
    blueprint registered as ``app.py`` will register it (``chalicelib`` importable, as in
    the Lambda bundle). The process-wide app of ``pitwall.api.server`` is left untouched."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    spec = importlib.util.spec_from_file_location("pitwall_api_app_market_tests", APP_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from chalicelib import marketplace_routes

    from pitwall.api.marketplace import MARKET_PREFIX

    app = module.app
    if not any(path.startswith(MARKET_PREFIX) for path in app.routes):
        app.register_blueprint(marketplace_routes.bp)
    return app


class HttpApi:
    """The app on 127.0.0.1:<free port> in a thread (Chalice's local gateway, the API's handler)."""

    def __init__(self, services: Any) -> None:
        from chalice.config import Config
        from chalice.local import LocalDevServer

        from pitwall.api.server import PitwallRequestHandler
        from pitwall.api.services import set_services

        set_services(services)
        app = app_with_marketplace()
        handler = type("Handler", (PitwallRequestHandler,), {"max_body_bytes": services.max_body_bytes})
        config = Config.create(chalice_stage="dev", app_name=app.app_name)
        self._dev = LocalDevServer(app, config, "127.0.0.1", 0, handler_cls=handler)
        self._dev.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._dev.server.server_address[1]}"
        self._thread = threading.Thread(target=self._dev.server.serve_forever, daemon=True)
        self._thread.start()

    def call(self, method: str, path: str, key: str | None, body: Any = None, **params: Any) -> requests.Response:
        headers = {"x-api-key": key} if key else {}
        kwargs: dict[str, Any] = {"headers": headers, "timeout": 120, "params": params or None}
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, self.url + path, **kwargs)

    def stop(self) -> None:
        from pitwall.api.services import set_services

        self._dev.server.shutdown()
        self._dev.server.server_close()
        self._thread.join(timeout=5)
        set_services(None)


@pytest.fixture
def http_api(lake: Store) -> Iterator[HttpApi]:
    """The API with local services (records of this module's home, serving on the lake)."""
    from pitwall.api.services import local_services
    from pitwall.serving.deploy import LocalServing, reset_default_service
    from pitwall.serving.invocation import InProcessServing

    reset_default_service()
    api = HttpApi(local_services(serving=LocalServing(InProcessServing(lake)), enforce_rate_limits=False))
    yield api
    api.stop()


class Helpers:
    register_artifact = staticmethod(register_artifact)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
