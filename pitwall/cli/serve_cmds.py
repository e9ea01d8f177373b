"""``pitwall serve`` and ``pitwall deploy`` / ``undeploy`` (keys: :mod:`pitwall.cli.keys_cmds`)."""

from __future__ import annotations

import typer

from pitwall.cli.common import TenantOption, console, err_console, error_message, fail, resolve_tenant
from pitwall.config import LOCAL_TENANT
from pitwall.errors import PitwallError


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free port)"),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="worker processes (use one per core)"),
    max_connections: int = typer.Option(
        256, "--max-connections", min=1, max=10_000, help="connections per worker; beyond: 503"
    ),
) -> None:
    """Serve the prediction API locally (the same app as the cloud, with local backends), on uvicorn.

    Limits per worker: headers within 10 s and the body within 30 s (else 408), idle keep-alive
    connections closed after 5 s, --max-connections (beyond: 503); a crashed worker is replaced."""
    from pitwall.api.server import LocalApiServer, ServerLimits

    try:
        server = LocalApiServer(host, port, limits=ServerLimits(max_connections=max_connections))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return
    console.print(f"Pitwall API on [bold]{server.url}[/bold]  (OpenAPI: {server.url}/api/v1/openapi.json)")
    try:
        server.serve_forever(workers)
    except KeyboardInterrupt:
        err_console.print("stopping")
    finally:
        server.stop()


def deploy_cmd(
    name: str = typer.Argument(..., help="model name"),
    version: int = typer.Option(None, "--version", min=1, help="version to serve (default: latest)"),
    tenant: str = TenantOption,
    capture: float = typer.Option(
        None, "--capture", min=0.0, max=100.0, help="percent of requests captured for monitoring (default: 100)"
    ),
) -> None:
    """Deploy a model version (a running `pitwall serve` picks it up on its next request).

    The laptop's own tenant (local) is created on its first deploy, as model.deploy() creates
    it; any other tenant must exist (pitwall keys create)."""
    from pitwall.errors import NotFound
    from pitwall.platform.keys import ensure_tenant
    from pitwall.serving.deploy import deploy_model

    tenant_id = resolve_tenant(tenant)
    try:
        if tenant_id == LOCAL_TENANT:
            ensure_tenant(tenant_id)
        result = deploy_model(tenant_id, name, version, capture_percent=capture)
    except NotFound as exc:
        hint = f" (create it: pitwall keys create --tenant {tenant_id} --tier free)" if exc.field == "tenant_id" else ""
        fail(error_message(exc, tenant_id) + hint)
        return
    except PitwallError as exc:
        fail(exc.message)
        return
    where = f" on endpoint {result.endpoint}" if result.endpoint else ""
    console.print(f"deployed {result.model} version {result.version} ({result.backend}){where}")


def undeploy_cmd(
    name: str = typer.Argument(..., help="model name"),
    tenant: str = TenantOption,
) -> None:
    """Stop serving a model."""
    from pitwall.serving.deploy import undeploy_model

    tenant_id = resolve_tenant(tenant)
    try:
        result = undeploy_model(tenant_id, name)
    except PitwallError as exc:
        fail(error_message(exc, tenant_id))
        return
    console.print(f"undeployed {result.model} ({result.backend})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.command("deploy")(deploy_cmd)
    app.command("undeploy")(undeploy_cmd)
