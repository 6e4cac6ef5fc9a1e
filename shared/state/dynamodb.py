"""The state store on one on-demand DynamoDB table (``MEDIC_STATE=dynamodb://TABLE``).

Layout (partition key ``pk``, string; TTL attribute ``expires_at``, epoch seconds):

- ``p#<problem key>``: a problem record, with ``version`` for compare-and-set, ``body`` (JSON)
  and, only while it has undelivered messages, ``pending`` = ``"1"``. The sparse global
  secondary index ``pending`` on that attribute lists exactly the records to retry.
- ``e#<event id>``: a processed event id.

Compare-and-set is a conditional ``PutItem``, never read-then-write, so two concurrent Lambda
invocations cannot both win. Each write carries a random ``writer`` token: when the answer to a
write that DynamoDB applied is lost (a dropped connection, a timeout), botocore sends it again
and its condition then fails against the write itself; the item the failure returns still
holds the token, so the write is reported as the success it was, and the caller does not apply
its change twice. DynamoDB deletes expired items lazily, so reads check ``expires_at``
themselves.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from shared.state.base import Versioned

PENDING_INDEX = "pending"


class DynamoStore:
    """:class:`~shared.state.base.Store` on a DynamoDB table (see the module docstring)."""

    def __init__(self, table: str, client: Any = None) -> None:
        if client is None:
            import boto3  # imported here: a cold start that never needs state does not pay

            client = boto3.client("dynamodb")
        self.table = table
        self._db = client

    def get(self, key: str) -> Versioned | None:
        item = self._db.get_item(
            TableName=self.table, Key={"pk": {"S": f"p#{key}"}}, ConsistentRead=True
        ).get("Item")
        if not item or int(item["expires_at"]["N"]) <= time.time():
            return None
        return Versioned(json.loads(item["body"]["S"]), int(item["version"]["N"]))

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        from botocore.exceptions import ClientError

        writer = uuid.uuid4().hex
        item: dict[str, Any] = {
            "pk": {"S": f"p#{key}"},
            "body": {"S": json.dumps(value, separators=(",", ":"))},
            "version": {"N": str(int(version) + 1 if isinstance(version, int) else 1)},
            "expires_at": {"N": str(int(expires.timestamp()))},
            "writer": {"S": writer},
        }
        if pending:
            item["pending"] = {"S": "1"}
        if version is None:
            condition = "attribute_not_exists(pk) OR expires_at <= :now"
            values = {":now": {"N": str(int(time.time()))}}
        else:
            condition = "version = :v"
            values = {":v": {"N": str(version)}}
        try:
            self._db.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                current = exc.response.get("Item") or {}
                return bool(current.get("writer", {}).get("S") == writer)  # ours, retried
            raise
        return True

    def pending(self) -> list[str]:
        keys: list[str] = []
        now = time.time()
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=PENDING_INDEX,
            KeyConditionExpression="pending = :one",
            ExpressionAttributeValues={":one": {"S": "1"}},
        ):
            for item in page.get("Items", []):
                if int(item["expires_at"]["N"]) > now:
                    keys.append(item["pk"]["S"].removeprefix("p#"))
        return keys

    def seen(self, ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        now = time.time()
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"pk": {"S": f"e#{i}"}} for i in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self._db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    if int(item["expires_at"]["N"]) > now:
                        found.add(item["pk"]["S"].removeprefix("e#"))
                request = dict(answer.get("UnprocessedKeys") or {})
                if request:
                    time.sleep(0.05)
        return found

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        until = str(int(expires.timestamp()))
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 25):
            writes: list[Any] = [
                {"PutRequest": {"Item": {"pk": {"S": f"e#{i}"}, "expires_at": {"N": until}}}}
                for i in unique[start : start + 25]
            ]
            request: dict[str, Any] = {self.table: writes}
            while request:
                answer = self._db.batch_write_item(RequestItems=request)
                request = dict(answer.get("UnprocessedItems") or {})
                if request:
                    time.sleep(0.05)
