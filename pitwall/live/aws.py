"""The live mode's AWS adapters (boto3 only; the Lambda runtime has it): the DynamoDB feed, the
saved live models (and the pre-race strengths) in S3, and the OpenF1 token in Secrets Manager.

DynamoDB items of the live table (partition key ``pk``, sort key ``sk``, TTL attribute
``expires_at``):

- one per model, session and lap: ``pk = "<model>#<session>"``, ``sk = "LAP#<lap:04d>"``;
- one head per model: ``pk = "<model>"``, ``sk = "HEAD"``, naming the current session and its
  latest lap, written only when it moves forward (a conditional put: two overlapping poller runs
  never move it back).

Both carry the lap's document as a JSON string (``doc``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from pitwall.live.feed import MAX_UPDATES

DEFAULT_TTL_DAYS = 7
STRENGTHS_FILE = "strengths.json"
LIVE_MODELS_URI_ENV = "PITWALL_LIVE_MODELS_URI"
"""``s3://<bucket>/<prefix>``: where saved live models are (``<prefix>/<name>/metadata.json`` ...)."""


def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"max_attempts": 5, "mode": "standard"}))


class DynamoFeed:
    """``pitwall.live.feed.LiveFeed`` in the live stack's DynamoDB table."""

    def __init__(self, table: str, client: Any = None, ttl_days: int = DEFAULT_TTL_DAYS) -> None:
        self.table = table
        self.client = client if client is not None else _client("dynamodb")
        self.ttl_days = ttl_days

    def put(self, model: str, doc: Mapping[str, Any]) -> None:
        session, lap = str(doc["session"]), int(doc["lap"])
        body = json.dumps(doc, allow_nan=False, separators=(",", ":"))
        expires = str(int(time.time()) + self.ttl_days * 86400)
        common = {"doc": {"S": body}, "updated_at": {"S": str(doc["updated_at"])}, "expires_at": {"N": expires}}
        self.client.put_item(
            TableName=self.table,
            Item={"pk": {"S": f"{model}#{session}"}, "sk": {"S": f"LAP#{lap:04d}"}, "lap": {"N": str(lap)}, **common},
        )
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": model},
                    "sk": {"S": "HEAD"},
                    "session": {"S": session},
                    "lap": {"N": str(lap)},
                    **common,
                },
                ConditionExpression="attribute_not_exists(pk) OR #s <> :s OR #l <= :l",
                ExpressionAttributeNames={"#s": "session", "#l": "lap"},
                ExpressionAttributeValues={":s": {"S": session}, ":l": {"N": str(lap)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass  # a later lap of this session is already the head

    def head(self, model: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": model}, "sk": {"S": "HEAD"}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else json.loads(item["doc"]["S"])

    def laps(self, model: str, session: str, after: int, limit: int = MAX_UPDATES) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk > :after",
            ExpressionAttributeValues={":pk": {"S": f"{model}#{session}"}, ":after": {"S": f"LAP#{int(after):04d}"}},
            ConsistentRead=True,
            Limit=int(limit),
        )
        return [json.loads(item["doc"]["S"]) for item in response.get("Items", [])]


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{LIVE_MODELS_URI_ENV}: expected s3://bucket/prefix, got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


class S3LiveModels:
    """Saved live models under ``s3://bucket/prefix/<name>/`` (the files ``LiveModel.save`` writes)."""

    def __init__(self, uri: str, client: Any = None) -> None:
        self.bucket, self.prefix = _split(uri)
        self.client = client if client is not None else _client("s3")

    def _key(self, name: str, file: str) -> str:
        return f"{self.prefix}/{name}/{file}" if self.prefix else f"{name}/{file}"

    def files(self, name: str) -> dict[str, bytes]:
        """The model's files (``metadata.json`` and the files it lists); KeyError when absent."""
        try:
            meta = self.client.get_object(Bucket=self.bucket, Key=self._key(name, "metadata.json"))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise KeyError(name) from None
        out = {"metadata.json": meta}
        for file in json.loads(meta).get("files", {}):
            out[file] = self.client.get_object(Bucket=self.bucket, Key=self._key(name, file))["Body"].read()
        return out

    def upload(self, name: str, files: Mapping[str, bytes]) -> None:
        for file, data in files.items():
            self.client.put_object(Bucket=self.bucket, Key=self._key(name, file), Body=data)

    def _strengths_key(self) -> str:
        return f"{self.prefix}/{STRENGTHS_FILE}" if self.prefix else STRENGTHS_FILE

    def strengths(self) -> dict[str, Any] | None:
        """``strengths.json`` (``pitwall.live.strength.strength_doc``), None when absent."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._strengths_key())["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def upload_strengths(self, doc: Mapping[str, Any]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._strengths_key(), Body=json.dumps(doc).encode())


OPENF1_SECRET_ENV = "PITWALL_OPENF1_SECRET"
"""Name (or ARN) of the Secrets Manager secret holding OpenF1 access (the cloud poller)."""
SECRET_CACHE_S = 300.0
"""The poller re-reads the secret after this long (a rotated token is used within 5 minutes)."""
_secret_cache: dict[str, tuple[float, str | None]] = {}


def _secret_doc(text: str, name: str) -> dict[str, Any]:
    """The secret's value as a dict: a JSON object, or a bare token string (``{"token": text}``)."""
    text = (text or "").strip()
    if not text.startswith("{"):
        return {"token": text}
    try:
        doc = json.loads(text)
    except ValueError:
        raise RuntimeError(f"{OPENF1_SECRET_ENV}: secret {name!r} is neither a token nor a JSON object") from None
    if not isinstance(doc, dict):
        raise RuntimeError(f"{OPENF1_SECRET_ENV}: secret {name!r} is neither a token nor a JSON object")
    return doc


def openf1_token_from_secret(client: Any = None, clock: Any = time.monotonic) -> str | None:
    """The OpenF1 token in the secret named by ``PITWALL_OPENF1_SECRET``: the secret string itself, or
    the ``token`` of its JSON (``{"token": ...}``; ``{"username", "password", "token"}`` when the
    rotation refreshes it). None when the variable is unset or no token is stored yet (historical
    sessions need none). Cached ``SECRET_CACHE_S`` per container; the value is never logged."""
    name = os.environ.get(OPENF1_SECRET_ENV)
    if not name:
        return None
    cached = _secret_cache.get(name)
    if cached is not None and clock() - cached[0] < SECRET_CACHE_S:
        return cached[1]
    sm = client if client is not None else _client("secretsmanager")
    try:
        text = sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT").get("SecretString") or ""
    except sm.exceptions.ResourceNotFoundException:
        raise RuntimeError(f"{OPENF1_SECRET_ENV}: no secret named {name!r}") from None
    token = str(_secret_doc(text, name).get("token") or "") or None
    _secret_cache[name] = (clock(), token)
    return token


ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def is_rotation_event(event: Any) -> bool:
    """A Secrets Manager rotation invocation (``SecretId``, ``ClientRequestToken``, ``Step``)."""
    return isinstance(event, Mapping) and {"SecretId", "ClientRequestToken", "Step"} <= set(event)


def rotate_openf1_secret(event: Mapping[str, Any], client: Any = None, exchange: Any = None) -> dict[str, str]:
    """One step of the secret's rotation (the poller is its rotation function).

    ``createSecret`` stages the next version: with OpenF1 credentials in the secret
    (``username``, ``password``) a fresh token from OpenF1 (``exchange``, default
    ``pitwall.live.sources.openf1.fetch_access_token``), otherwise the current value unchanged (a
    token pasted by the operator); ``finishSecret`` makes it current. OpenF1 issues the token itself,
    so ``setSecret`` and ``testSecret`` have nothing to do. No value is logged or returned."""
    sm = client if client is not None else _client("secretsmanager")
    arn, version, step = str(event["SecretId"]), str(event["ClientRequestToken"]), str(event["Step"])
    if step not in ROTATION_STEPS:
        raise RuntimeError(f"Step: {step!r} is not a rotation step {ROTATION_STEPS}")
    stages = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    if "AWSCURRENT" in stages.get(version, ()):
        return {"step": step, "result": "already current"}
    if step == "createSecret":
        try:
            sm.get_secret_value(SecretId=arn, VersionId=version, VersionStage="AWSPENDING")
            return {"step": step, "result": "already staged"}
        except sm.exceptions.ResourceNotFoundException:
            pass
        doc = _secret_doc(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"], arn)
        if doc.get("username") and doc.get("password"):
            if exchange is None:
                from pitwall.live.sources.openf1 import fetch_access_token as exchange
            doc["token"] = exchange(str(doc["username"]), str(doc["password"]))
        sm.put_secret_value(
            SecretId=arn, ClientRequestToken=version, SecretString=json.dumps(doc), VersionStages=["AWSPENDING"]
        )
        return {"step": step, "result": "staged"}
    if version not in stages:
        raise RuntimeError(f"ClientRequestToken: version {version} of {arn} is not staged for rotation")
    if step == "finishSecret":
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
        sm.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=version, RemoveFromVersionId=current
        )
        _secret_cache.clear()
        return {"step": step, "result": "current"}
    return {"step": step, "result": "nothing to do"}
