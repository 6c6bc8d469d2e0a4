"""The embedded backend's TransactWriteItems (snail_action.embedded.moto_txn) against the semantics the
registry relies on: every write of a transaction or none, a failed condition rolling back items already
written (put, overwritten, updated, deleted), per-item cancellation reasons, one operation per key.

Each semantic test runs against moto's own implementation too, so the expectations are moto's (and
DynamoDB's documented behaviour), and a random sequence of transactions must leave both with the same
table and the same errors. Finally, the reason for the change: a transaction copies only what it touches.
"""

from __future__ import annotations

import random

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item

from snail_action.embedded import moto_txn

MOTO_OWN = DynamoDBBackend.transact_write_items
TABLE = "image-metadata"


@pytest.fixture(params=["moto", "ours"])
def db(request, monkeypatch):
    impl = MOTO_OWN if request.param == "moto" else moto_txn.transact_write_items
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", impl)
    with mock_aws():
        yield _table()


def _table():
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "ImageType", "AttributeType": "S"},
                              {"AttributeName": "ImageId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "ImageType", "KeyType": "HASH"},
                   {"AttributeName": "ImageId", "KeyType": "RANGE"}])
    return client


def key(kind: str, ident: str) -> dict:
    return {"ImageType": {"S": kind}, "ImageId": {"S": ident}}


def put(kind: str, ident: str, gen: int, condition: str | None = None, values: dict | None = None) -> dict:
    op = {"TableName": TABLE, "Item": {**key(kind, ident), "Gen": {"N": str(gen)}}}
    if condition:
        op["ConditionExpression"] = condition
    if values:
        op["ExpressionAttributeValues"] = values
    return {"Put": op}


def everything(db) -> dict:
    items = db.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {(i["ImageType"]["S"], i["ImageId"]["S"]): i for i in items}


def cancel_reasons(exc: ClientError) -> list[str]:
    return [r["Code"] for r in exc.response["CancellationReasons"]]


def test_a_transaction_applies_all_its_writes(db):
    db.put_item(TableName=TABLE, Item={**key("HEAD", "gone.png"), "Gen": {"N": "1"}})
    db.put_item(TableName=TABLE, Item={**key("REF", "abc"), "Refs": {"N": "1"}})
    db.transact_write_items(TransactItems=[
        put("HEAD", "new.png", 1, "attribute_not_exists(ImageId)"),
        {"Update": {"TableName": TABLE, "Key": key("REF", "abc"), "UpdateExpression": "ADD Refs :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": key("HEAD", "gone.png")}},
    ])
    rows = everything(db)
    assert set(rows) == {("HEAD", "new.png"), ("REF", "abc")}
    assert rows[("REF", "abc")]["Refs"] == {"N": "2"}


def test_a_failed_condition_rolls_back_every_write_already_made(db):
    before = [
        {**key("HEAD", "kept.png"), "Gen": {"N": "1"}},
        {**key("REF", "abc"), "Refs": {"N": "1"}, "Phase": {"S": "live"}},
        {**key("HEAD", "old.png"), "Gen": {"N": "3"}},
        {**key("HEAD", "guard.png"), "Gen": {"N": "7"}},
    ]
    for item in before:
        db.put_item(TableName=TABLE, Item=item)
    snapshot = everything(db)
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=[
            put("HEAD", "brand-new.png", 1),  # a new item
            put("HEAD", "kept.png", 2),  # an overwrite
            {"Update": {"TableName": TABLE, "Key": key("REF", "abc"), "UpdateExpression": "SET Phase = :c ADD Refs :m",
                        "ExpressionAttributeValues": {":c": {"S": "collecting"}, ":m": {"N": "-1"}}}},
            {"Update": {"TableName": TABLE, "Key": key("REF", "created-by-update"), "UpdateExpression": "SET Refs = :z",
                        "ExpressionAttributeValues": {":z": {"N": "0"}}}},
            {"Delete": {"TableName": TABLE, "Key": key("HEAD", "old.png")}},
            {"ConditionCheck": {"TableName": TABLE, "Key": key("HEAD", "guard.png"), "ConditionExpression": "Gen = :g",
                                "ExpressionAttributeValues": {":g": {"N": "6"}}}},  # fails: Gen is 7
        ])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert cancel_reasons(err.value) == ["None"] * 5 + ["ConditionalCheckFailed"]
    assert everything(db) == snapshot


def test_a_failed_condition_early_still_cancels_the_writes_after_it(db):
    db.put_item(TableName=TABLE, Item={**key("HEAD", "a.png"), "Gen": {"N": "1"}})
    snapshot = everything(db)
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=[
            put("HEAD", "a.png", 2, "Gen = :g", {":g": {"N": "5"}}),
            put("HEAD", "b.png", 1),
        ])
    assert cancel_reasons(err.value) == ["ConditionalCheckFailed", "None"]
    assert everything(db) == snapshot


