"""DynamoDB tables of the platform: names, key schema, indexes and TTL, in one place.

Imported by :class:`pitwall.platform.dynamo_backend.DynamoBackend`, by
:func:`create_tables` (moto tests, local bootstrap) and by the CDK stack, so the three
cannot drift. Every table has a string partition key ``pk`` and sort key ``sk``, is
on-demand (PAY_PER_REQUEST) and holds these items:

``tenants`` (env ``PITWALL_TENANTS_TABLE``, default ``pitwall-tenants``)
    - ``pk=TENANT#<tenant_id>  sk=PROFILE``      tenant: tier, created_at
    - ``pk=TENANT#<tenant_id>  sk=KEY#<key_id>`` the tenant's view of a key (listing, revoke)
    - ``pk=APIKEY#<sha256>     sk=APIKEY``       key lookup by hash at authentication

``quotas`` (``PITWALL_QUOTAS_TABLE``, ``pitwall-quotas``; TTL attribute ``expires_at``)
    - ``pk=<tenant_id>#<counter> sk=<period>``   atomic counter ``n`` (e.g. training_jobs per UTC day)
    - ``pk=<tenant_id>#deployed  sk=TOTAL``      deployed-models count ``n``
    - ``pk=<tenant_id>#rate      sk=BUCKET``     request token bucket: tokens, updated_at, version

``models`` (``PITWALL_MODELS_TABLE``, ``pitwall-models``)
    - ``pk=TENANT#<tenant_id> sk=HEAD#<name>``              latest_version, deployed_version,
      auto_retrain, deleted
    - ``pk=TENANT#<tenant_id> sk=VER#<name>#<version:010d>`` one version's document
    - GSI ``auto_retrain`` (``auto_retrain_pk`` = ``AUTO_RETRAIN``, ``auto_retrain_sk`` =
      ``<tenant_id>#<name>``): sparse, only heads with auto-retrain on.

``jobs`` (``PITWALL_JOBS_TABLE``, ``pitwall-jobs``)
    - ``pk=TENANT#<tenant_id> sk=JOB#<job_id>``   job document (job ids sort by creation time)
    - ``pk=TENANT#<tenant_id> sk=IDEMP#<key>``    idempotency guard -> job_id

``marketplace`` (``PITWALL_MARKETPLACE_TABLE``, ``pitwall-marketplace``; TTL ``expires_at``)
    - ``pk=LISTING#<listing_id> sk=META``           listing snapshot + downloads, rating_sum, rating_count
    - ``pk=LISTING#<listing_id> sk=RATING#<tenant>`` one tenant's stars
    - ``pk=SOURCE#<author>#<model>#<version> sk=GUARD`` one listing per model version
    - ``pk=ACTIVITY#<YYYY-MM-DD> sk=LISTING#<id>``   per-day downloads/ratings (top this week)
    - GSI ``listings`` (``listings_pk`` = ``LISTING``, ``listings_sk`` = created_at#id): all listings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index (string keys, all attributes projected)."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    """A platform table: env var for its name, default name, keys, indexes and TTL attribute."""

    logical_name: str
    env_var: str
    default_name: str
    partition_key: str = "pk"
    sort_key: str = "sk"
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None

    def key_attributes(self) -> list[str]:
        """Every attribute used as a table or index key (all of type string)."""
        names = [self.partition_key, self.sort_key]
        for index in self.indexes:
            names += [index.partition_key, index.sort_key]
        return list(dict.fromkeys(names))


TENANTS = TableSpec("tenants", "PITWALL_TENANTS_TABLE", "pitwall-tenants")
QUOTAS = TableSpec("quotas", "PITWALL_QUOTAS_TABLE", "pitwall-quotas", ttl_attribute="expires_at")
MODELS = TableSpec(
    "models",
    "PITWALL_MODELS_TABLE",
    "pitwall-models",
    indexes=(IndexSpec("auto_retrain", "auto_retrain_pk", "auto_retrain_sk"),),
)
JOBS = TableSpec("jobs", "PITWALL_JOBS_TABLE", "pitwall-jobs")
MARKETPLACE = TableSpec(
    "marketplace",
    "PITWALL_MARKETPLACE_TABLE",
    "pitwall-marketplace",
    indexes=(IndexSpec("listings", "listings_pk", "listings_sk"),),
    ttl_attribute="expires_at",
)

TABLES: dict[str, TableSpec] = {t.logical_name: t for t in (TENANTS, QUOTAS, MODELS, JOBS, MARKETPLACE)}


def table_name(spec: TableSpec) -> str:
    """The deployed name of ``spec``: its env var if set, else the default."""
    return os.environ.get(spec.env_var) or spec.default_name


def create_table_request(spec: TableSpec) -> dict[str, Any]:
    """``CreateTable`` arguments for ``spec`` (on-demand billing)."""
    request: dict[str, Any] = {
        "TableName": table_name(spec),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in spec.key_attributes()],
        "KeySchema": [
            {"AttributeName": spec.partition_key, "KeyType": "HASH"},
            {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
        ],
    }
    if spec.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    return request


def create_tables(client: Any = None) -> list[str]:
    """Create every platform table that does not exist yet and wait until active.

    ``client`` is a boto3 DynamoDB client (a default one is made when None). Returns the names
    of the tables created. Used by moto tests and by local bootstraps against a DynamoDB endpoint.
    """
    if client is None:
        import boto3

        client = boto3.client("dynamodb")
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec in TABLES.values():
        name = table_name(spec)
        if name in existing:
            continue
        client.create_table(**create_table_request(spec))
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        created.append(name)
    return created


if __name__ == "__main__":  # local bootstrap: python -m pitwall.platform.dynamo_tables
    for created_name in create_tables():
        print(f"created {created_name}")
