"""DynamoDB records backend (boto3), for the cloud deployment.

Tables, keys and item layouts are documented in :mod:`pitwall.platform.dynamo_tables`.
Atomicity comes from DynamoDB itself: conditional ``PutItem``/``UpdateItem`` (e.g.
``ADD n :one`` with ``ConditionExpression: attribute_not_exists(n) OR n < :limit``) and
``TransactWriteItems`` wherever two items must change together (a model head and its
version, a deploy and the tenant's deployed counter, a rating and the listing's sum/count).
Read-check-write sequences are optimistic: the write is conditioned on what was read, and a
cancelled transaction is re-read and retried with jittered backoff.

Documents (model versions, jobs, listings) are stored as JSON strings in ``doc`` so floats
and nested values round-trip exactly; counters are native numbers.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pitwall.platform.backend import DeleteOutcome, DeployOutcome
from pitwall.platform.dynamo_tables import JOBS, MARKETPLACE, MODELS, QUOTAS, TENANTS, table_name
from pitwall.platform.records import (
    ActivityCounts,
    ApiKeyRecord,
    BucketState,
    JobRecord,
    Listing,
    ModelRecord,
    Tenant,
)

T = TypeVar("T")

_SER = TypeSerializer()
_DES = TypeDeserializer()
_MAX_ATTEMPTS = 64


class _Retry(Exception):
    """Internal: the optimistic write lost a race; re-read and try again."""


def _av(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        value = Decimal(repr(value))
    return _SER.serialize(value)


def _item(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: _av(v) for k, v in attrs.items() if v is not None}


def _values(**values: Any) -> dict[str, Any]:
    return {f":{k}": _av(v) for k, v in values.items()}


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    out: dict[str, Any] = {}
    for k, v in item.items():
        value = _DES.deserialize(v)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        out[k] = value
    return out


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(exc: ClientError) -> bool:
    return _error_code(exc) == "ConditionalCheckFailedException"


def _is_cancelled(exc: ClientError) -> bool:
    return _error_code(exc) in ("TransactionCanceledException", "TransactionConflictException")


def _cancel_reasons(exc: ClientError) -> list[str] | None:
    """Per-item codes of a cancelled transaction (``"None"``, ``"ConditionalCheckFailed"``...)."""
    reasons = exc.response.get("CancellationReasons")
    if not reasons:
        return None
    return [str(r.get("Code", "None")) for r in reasons]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _head_sk(name: str) -> str:
    return f"HEAD#{name}"


def _version_sk(name: str, version: int) -> str:
    return f"VER#{name}#{version:010d}"


class DynamoBackend:
    """Records in the five DynamoDB tables of :mod:`pitwall.platform.dynamo_tables`."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("dynamodb", config=Config(retries={"max_attempts": 10, "mode": "standard"}))
        self.client = client
        self.tenants_table = table_name(TENANTS)
        self.quotas_table = table_name(QUOTAS)
        self.models_table = table_name(MODELS)
        self.jobs_table = table_name(JOBS)
        self.market_table = table_name(MARKETPLACE)

    # --- plumbing ---------------------------------------------------------------------------
    def _get(self, table: str, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=table, Key=_key(pk, sk), ConsistentRead=True)
        return _plain(response.get("Item"))

    def _query(self, table: str, pk: str, sk_prefix: str | None = None, **extra: Any) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        if sk_prefix is not None:
            args["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            args["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
        args.update(extra)
        for page in self.client.get_paginator("query").paginate(**args):
            for item in page["Items"]:
                plain = _plain(item)
                assert plain is not None
                yield plain

    def _query_index(self, table: str, index: str, pk_attr: str, pk: str) -> Iterator[dict[str, Any]]:
        args = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :pk",
            "ExpressionAttributeNames": {"#p": pk_attr},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        for page in self.client.get_paginator("query").paginate(**args):
            for item in page["Items"]:
                plain = _plain(item)
                assert plain is not None
                yield plain

    def _transact(self, items: list[dict[str, Any]]) -> None:
        self.client.transact_write_items(TransactItems=items)

    def _delete_keys(self, table: str, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in keys[start : start + 25]]
            pending: dict[str, Any] = {table: requests}
            for attempt in range(_MAX_ATTEMPTS):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                _backoff(attempt)

    @staticmethod
    def _optimistic(step: Callable[[], T]) -> T:
        """Run ``step`` until it does not raise :class:`_Retry` (bounded, with backoff)."""
        for attempt in range(_MAX_ATTEMPTS):
            try:
                return step()
            except _Retry:
                _backoff(attempt)
        raise RuntimeError(f"DynamoDB write still contended after {_MAX_ATTEMPTS} attempts")

    # --- tenants and API keys -----------------------------------------------------------------
    def ensure_tenant(self, tenant: Tenant) -> Tenant:
        try:
            self.client.put_item(
                TableName=self.tenants_table,
                Item=_item({"pk": _tenant_pk(tenant.tenant_id), "sk": "PROFILE"} | tenant.to_doc()),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return tenant
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
        existing = self.get_tenant(tenant.tenant_id)
        assert existing is not None
        return existing

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = self._get(self.tenants_table, _tenant_pk(tenant_id), "PROFILE")
        return None if item is None else Tenant.from_doc(item)

    def set_tenant_tier(self, tenant_id: str, tier: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.tenants_table,
                Key=_key(_tenant_pk(tenant_id), "PROFILE"),
                UpdateExpression="SET tier = :tier",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=_values(tier=tier),
            )
            return True
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise

    def put_api_key(self, key: ApiKeyRecord) -> None:
        doc = key.to_doc()
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.tenants_table,
                        "Item": _item({"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY"} | doc),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.tenants_table,
                        "Item": _item({"pk": _tenant_pk(key.tenant_id), "sk": f"KEY#{key.key_id}"} | doc),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._get(self.tenants_table, f"APIKEY#{key_hash}", "APIKEY")
        return None if item is None else ApiKeyRecord.from_doc(item)

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        keys = [ApiKeyRecord.from_doc(i) for i in self._query(self.tenants_table, _tenant_pk(tenant_id), "KEY#")]
        return sorted(keys, key=lambda k: (k.created_at, k.key_id))

    def revoke_api_key(self, tenant_id: str, key_id: str, revoked_at: str) -> bool:
        item = self._get(self.tenants_table, _tenant_pk(tenant_id), f"KEY#{key_id}")
        if item is None:
            return False
        if item.get("revoked_at"):
            return True
        update = {
            "UpdateExpression": "SET revoked_at = :at",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": _values(at=revoked_at),
        }
        ops = [
            {"Update": {"TableName": self.tenants_table, "Key": _key(f"APIKEY#{item['key_hash']}", "APIKEY")} | update},
            {"Update": {"TableName": self.tenants_table, "Key": _key(_tenant_pk(tenant_id), f"KEY#{key_id}")} | update},
        ]

        def step() -> bool:
            try:
                self._transact(ops)
            except ClientError as exc:
                if _is_cancelled(exc):
                    raise _Retry from None
                raise
            return True

        return self._optimistic(step)

    # --- counters -----------------------------------------------------------------------------
    def increment_counter(self, name: str, period: str, *, limit: int | None, expires_at: int) -> int | None:
        if limit is not None and limit <= 0:
            return None
        args: dict[str, Any] = {
            "TableName": self.quotas_table,
            "Key": _key(name, period),
            "UpdateExpression": "ADD n :one SET expires_at = :exp",
            "ExpressionAttributeValues": _values(one=1, exp=expires_at),
            "ReturnValues": "UPDATED_NEW",
        }
        if limit is not None:
            args["ConditionExpression"] = "attribute_not_exists(n) OR n < :limit"
            args["ExpressionAttributeValues"][":limit"] = _av(limit)
        try:
            response = self.client.update_item(**args)
        except ClientError as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return int(response["Attributes"]["n"]["N"])

    def decrement_counter(self, name: str, period: str) -> int:
        try:
            response = self.client.update_item(
                TableName=self.quotas_table,
                Key=_key(name, period),
                UpdateExpression="ADD n :minus",
                ConditionExpression="n > :zero",
                ExpressionAttributeValues=_values(minus=-1, zero=0),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return self.get_counter(name, period)
            raise
        return int(response["Attributes"]["n"]["N"])

    def get_counter(self, name: str, period: str) -> int:
        item = self._get(self.quotas_table, name, period)
        return 0 if item is None else int(item.get("n", 0))

    # --- token buckets ------------------------------------------------------------------------
    def get_bucket(self, name: str) -> BucketState | None:
        item = self._get(self.quotas_table, name, "BUCKET")
        if item is None:
            return None
        return BucketState(
            tokens=float(item["tokens"]), updated_at=float(item["updated_at"]), version=int(item["version"])
        )

    def put_bucket(self, name: str, tokens: float, updated_at: float, expected_version: int | None) -> bool:
        expires_at = int(updated_at) + 86400
        try:
            if expected_version is None:
                self.client.put_item(
                    TableName=self.quotas_table,
                    Item=_item(
                        {
                            "pk": name,
                            "sk": "BUCKET",
                            "tokens": float(tokens),
                            "updated_at": float(updated_at),
                            "version": 1,
                            "expires_at": expires_at,
                        }
                    ),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            else:
                self.client.update_item(
                    TableName=self.quotas_table,
                    Key=_key(name, "BUCKET"),
                    UpdateExpression="SET tokens = :t, updated_at = :u, version = :next, expires_at = :exp",
                    ConditionExpression="version = :expected",
                    ExpressionAttributeValues=_values(
                        t=float(tokens),
                        u=float(updated_at),
                        next=expected_version + 1,
                        expected=expected_version,
                        exp=expires_at,
                    ),
                )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    # --- models -------------------------------------------------------------------------------
    def _head(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        return self._get(self.models_table, _tenant_pk(tenant_id), _head_sk(name))

    def _live_head(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        head = self._head(tenant_id, name)
        return None if head is None or head.get("deleted") else head

    @staticmethod
    def _model(version_item: dict[str, Any], head: dict[str, Any]) -> ModelRecord:
        return ModelRecord.from_version_doc(
            json.loads(version_item["doc"]),
            deployed_version=head.get("deployed_version"),
            auto_retrain=bool(head.get("auto_retrain", False)),
        )

    def _version_item(self, tenant_id: str, name: str, version: int) -> dict[str, Any] | None:
        return self._get(self.models_table, _tenant_pk(tenant_id), _version_sk(name, version))

    @staticmethod
    def _auto_retrain_update(enabled: bool, tenant_id: str, name: str) -> tuple[str, str, dict[str, Any]]:
        """(SET fragment, REMOVE fragment, values) maintaining the sparse auto-retrain index."""
        if enabled:
            return (
                ", auto_retrain_pk = :arpk, auto_retrain_sk = :arsk",
                "",
                _values(arpk="AUTO_RETRAIN", arsk=f"{tenant_id}#{name}"),
            )
        return "", " REMOVE auto_retrain_pk, auto_retrain_sk", {}

    def register_model_version(self, record: ModelRecord, auto_retrain: bool | None) -> ModelRecord:
        pk = _tenant_pk(record.tenant_id)

        def step() -> ModelRecord:
            head = self._head(record.tenant_id, record.name)
            if head is None:
                version, flag = 1, bool(auto_retrain)
                head_item = {
                    "pk": pk,
                    "sk": _head_sk(record.name),
                    "tenant_id": record.tenant_id,
                    "name": record.name,
                    "latest_version": 1,
                    "auto_retrain": flag,
                    "deleted": False,
                }
                if flag:
                    head_item |= {
                        "auto_retrain_pk": "AUTO_RETRAIN",
                        "auto_retrain_sk": f"{record.tenant_id}#{record.name}",
                    }
                head_op: dict[str, Any] = {
                    "Put": {
                        "TableName": self.models_table,
                        "Item": _item(head_item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            else:
                version = int(head["latest_version"]) + 1
                keep = bool(head.get("auto_retrain")) and not head.get("deleted")
                flag = keep if auto_retrain is None else bool(auto_retrain)
                set_extra, remove, extra_values = self._auto_retrain_update(flag, record.tenant_id, record.name)
                head_op = {
                    "Update": {
                        "TableName": self.models_table,
                        "Key": _key(pk, _head_sk(record.name)),
                        "UpdateExpression": "SET latest_version = :v, deleted = :no, auto_retrain = :flag"
                        + set_extra
                        + remove,
                        "ConditionExpression": "latest_version = :prev",
                        "ExpressionAttributeValues": _values(
                            v=version, no=False, flag=flag, prev=int(head["latest_version"])
                        )
                        | extra_values,
                    }
                }
            doc = record.version_doc() | {"version": version}
            version_op = {
                "Put": {
                    "TableName": self.models_table,
                    "Item": _item({"pk": pk, "sk": _version_sk(record.name, version), "doc": json.dumps(doc)}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            try:
                self._transact([head_op, version_op])
            except ClientError as exc:
                if _is_cancelled(exc):
                    raise _Retry from None
                raise
            deployed = None if head is None or head.get("deleted") else head.get("deployed_version")
            return ModelRecord.from_version_doc(doc, deployed_version=deployed, auto_retrain=flag)

        return self._optimistic(step)

    def get_model(self, tenant_id: str, name: str, version: int | None) -> ModelRecord | None:
        head = self._live_head(tenant_id, name)
        if head is None:
            return None
        item = self._version_item(tenant_id, name, int(head["latest_version"]) if version is None else version)
        return None if item is None else self._model(item, head)

    def list_models(self, tenant_id: str) -> list[ModelRecord]:
        out = []
        for head in self._query(self.models_table, _tenant_pk(tenant_id), "HEAD#"):
            if head.get("deleted"):
                continue
            item = self._version_item(tenant_id, head["name"], int(head["latest_version"]))
            if item is not None:
                out.append(self._model(item, head))
        return sorted(out, key=lambda m: m.name)

    def list_model_versions(self, tenant_id: str, name: str) -> list[ModelRecord]:
        head = self._live_head(tenant_id, name)
        if head is None:
            return []
        items = self._query(self.models_table, _tenant_pk(tenant_id), f"VER#{name}#")
        return sorted((self._model(i, head) for i in items), key=lambda m: m.version)

    def _deployed_counter_key(self, tenant_id: str) -> dict[str, Any]:
        return _key(f"{tenant_id}#deployed", "TOTAL")

    def set_deployed(self, tenant_id: str, name: str, version: int, *, limit: int | None) -> DeployOutcome:
        pk = _tenant_pk(tenant_id)

        def step() -> DeployOutcome:
            head = self._live_head(tenant_id, name)
            if head is None or self._version_item(tenant_id, name, version) is None:
                return DeployOutcome.NOT_FOUND
            current = head.get("deployed_version")
            if current == version:
                return DeployOutcome.DEPLOYED
            head_key = _key(pk, _head_sk(name))
            if current is not None:
                try:
                    self.client.update_item(
                        TableName=self.models_table,
                        Key=head_key,
                        UpdateExpression="SET deployed_version = :v",
                        ConditionExpression="deployed_version = :cur AND deleted = :no",
                        ExpressionAttributeValues=_values(v=version, cur=current, no=False),
                    )
                except ClientError as exc:
                    if _is_condition_failure(exc):
                        raise _Retry from None
                    raise
                return DeployOutcome.DEPLOYED
            if limit is not None and limit <= 0:
                return DeployOutcome.LIMIT_REACHED
            counter: dict[str, Any] = {
                "TableName": self.quotas_table,
                "Key": self._deployed_counter_key(tenant_id),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": _values(one=1),
            }
            if limit is not None:
                counter["ConditionExpression"] = "attribute_not_exists(n) OR n < :limit"
                counter["ExpressionAttributeValues"][":limit"] = _av(limit)
            try:
                self._transact(
                    [
                        {
                            "Update": {
                                "TableName": self.models_table,
                                "Key": head_key,
                                "UpdateExpression": "SET deployed_version = :v",
                                "ConditionExpression": "attribute_not_exists(deployed_version) AND deleted = :no",
                                "ExpressionAttributeValues": _values(v=version, no=False),
                            }
                        },
                        {"Update": counter},
                    ]
                )
            except ClientError as exc:
                if not _is_cancelled(exc):
                    raise
                reasons = _cancel_reasons(exc)
                if reasons is not None and reasons[1] == "ConditionalCheckFailed":
                    return DeployOutcome.LIMIT_REACHED
                if reasons is None and limit is not None and self.count_deployed(tenant_id) >= limit:
                    return DeployOutcome.LIMIT_REACHED
                raise _Retry from None
            return DeployOutcome.DEPLOYED

        return self._optimistic(step)

    def clear_deployed(self, tenant_id: str, name: str) -> bool:
        def step() -> bool:
            head = self._live_head(tenant_id, name)
            if head is None or head.get("deployed_version") is None:
                return False
            try:
                self._transact(
                    [
                        {
                            "Update": {
                                "TableName": self.models_table,
                                "Key": _key(_tenant_pk(tenant_id), _head_sk(name)),
                                "UpdateExpression": "REMOVE deployed_version",
                                "ConditionExpression": "deployed_version = :cur",
                                "ExpressionAttributeValues": _values(cur=int(head["deployed_version"])),
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.quotas_table,
                                "Key": self._deployed_counter_key(tenant_id),
                                "UpdateExpression": "ADD n :minus",
                                "ExpressionAttributeValues": _values(minus=-1),
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if _is_cancelled(exc):
                    raise _Retry from None
                raise
            return True

        return self._optimistic(step)

    def count_deployed(self, tenant_id: str) -> int:
        return self.get_counter(f"{tenant_id}#deployed", "TOTAL")

    def set_auto_retrain(self, tenant_id: str, name: str, enabled: bool) -> bool:
        set_extra, remove, extra_values = self._auto_retrain_update(enabled, tenant_id, name)
        try:
            self.client.update_item(
                TableName=self.models_table,
                Key=_key(_tenant_pk(tenant_id), _head_sk(name)),
                UpdateExpression="SET auto_retrain = :flag" + set_extra + remove,
                ConditionExpression="attribute_exists(pk) AND deleted = :no",
                ExpressionAttributeValues=_values(flag=enabled, no=False) | extra_values,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def delete_model(self, tenant_id: str, name: str) -> DeleteOutcome:
        pk = _tenant_pk(tenant_id)

        def step() -> tuple[DeleteOutcome, int]:
            head = self._live_head(tenant_id, name)
            if head is None:
                return DeleteOutcome.NOT_FOUND, 0
            if head.get("deployed_version") is not None:
                return DeleteOutcome.DEPLOYED, 0
            latest = int(head["latest_version"])
            try:
                self.client.update_item(
                    TableName=self.models_table,
                    Key=_key(pk, _head_sk(name)),
                    UpdateExpression="SET deleted = :yes, auto_retrain = :no REMOVE auto_retrain_pk, auto_retrain_sk",
                    ConditionExpression=(
                        "attribute_not_exists(deployed_version) AND deleted = :no AND latest_version = :latest"
                    ),
                    ExpressionAttributeValues=_values(yes=True, no=False, latest=latest),
                )
            except ClientError as exc:
                if _is_condition_failure(exc):
                    raise _Retry from None
                raise
            return DeleteOutcome.DELETED, latest

        outcome, latest = self._optimistic(step)
        if outcome is DeleteOutcome.DELETED:
            # Only versions up to the deleted head's latest: a concurrent re-registration
            # writes higher numbers, which must survive.
            keys = [
                (pk, i["sk"])
                for i in self._query(self.models_table, pk, f"VER#{name}#", ProjectionExpression="pk, sk")
                if i["sk"] <= _version_sk(name, latest)
            ]
            self._delete_keys(self.models_table, keys)
        return outcome

    def list_auto_retrain_models(self) -> list[ModelRecord]:
        out = []
        for head in self._query_index(self.models_table, "auto_retrain", "auto_retrain_pk", "AUTO_RETRAIN"):
            fresh = self._live_head(head["tenant_id"], head["name"])
            if fresh is None or not fresh.get("auto_retrain"):
                continue
            item = self._version_item(head["tenant_id"], head["name"], int(fresh["latest_version"]))
            if item is not None:
                out.append(self._model(item, fresh))
        return sorted(out, key=lambda m: (m.tenant_id, m.name))

    # --- jobs ---------------------------------------------------------------------------------
    def _job_item(self, job: JobRecord) -> dict[str, Any]:
        return _item(
            {
                "pk": _tenant_pk(job.tenant_id),
                "sk": f"JOB#{job.job_id}",
                "status": job.status,
                "created_at": job.created_at,
                "doc": json.dumps(job.to_doc(), sort_keys=True),
            }
        )

    def create_job(self, job: JobRecord) -> tuple[JobRecord, bool]:
        put_job = {
            "TableName": self.jobs_table,
            "Item": self._job_item(job),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if job.idempotency_key is None:
            self.client.put_item(**put_job)
            return job, True
        key = job.idempotency_key

        def step() -> tuple[JobRecord, bool]:
            try:
                self._transact(
                    [
                        {"Put": put_job},
                        {
                            "Put": {
                                "TableName": self.jobs_table,
                                "Item": _item(
                                    {"pk": _tenant_pk(job.tenant_id), "sk": f"IDEMP#{key}", "job_id": job.job_id}
                                ),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if not _is_cancelled(exc):
                    raise
                existing = self.get_job_by_idempotency_key(job.tenant_id, key)
                if existing is not None:
                    return existing, False
                raise _Retry from None
            return job, True

        return self._optimistic(step)

    def get_job(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self._get(self.jobs_table, _tenant_pk(tenant_id), f"JOB#{job_id}")
        return None if item is None else JobRecord.from_doc(json.loads(item["doc"]))

    def get_job_by_idempotency_key(self, tenant_id: str, key: str) -> JobRecord | None:
        guard = self._get(self.jobs_table, _tenant_pk(tenant_id), f"IDEMP#{key}")
        return None if guard is None else self.get_job(tenant_id, guard["job_id"])

    def list_jobs(self, tenant_id: str) -> list[JobRecord]:
        jobs = [
            JobRecord.from_doc(json.loads(i["doc"]))
            for i in self._query(self.jobs_table, _tenant_pk(tenant_id), "JOB#")
        ]
        return sorted(jobs, key=lambda j: (j.created_at, j.job_id))

    def list_unfinished_jobs(self) -> list[JobRecord]:
        out = []
        for page in self.client.get_paginator("scan").paginate(
            TableName=self.jobs_table,
            FilterExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_values(queued="queued", running="running"),
        ):
            for item in page.get("Items", []):
                plain = _plain(item) or {}
                if str(plain.get("sk", "")).startswith("JOB#") and "doc" in plain:
                    out.append(JobRecord.from_doc(json.loads(plain["doc"])))
        return sorted(out, key=lambda j: (j.created_at, j.job_id))

    def update_job(self, job: JobRecord, expected_status: str) -> bool:
        try:
            self.client.put_item(
                TableName=self.jobs_table,
                Item=self._job_item(job),
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_values(expected=expected_status),
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    # --- marketplace --------------------------------------------------------------------------
    @staticmethod
    def _listing(item: dict[str, Any]) -> Listing:
        return Listing.from_doc(
            json.loads(item["doc"]),
            downloads=int(item.get("downloads", 0)),
            rating_sum=int(item.get("rating_sum", 0)),
            rating_count=int(item.get("rating_count", 0)),
        )

    def put_listing(self, listing: Listing) -> bool:
        meta = {
            "pk": f"LISTING#{listing.listing_id}",
            "sk": "META",
            "author_tenant_id": listing.author_tenant_id,
            "source_key": listing.source_key,
            "doc": json.dumps(listing.snapshot_doc(), sort_keys=True),
            "downloads": 0,
            "rating_sum": 0,
            "rating_count": 0,
            "listings_pk": "LISTING",
            "listings_sk": f"{listing.created_at}#{listing.listing_id}",
        }
        guard = {"pk": f"SOURCE#{listing.source_key}", "sk": "GUARD", "listing_id": listing.listing_id}

        def step() -> bool:
            try:
                self._transact(
                    [
                        {
                            "Put": {
                                "TableName": self.market_table,
                                "Item": _item(meta),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.market_table,
                                "Item": _item(guard),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if not _is_cancelled(exc):
                    raise
                if self._get(self.market_table, guard["pk"], "GUARD") is not None:
                    return False
                raise _Retry from None
            return True

        return self._optimistic(step)

    def get_listing(self, listing_id: str) -> Listing | None:
        item = self._get(self.market_table, f"LISTING#{listing_id}", "META")
        return None if item is None else self._listing(item)

    def list_listings(self) -> list[Listing]:
        return [self._listing(i) for i in self._query_index(self.market_table, "listings", "listings_pk", "LISTING")]

    def replace_listing(self, old: Listing, new: Listing) -> bool:
        try:
            self.client.update_item(
                TableName=self.market_table,
                Key=_key(f"LISTING#{old.listing_id}", "META"),
                UpdateExpression="SET doc = :new",
                ConditionExpression="doc = :old",
                ExpressionAttributeValues=_values(
                    new=json.dumps(new.snapshot_doc(), sort_keys=True),
                    old=json.dumps(old.snapshot_doc(), sort_keys=True),
                ),
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def delete_listing(self, listing_id: str) -> bool:
        pk = f"LISTING#{listing_id}"

        def step() -> bool:
            item = self._get(self.market_table, pk, "META")
            if item is None:
                return False
            try:
                self._transact(
                    [
                        {
                            "Delete": {
                                "TableName": self.market_table,
                                "Key": _key(pk, "META"),
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        },
                        {
                            "Delete": {
                                "TableName": self.market_table,
                                "Key": _key(f"SOURCE#{item['source_key']}", "GUARD"),
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if _is_cancelled(exc):
                    raise _Retry from None
                raise
            return True

        if not self._optimistic(step):
            return False
        ratings = [(pk, i["sk"]) for i in self._query(self.market_table, pk, "RATING#", ProjectionExpression="pk, sk")]
        self._delete_keys(self.market_table, ratings)
        return True

    def _activity_op(self, listing_id: str, day: str, expires_at: int, column: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.market_table,
                "Key": _key(f"ACTIVITY#{day}", f"LISTING#{listing_id}"),
                "UpdateExpression": f"ADD {column} :one SET expires_at = :exp, listing_id = :id",
                "ExpressionAttributeValues": _values(one=1, exp=expires_at, id=listing_id),
            }
        }

    def add_download(self, listing_id: str, day: str, expires_at: int) -> bool:
        def step() -> bool:
            try:
                self._transact(
                    [
                        {
                            "Update": {
                                "TableName": self.market_table,
                                "Key": _key(f"LISTING#{listing_id}", "META"),
                                "UpdateExpression": "ADD downloads :one",
                                "ConditionExpression": "attribute_exists(pk)",
                                "ExpressionAttributeValues": _values(one=1),
                            }
                        },
                        self._activity_op(listing_id, day, expires_at, "downloads"),
                    ]
                )
            except ClientError as exc:
                if not _is_cancelled(exc):
                    raise
                if self.get_listing(listing_id) is None:
                    return False
                raise _Retry from None
            return True

        return self._optimistic(step)

    def put_rating(self, listing_id: str, tenant_id: str, stars: int, day: str, expires_at: int) -> bool:
        pk = f"LISTING#{listing_id}"
        meta_key = _key(pk, "META")

        def step() -> bool:
            old = self._get(self.market_table, pk, f"RATING#{tenant_id}")
            rating_item = _item({"pk": pk, "sk": f"RATING#{tenant_id}", "stars": stars, "updated_at": time.time()})
            if old is None:
                ops = [
                    {
                        "Put": {
                            "TableName": self.market_table,
                            "Item": rating_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.market_table,
                            "Key": meta_key,
                            "UpdateExpression": "ADD rating_sum :s, rating_count :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _values(s=stars, one=1),
                        }
                    },
                    self._activity_op(listing_id, day, expires_at, "ratings"),
                ]
            else:
                ops = [
                    {
                        "Put": {
                            "TableName": self.market_table,
                            "Item": rating_item,
                            "ConditionExpression": "stars = :old",
                            "ExpressionAttributeValues": _values(old=int(old["stars"])),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.market_table,
                            "Key": meta_key,
                            "UpdateExpression": "ADD rating_sum :delta",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": _values(delta=stars - int(old["stars"])),
                        }
                    },
                ]
            try:
                self._transact(ops)
            except ClientError as exc:
                if not _is_cancelled(exc):
                    raise
                if self.get_listing(listing_id) is None:
                    return False
                raise _Retry from None
            return True

        return self._optimistic(step)

    def get_rating(self, listing_id: str, tenant_id: str) -> int | None:
        item = self._get(self.market_table, f"LISTING#{listing_id}", f"RATING#{tenant_id}")
        return None if item is None else int(item["stars"])

    def listing_activity(self, days: list[str]) -> dict[str, ActivityCounts]:
        totals: dict[str, ActivityCounts] = {}
        for day in days:
            for item in self._query(self.market_table, f"ACTIVITY#{day}"):
                counts = ActivityCounts(downloads=int(item.get("downloads", 0)), ratings=int(item.get("ratings", 0)))
                lid = item["listing_id"]
                totals[lid] = totals.get(lid, ActivityCounts()) + counts
        return totals


def _backoff(attempt: int) -> None:
    """Full-jitter exponential backoff: up to 5 ms doubling, capped at 200 ms."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
