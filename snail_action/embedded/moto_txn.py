"""TransactWriteItems for moto's DynamoDB that undoes a failed transaction item by item.

moto 5.x (`DynamoDBBackend.transact_write_items`) makes its undo copy by deep-copying the whole
table once per item of the transaction, before it checks anything. Every copied item is a moto
`BaseModel`, and `BaseModel.__new__` appends each new instance to its class's `instances_tracked`
list, which moto never empties while it runs. So every transaction copied, and kept alive, the
whole catalog: a backend holding N images spent O(N) time and memory per registration, O(N^2) in
all (1.76 GB after 160 images; killed for memory at about 700).

This version does what that one does, in the same order and with the same errors, except for the
undo: before an item's write it keeps the one item that write touches (the object itself for a Put
or a Delete, which replace or remove it and leave it unchanged; a copy for an Update, which changes
it in place), and on failure it puts back just those items, last first. The cost of a transaction
is then the size of the transaction, not of the table.

It is exact only when no other call changes the table while a transaction runs. The embedded
backend runs every DynamoDB call whole under one lock (`aws._AtomicDynamoDB`), as DynamoDB itself
isolates transactions. moto's own undo was no safer: it put back a whole old table.

`install()` replaces the method on moto's class for this process (moto's state is per process too).
The change is small enough to propose upstream as it stands.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

_OPS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
MAX_ITEMS = 100  # DynamoDB's limit on the items of one transaction

# (table, hash key, range key or None, the item before the write or None when there was none)
Saved = tuple[Any, Any, Any, Any]


def _put_back(saved: list[Saved]) -> None:
    """Undo the writes: each touched key gets its item from before the transaction, or none."""
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        bucket = table.items[hash_key]
        if item is None:
            bucket.pop(range_key, None)
            if not bucket:
                table.items.pop(hash_key, None)
        else:
            bucket[range_key] = item


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    common: dict[str, Any] = {"condition_expression": op.get("ConditionExpression"),
                              "expression_attribute_names": op.get("ExpressionAttributeNames"),
                              "expression_attribute_values": op.get("ExpressionAttributeValues")}
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], **common)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, **common)
    elif op_type == "Update":
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"], **common)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """All the items' writes, or none of them: TransactionCanceledException lists each item's reason."""
    if len(transact_items) > MAX_ITEMS:
        raise TooManyTransactionsException()
    saved: list[Saved] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []  # (code, message, item), one per transaction item
    try:
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            before_item: dict[str, Any] | None = None
            try:
                op_type, op = next(iter(entry.items()))
                if op_type not in _OPS:
                    raise ValueError("Unsupported transaction operation")
                key = _key_of(self, op_type, op)
                unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if unique in seen:
                    raise MultipleTransactionsException()
                seen.add(unique)

                table = self.get_table(op["TableName"])
                hash_key, range_key = self.get_keys_value(table, key)
                current = table.get_item(hash_key, range_key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                                  op.get("ExpressionAttributeValues"))
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            before_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=before_item)
                if op_type != "ConditionCheck":
                    kept = copy.deepcopy(current) if op_type == "Update" else current
                    saved.append((table, hash_key, range_key, kept))
                    _apply(self, op_type, op, key)
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as exc:
                errors.append(("ConditionalCheckFailed", str(exc.message), before_item))
            except Exception as exc:  # noqa: BLE001 - moto's behaviour: any other failure cancels the transaction
                errors.append((type(exc).__name__, str(exc), before_item))
    except BaseException:
        _put_back(saved)
        raise
    if any(code is not None for code, _, _ in errors):
        _put_back(saved)
        raise TransactionCanceledException(errors)


def install() -> None:
    """Use this TransactWriteItems in every moto DynamoDB backend of this process (idempotent)."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
