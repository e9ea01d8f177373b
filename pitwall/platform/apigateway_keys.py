"""API Gateway's copy of tenants' API keys (the AWS backend): each key in its tier's usage plan.

The platform record (:mod:`pitwall.platform.keys`, DynamoDB) decides who a key belongs to and its
tier; API Gateway needs the same plaintext as one of its own API keys, attached to the usage plan
of the tenant's tier, to let the request through and throttle it (Free/Pro plans, built from
:data:`pitwall.platform.tiers.TIERS` by ``infra/stacks/api_stack.py``).

An API Gateway key is named ``<tenant_id>.<key_id>`` with ``customerId`` = the tenant (a name query
``<tenant_id>.`` plus the ``customerId`` check finds exactly the tenant's keys). Plans are found by
name: ``PITWALL_USAGE_PLAN_NAME_<TIER>`` (set on the API Lambda), else
``pitwall-<PITWALL_STAGE or dev>-<tier>-plan`` as the stack names them.
"""

from __future__ import annotations

import os
from typing import Any

from pitwall.errors import NotFound
from pitwall.platform.tiers import TIERS

PLAN_NAME_ENV = "PITWALL_USAGE_PLAN_NAME_{tier}"
STAGE_ENV = "PITWALL_STAGE"


def usage_plan_name(tier: str) -> str:
    """The usage plan of ``tier`` (see the module doc)."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(TIERS)}")
    configured = os.environ.get(PLAN_NAME_ENV.format(tier=tier.upper()), "").strip()
    return configured or f"pitwall-{os.environ.get(STAGE_ENV, 'dev').strip() or 'dev'}-{tier}-plan"


def gateway_key_name(tenant_id: str, key_id: str) -> str:
    return f"{tenant_id}.{key_id}"


class ApiGatewayKeys:
    """Tenant keys as API Gateway keys in the usage plan of their tier (a boto3 ``apigateway`` client)."""

    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("apigateway")
        self.client = client
        self._plans: dict[str, str] = {}

    def plan_id(self, tier: str) -> str:
        """The id of ``tier``'s usage plan; NotFound naming the plan when the API stack is not deployed."""
        name = usage_plan_name(tier)
        if name not in self._plans:
            for page in self.client.get_paginator("get_usage_plans").paginate():
                for plan in page.get("items", []):
                    self._plans.setdefault(plan["name"], plan["id"])
        if name not in self._plans:
            raise NotFound(f"usage plan {name!r} not found; deploy the api stack first", field="tier")
        return self._plans[name]

    def keys_of(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's API Gateway keys (id, name, enabled...), without their values."""
        keys = []
        for page in self.client.get_paginator("get_api_keys").paginate(nameQuery=f"{tenant_id}."):
            keys += [k for k in page.get("items", []) if k.get("customerId") == tenant_id]
        return keys

    def add_key(self, tenant_id: str, key_id: str, plaintext: str, tier: str) -> str:
        """Create the API Gateway key with ``plaintext`` as its value in ``tier``'s plan; returns its id."""
        plan = self.plan_id(tier)
        created = self.client.create_api_key(
            name=gateway_key_name(tenant_id, key_id),
            description=f"Pitwall key {key_id} of tenant {tenant_id}",
            enabled=True,
            value=plaintext,
            customerId=tenant_id,
            tags={"project": "pitwall", "tenant": tenant_id},
        )
        try:
            self.client.create_usage_plan_key(usagePlanId=plan, keyId=created["id"], keyType="API_KEY")
        except Exception:
            self.client.delete_api_key(apiKey=created["id"])  # no key outside every plan
            raise
        return str(created["id"])

    def move_keys(self, tenant_id: str, old_tier: str, new_tier: str) -> int:
        """Move every key of the tenant from ``old_tier``'s plan to ``new_tier``'s; returns how many."""
        if old_tier == new_tier:
            return 0
        old_plan, new_plan = self.plan_id(old_tier), self.plan_id(new_tier)
        keys = self.keys_of(tenant_id)
        in_old = self._plan_key_ids(old_plan)
        in_new = self._plan_key_ids(new_plan)
        for key in keys:
            if key["id"] not in in_new:
                self.client.create_usage_plan_key(usagePlanId=new_plan, keyId=key["id"], keyType="API_KEY")
            if key["id"] in in_old:
                self.client.delete_usage_plan_key(usagePlanId=old_plan, keyId=key["id"])
        return len(keys)

    def remove_key(self, tenant_id: str, key_id: str) -> bool:
        """Delete the tenant's API Gateway key ``key_id`` (it leaves its plan with it); False if absent."""
        name = gateway_key_name(tenant_id, key_id)
        found = [k for k in self.keys_of(tenant_id) if k.get("name") == name]
        for key in found:
            for tier in TIERS:  # leave every plan first (the service does it too; emulators may not)
                plan = self.plan_id(tier)
                if key["id"] in self._plan_key_ids(plan):
                    self.client.delete_usage_plan_key(usagePlanId=plan, keyId=key["id"])
            self.client.delete_api_key(apiKey=key["id"])
        return bool(found)

    def _plan_key_ids(self, plan_id: str) -> set[str]:
        ids: set[str] = set()
        for page in self.client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id):
            ids |= {k["id"] for k in page.get("items", [])}
        return ids


def key_gateway() -> ApiGatewayKeys | None:
    """The API Gateway side of keys for this environment: ``None`` locally (``pitwall serve`` checks
    keys itself), :class:`ApiGatewayKeys` with ``PITWALL_BACKEND=aws``."""
    from pitwall.config import backend_kind

    return ApiGatewayKeys() if backend_kind() == "aws" else None