def test_the_failed_item_is_returned_when_asked(db):
    db.put_item(TableName=TABLE, Item={**key("HEAD", "a.png"), "Gen": {"N": "4"}})
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=[{"Delete": {
            "TableName": TABLE, "Key": key("HEAD", "a.png"), "ConditionExpression": "Gen = :g",
            "ExpressionAttributeValues": {":g": {"N": "5"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
    reason = err.value.response["CancellationReasons"][0]
    assert reason["Code"] == "ConditionalCheckFailed" and reason["Item"]["Gen"] == {"N": "4"}
    assert ("HEAD", "a.png") in everything(db)


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(db):
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=[put("HEAD", "x.png", 1), put("HEAD", "y.png", 1),
                                               put("HEAD", "x.png", 2)])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert everything(db) == {}


def test_a_missing_key_attribute_is_refused_and_nothing_is_written(db):
    with pytest.raises(ClientError) as err:
        db.transact_write_items(TransactItems=[
            put("HEAD", "x.png", 1),
            {"Delete": {"TableName": TABLE, "Key": {"ImageType": {"S": "HEAD"}}}},
        ])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert everything(db) == {}


def _random_transactions(seed: int, count: int) -> list[list[dict]]:
    rng = random.Random(seed)
    names = [("HEAD", f"f{i}.png") for i in range(6)] + [("REF", f"r{i}") for i in range(3)]
    out = []
    for _ in range(count):
        items = []
        for kind, ident in rng.sample(names, rng.randint(1, 4)):
            choice = rng.choice(["put", "put_if_absent", "update", "delete_if", "check"])
            g = {":g": {"N": str(rng.randint(0, 3))}}
            if choice == "put":
                items.append(put(kind, ident, rng.randint(0, 3)))
            elif choice == "put_if_absent":
                items.append(put(kind, ident, rng.randint(0, 3), "attribute_not_exists(ImageId)"))
            elif choice == "update":
                items.append({"Update": {"TableName": TABLE, "Key": key(kind, ident),
                                         "UpdateExpression": "SET Gen = :g", "ExpressionAttributeValues": g}})
            elif choice == "delete_if":
                items.append({"Delete": {"TableName": TABLE, "Key": key(kind, ident),
                                         "ConditionExpression": "Gen = :g", "ExpressionAttributeValues": g}})
            else:
                items.append({"ConditionCheck": {"TableName": TABLE, "Key": key(kind, ident),
                                                 "ConditionExpression": "attribute_exists(Gen) AND Gen <> :g",
                                                 "ExpressionAttributeValues": g}})
        out.append(items)
    return out


def _replay(impl, transactions: list[list[dict]], monkeypatch) -> tuple[list, dict]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", impl)
    outcomes = []
    with mock_aws():
        db = _table()
        for items in transactions:
            try:
                db.transact_write_items(TransactItems=items)
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(cancel_reasons(exc) if "CancellationReasons" in exc.response
                                else exc.response["Error"]["Code"])
            outcomes.append(sorted((k, sorted(v.items())) for k, v in everything(db).items()))
        return outcomes, everything(db)


def test_random_transactions_end_as_with_moto_own_implementation(monkeypatch):
    transactions = _random_transactions(seed=12, count=150)
    theirs = _replay(MOTO_OWN, transactions, monkeypatch)
    ours = _replay(moto_txn.transact_write_items, transactions, monkeypatch)
    assert ours == theirs
    assert any(o == "ok" for o in theirs[0]) and any(isinstance(o, list) and "ConditionalCheckFailed" in o
                                                      for o in theirs[0])


@pytest.mark.parametrize("rows", [10, 2000])
def test_a_transaction_copies_only_the_items_it_touches(rows, monkeypatch):
    """moto's own deep-copies the whole table per transaction item, and keeps every copy alive in
    Item.instances_tracked; ours copies at most the items it updates, whatever the table's size."""
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_txn.transact_write_items)
    with mock_aws():
        db = _table()
        for i in range(rows):
            db.put_item(TableName=TABLE, Item={**key("HEAD", f"{i}.png"), "Gen": {"N": "1"}})
        tracked = len(Item.instances_tracked)
        with pytest.raises(ClientError):
            db.transact_write_items(TransactItems=[
                put("HEAD", "new.png", 1),
                {"Update": {"TableName": TABLE, "Key": key("HEAD", "0.png"), "UpdateExpression": "SET Gen = :g",
                            "ExpressionAttributeValues": {":g": {"N": "2"}}}},
                put("HEAD", "1.png", 9, "Gen = :g", {":g": {"N": "5"}}),
            ])
        assert len(Item.instances_tracked) - tracked <= 5
        assert everything(db)[("HEAD", "0.png")]["Gen"] == {"N": "1"} and ("HEAD", "new.png") not in everything(db)


def test_the_embedded_backend_runs_this_transaction(monkeypatch):
    """Starting the local AWS endpoint of `serve` / `demo` puts this implementation in place."""
    from snail_action.embedded.aws import LocalAws

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", MOTO_OWN)
    local = LocalAws()
    local.start()
    try:
        assert DynamoDBBackend.transact_write_items is moto_txn.transact_write_items
    finally:
        local.stop()
