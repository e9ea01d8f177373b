"""``pitwall keys create|list|set-tier|revoke``: tenants' API keys.

Locally keys live in SQLite and ``pitwall serve`` checks them. With ``PITWALL_BACKEND=aws`` every
command also keeps API Gateway in step: a new key becomes an API Gateway key (same value) in the
usage plan of the tenant's tier, a tier change moves the tenant's keys to the other plan, and a
revoked key is deleted there (:mod:`pitwall.platform.apigateway_keys`).
"""

from __future__ import annotations

import typer

from pitwall.cli.common import console, fail
from pitwall.errors import PitwallError

keys_app = typer.Typer(help="API keys (and, on AWS, their API Gateway usage-plan keys).", no_args_is_help=True)

TenantArg = typer.Option(..., "--tenant", help="tenant id")


def _gateway():  # type: ignore[no-untyped-def]
    from pitwall.platform.apigateway_keys import key_gateway

    return key_gateway()


@keys_app.command("create")
def keys_create_cmd(
    tenant: str = typer.Option(..., "--tenant", help="tenant id (created on first use)"),
    tier: str = typer.Option("free", "--tier", help="free or pro"),
) -> None:
    """Create an API key for a tenant and print it (it is shown only once; the last line)."""
    from pitwall.platform.keys import issue_key

    try:
        issued = issue_key(tenant, tier, gateway=_gateway())
    except PitwallError as exc:
        fail(exc.message)
        return
    typer.echo(f"key id {issued.record.key_id} for tenant {issued.record.tenant_id} ({tier})", err=True)
    typer.echo(issued.plaintext)


@keys_app.command("list")
def keys_list_cmd(tenant: str = TenantArg) -> None:
    """List a tenant's keys (ids and dates; plaintexts are never stored)."""
    from rich.table import Table

    from pitwall.platform.keys import get_tenant, list_keys

    try:
        record = get_tenant(tenant)
        keys = list_keys(tenant)
    except PitwallError as exc:
        fail(exc.message)
        return
    table = Table("key_id", "created_at", "revoked_at", title=f"{record.tenant_id} ({record.tier})")
    for key in keys:
        table.add_row(key.key_id, key.created_at, key.revoked_at or "")
    console.print(table)


@keys_app.command("set-tier")
def keys_set_tier_cmd(
    tenant: str = TenantArg,
    tier: str = typer.Option(..., "--tier", help="free or pro"),
) -> None:
    """Move a tenant (all its keys) to another tier."""
    from pitwall.platform.keys import set_tenant_tier

    try:
        record = set_tenant_tier(tenant, tier, gateway=_gateway())
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"tenant {record.tenant_id} is on tier {record.tier}")


@keys_app.command("revoke")
def keys_revoke_cmd(
    key_id: str = typer.Argument(..., help="the key id (see `pitwall keys list`)"),
    tenant: str = TenantArg,
) -> None:
    """Revoke one of a tenant's keys (it stops working at once)."""
    from pitwall.platform.keys import revoke_key

    try:
        revoke_key(tenant, key_id, gateway=_gateway())
    except PitwallError as exc:
        fail(exc.message)
        return
    console.print(f"revoked {key_id} of tenant {tenant}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
