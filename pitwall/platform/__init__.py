"""Tenants, API keys, tiers, quotas, and the model, job and listing records.

Modules (import them directly; this package imports nothing so the API Lambda stays lean):

- ``tiers``: the Free/Pro limits table (also imported by the CDK usage plans).
- ``keys``: tenants and API keys (``create_key``, ``authenticate``, ``revoke_key``).
- ``quotas``: every tier limit, enforced atomically through the backend.
- ``models``: the tenant-scoped model registry (versions, deploy, auto-retrain, lineage).
- ``jobs``: job records, idempotent submission, status state machine, experiments.
- ``backend``: the ``RecordsBackend`` protocol and ``get_backend()`` (``PITWALL_BACKEND``).
- ``sqlite_backend`` / ``dynamo_backend``: the local and AWS implementations.
- ``dynamo_tables``: DynamoDB table names, keys, GSIs and TTL (shared with ``infra/``).
- ``records``, ``validation``, ``clock``: records, input checks and UTC windows.
- ``archives``: the one deterministic ``model.tar.gz`` writer.
"""
