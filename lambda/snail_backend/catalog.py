"""The DynamoDB side: item shapes and the few reads and transactions the registry needs.

Item types in the one table (keys fixed by the template: ImageType / ImageId):
- rows (the contract's catalog): ImageType raw|sg|md|lg, ImageId "<type>/<path>/<name>";
- heads: ImageType "file", ImageId "<path>": the file's current registration, read strongly
  consistently (the GSI is only eventually consistent);
- references: ImageType "ref", ImageId "<name>": how many live registrations use a stored name;
- collection markers: ImageType "collecting", ImageId "<name>": present while a name's objects are
  being deleted, so that a sweep finds collections whose collector died;
- refusals: ImageType "refused", ImageId "<path>": the last large upload of a path that was refused
  (digest mismatch, invalid image), so that GET -- what the uploading client polls -- can say so;
- uploads: ImageType "upload", ImageId "<path>": the token of the path's latest presigned upload,
  present until that upload registers or the path is PUT or DELETEd (registry.py);
- sync markers: ImageType "sync", ImageId "<repository>/<ref>" (both percent-encoded): the commit
  whose tree the backend fully holds for that branch (markers.py).
Heads, references, markers, refusals, uploads and sync markers carry no RegisteredFile/Status attributes,
so they never enter the GSI.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

HEAD = "file"
REF = "ref"
MARK = "collecting"
REFUSED = "refused"
UPLOAD = "upload"
_CONFLICT_CODES = frozenset({"TransactionCanceledException", "ConditionalCheckFailedException",
                             "TransactionConflictException"})
_ser = TypeSerializer()
_de = TypeDeserializer()


class Conflict(Exception):
    """A condition failed: someone else changed the item first. Re-read and try again."""


class BadCursor(ValueError):
    pass


def to_attrs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_plain_to_dynamo(v)) for k, v in item.items() if v is not None}


def from_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: _dynamo_to_plain(_de.deserialize(v)) for k, v in attrs.items()}


def _plain_to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain_to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_to_dynamo(v) for v in value]
    return value


def _dynamo_to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _dynamo_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_to_plain(v) for v in value]
    return value


def values(**kwargs: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(g='x') -> {':g': {'S': 'x'}}."""
    return {f":{k}": _ser.serialize(_plain_to_dynamo(v)) for k, v in kwargs.items()}


def is_conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _CONFLICT_CODES


class Catalog:
    def __init__(self, dynamodb, table: str):
        self.db = dynamodb
        self.table = table

    def key(self, image_type: str, image_id: str) -> dict[str, Any]:
        return {"ImageType": {"S": image_type}, "ImageId": {"S": image_id}}

    def get(self, image_type: str, image_id: str) -> dict[str, Any] | None:
        out = self.db.get_item(TableName=self.table, Key=self.key(image_type, image_id), ConsistentRead=True)
        return from_attrs(out["Item"]) if "Item" in out else None

    def get_head(self, path: str) -> dict[str, Any] | None:
        return self.get(HEAD, path)

    def get_ref(self, name: str) -> dict[str, Any] | None:
        return self.get(REF, name)

    # -- transaction item builders -------------------------------------------------------------
    def put(self, item: dict[str, Any], condition: str | None = None, vals: dict | None = None,
            names: dict | None = None) -> dict:
        op: dict[str, Any] = {"TableName": self.table, "Item": to_attrs(item)}
        _add_condition(op, condition, vals, names)
        return {"Put": op}

    def update(self, image_type: str, image_id: str, expression: str, condition: str | None = None,
               vals: dict | None = None, names: dict | None = None) -> dict:
        op: dict[str, Any] = {"TableName": self.table, "Key": self.key(image_type, image_id),
                              "UpdateExpression": expression}
        _add_condition(op, condition, vals, names)
        return {"Update": op}

    def delete(self, image_type: str, image_id: str, condition: str | None = None, vals: dict | None = None,
               names: dict | None = None) -> dict:
        op: dict[str, Any] = {"TableName": self.table, "Key": self.key(image_type, image_id)}
        _add_condition(op, condition, vals, names)
        return {"Delete": op}

    def transact(self, items: list[dict]) -> None:
        """All or nothing; Conflict when any condition failed (the caller re-reads and retries)."""
        try:
            if len(items) == 1:
                self._single(items[0])
            else:
                self.db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if is_conflict(exc):
                raise Conflict(str(exc)) from exc
            raise

    def _single(self, item: dict) -> None:
        # One item needs no transaction: the plain call is cheaper and just as atomic.
        (kind, op), = item.items()
        call = {"Put": self.db.put_item, "Update": self.db.update_item, "Delete": self.db.delete_item}[kind]
        call(**op)

    def query_items(self, image_type: str, limit: int) -> list[dict[str, Any]]:
        """The first `limit` items of a (small) partition."""
        out = self.db.query(TableName=self.table, KeyConditionExpression="ImageType = :t",
                            ExpressionAttributeValues=values(t=image_type), ConsistentRead=True, Limit=limit)
        return [from_attrs(i) for i in out.get("Items", [])]

    # -- listing -------------------------------------------------------------------------------
    def list_heads(self, cursor: str | None, limit: int = 200) -> tuple[list[dict[str, Any]], str | None]:
        """One page of live heads in path order; the cursor is opaque to clients."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "ImageType = :t",
            "FilterExpression": "#s <> :deleted",
            "ExpressionAttributeNames": {"#s": "State"},
            "ExpressionAttributeValues": values(t=HEAD, deleted="deleted"),
            "ConsistentRead": True,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = self.key(HEAD, decode_cursor(cursor))
        out = self.db.query(**kwargs)
        items = [from_attrs(i) for i in out.get("Items", [])]
        last = out.get("LastEvaluatedKey")
        return items, encode_cursor(last["ImageId"]["S"]) if last else None


def _add_condition(op: dict, condition: str | None, vals: dict | None, names: dict | None) -> None:
    if condition:
        op["ConditionExpression"] = condition
    if vals:
        op["ExpressionAttributeValues"] = vals
    if names:
        op["ExpressionAttributeNames"] = names


def encode_cursor(image_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": image_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = data["after"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as exc:
        raise BadCursor("the cursor is not one this API returned: start again without it") from exc
    if not isinstance(after, str) or not after or not _fits_sort_key(after):
        raise BadCursor("the cursor is not one this API returned: start again without it")
    return after


def _fits_sort_key(value: str) -> bool:
    """DynamoDB refuses a start key that is not UTF-8 or over 1024 bytes (a 500 otherwise)."""
    try:
        return len(value.encode("utf-8")) <= 1024
    except UnicodeEncodeError:
        return False
