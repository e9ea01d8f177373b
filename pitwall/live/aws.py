"""The live mode's AWS adapters (boto3 only; the Lambda runtime has it): the DynamoDB feed and the
saved live models in S3.

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
import time
from collections.abc import Mapping
from typing import Any

from pitwall.live.feed import MAX_UPDATES

DEFAULT_TTL_DAYS = 7
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
