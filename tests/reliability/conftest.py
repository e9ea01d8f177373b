"""A local API server with short transport timeouts, a real model and two tenants.

The model is a small ranking model on real results (grid slot -> finishing order, 2022-2023);
races are served from the same frame builder, so championship forecasts run on 2024's real
calendar and standings. The championship simulator is gated by the test: a forecast holds its
concurrency slot until the test releases it, so caps are exercised without timing.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pitwall.api.server import LocalApiServer, ServerLimits
from pitwall.api.services import ApiServices, local_services, set_services
from pitwall.data.store import Store
from pitwall.ml.artifacts import sha256_file
from pitwall.ml.builder import ModelBuilder
from pitwall.platform import keys, models
from pitwall.platform.backend import clear_backend_cache
from pitwall.serving import championship as champ
from pitwall.serving.deploy import LocalServing, reset_default_service
from pitwall.serving.invocation import InProcessServing

FEATURES = ["start_position"]
TEMPLATE = "reliability_grid"
LIMITS = ServerLimits(max_connections=32, threads=8, header_timeout=1.0, body_timeout=1.0, keepalive_timeout=2)


@functools.lru_cache(maxsize=8)
def _season(store: Store, season: int) -> pd.DataFrame:
    res = store.read("results", [season])
    res = res[res["position_text"].ne("DNS")].sort_values(["round", "position_order"])
    out = res[["season", "round", "race_id", "driver_id", "constructor_id"]].copy()
    out["start_position"] = res["grid_position"].astype("float64")
    out["finish_position"] = res["position"].astype("Float64")
    return out.reset_index(drop=True)


def season_frame(template: str, store: Store, season: int) -> pd.DataFrame:
    return _season(store, season).drop(columns=["finish_position"])


class GatedSimulator:
    """The championship simulator, held at its start until :meth:`release`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> champ.ChampionshipForecast:
        self.entered.set()
        assert self.gate.wait(timeout=60), "the test never released the simulator"
        return champ.simulate_championship(*args, **kwargs)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture(scope="session")
def artifact(lake: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.concat([_season(lake, s) for s in (2022, 2023)], ignore_index=True)
    builder = ModelBuilder("ranking", "finish_position", features=FEATURES, top_k=1, template=TEMPLATE)
    model = builder.train(frame, "xgboost", params={"n_estimators": 20, "max_depth": 2})
    return model.save(tmp_path_factory.mktemp("reliability") / "grid")


def register(tenant: str, name: str, artifact: Path) -> None:
    meta = json.loads((artifact / "metadata.json").read_text())
    models.register_model(
        tenant,
        name,
        template=TEMPLATE,
        task=meta["task"],
        algorithm=meta["algorithm"],
        features=list(meta["features"]),
        target=meta["target"],
        data_window=meta.get("data_window") or {},
        metrics={"test_log_loss": 0.25},
        baseline_metrics={"test_log_loss": 0.3},
        artifact_uri=str(artifact),
        sha256=sha256_file(artifact / "metadata.json"),
    )
    models.deploy_model(keys.principal_for_tenant(tenant), name)


@pytest.fixture
def simulator() -> Iterator[GatedSimulator]:
    gated = GatedSimulator()
    yield gated
    gated.release()


@pytest.fixture
def services(lake: Store, simulator: GatedSimulator) -> Iterator[ApiServices]:
    clear_backend_cache()
    reset_default_service()
    serving = LocalServing(InProcessServing(lake, builder=season_frame, simulate=simulator))
    svc = local_services(serving=serving)
    yield svc
    set_services(None)
    clear_backend_cache()


@pytest.fixture
def server(services: ApiServices) -> Iterator[LocalApiServer]:
    srv = LocalApiServer("127.0.0.1", 0, services=services, limits=LIMITS).start()
    yield srv
    srv.stop()


@pytest.fixture
def tenants(artifact: Path) -> dict[str, str]:
    """API keys: ``free`` (acme, Free tier) and ``pro`` (bigteam, Pro), each with model ``grid`` deployed."""
    out = {"free": keys.create_key("acme", "free"), "pro": keys.create_key("bigteam", "pro")}
    register("acme", "grid", artifact)
    register("bigteam", "grid", artifact)
    return out


def connect(server: LocalApiServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket timeout)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def responses(raw: bytes) -> list[tuple[int, dict[str, Any] | None]]:
    """(status, JSON body) of each HTTP/1.1 response in ``raw`` (bodies framed by Content-Length)."""
    out: list[tuple[int, dict[str, Any] | None]] = []
    rest = raw
    while rest.startswith(b"HTTP/1.1 "):
        head, _, tail = rest.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        body, rest = tail[:length], tail[length:]
        out.append((status, json.loads(body) if headers.get("content-type") == "application/json" else None))
    return out


class Wire:
    """Raw-socket helpers for the tests of this folder (tests/ is not an importable package)."""

    limits = LIMITS
    connect = staticmethod(connect)
    read_all = staticmethod(read_all)
    responses = staticmethod(responses)


@pytest.fixture
def wire() -> type[Wire]:
    return Wire
