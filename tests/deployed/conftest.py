"""Fixtures of the deployed-shape suite: one synthesized app per session (with real local bundling),
the runtime/layer folders, and per module a moto server holding the templates' stateful resources
and tenant keys created the way ``pitwall keys create`` creates them on AWS (record + usage-plan
key). Everything that changes ``os.environ`` is module-scoped and restores it, so the tests that run
after this folder never see the moto endpoint or the AWS backend."""

from __future__ import annotations

import logging
import os
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.deployed import support  # noqa: E402


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> support.Synth:
    return support.synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def layers(tmp_path_factory: pytest.TempPathFactory) -> support.Layers:
    return support.build_layers(tmp_path_factory.mktemp("layers"))


@pytest.fixture(scope="session")
def read_only_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("lambda-home")
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield home
    home.chmod(stat.S_IRWXU)


@pytest.fixture(scope="module")
def aws(synth: support.Synth) -> Iterator[dict[str, Any]]:
    """A moto server with the templates' resources; this process's boto3 points at it too."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto's backends are global to this process: start each module from an empty account
    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
    env = support.aws_environment(endpoint)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deployed = support.deploy_to_moto(synth, boto3.Session(region_name=support.REGION))
        yield {"env": env, "deployed": deployed, "port": port}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture(scope="session")
def functions(synth: support.Synth) -> list[support.Function]:
    return support.functions(synth)


@pytest.fixture(scope="session")
def api_function(functions: list[support.Function]) -> support.Function:
    (function,) = [f for f in functions if f.handler == "app.app"]
    return function


@pytest.fixture(scope="module")
def platform_env(api_function: support.Function) -> Iterator[dict[str, str]]:
    """The API function's environment (table names, plan names, stage) in this process as well, so the
    keys created here land where the deployed handlers look."""
    keys = [k for k in api_function.environment if k.startswith("PITWALL_")]
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: api_function.environment[k] for k in keys})
    from pitwall.platform.backend import clear_backend_cache

    clear_backend_cache()
    yield {k: api_function.environment[k] for k in keys}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    clear_backend_cache()


def _new_key(tenant: str, tier: str) -> dict[str, str]:
    import boto3

    from pitwall.platform.apigateway_keys import ApiGatewayKeys
    from pitwall.platform.keys import issue_key

    gateway = ApiGatewayKeys(boto3.client("apigateway", region_name=support.REGION))
    issued = issue_key(tenant, tier, gateway=gateway)
    (gateway_key,) = [k for k in gateway.keys_of(tenant) if k["name"] == f"{tenant}.{issued.record.key_id}"]
    return {"key": issued.plaintext, "key_id": gateway_key["id"], "tenant": tenant}


@pytest.fixture(scope="module")
def tenant_key(aws: dict[str, Any], platform_env: dict[str, str]) -> dict[str, str]:
    """A Pro tenant's key, created as ``pitwall keys create`` does on AWS."""
    return _new_key("acme", "pro")


@pytest.fixture(scope="module")
def other_tenant_key(aws: dict[str, Any], platform_env: dict[str, str]) -> dict[str, str]:
    return _new_key("rival", "free")
