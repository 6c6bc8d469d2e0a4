"""Shared pieces of the backend tests (no tests here): a moto world and event builders (thin names over
snail_action.embedded.events, the one builder of API Gateway and S3 events). The
invariants are checked by the audit (snail_backend.audit), the one checker."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from urllib.parse import quote, urlencode

import boto3

from snail_action.audit import audit
from snail_action.embedded import events
from snail_action.embedded.events import request_event
from snail_backend.app import Backend
from snail_backend.config import BackendConfig

REGION = "us-east-1"
BUCKET = "snail-test-bucket"
TABLE = "image-metadata"
TYPES = ("raw", "sg", "md", "lg")


def aws_env() -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        os.environ[name] = value


def create_resources(s3, dynamodb) -> None:
    s3.create_bucket(Bucket=BUCKET)
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("ImageType", "ImageId", "RegisteredFile", "Status")],
        KeySchema=[{"AttributeName": "ImageType", "KeyType": "HASH"}, {"AttributeName": "ImageId", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "RegisteredFile-Status-index",
            "KeySchema": [{"AttributeName": "RegisteredFile", "KeyType": "HASH"},
                          {"AttributeName": "Status", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}],
    )


class World:
    """S3 + DynamoDB on moto (inside an active mock_aws) and a Backend over them."""

    def __init__(self, sizes: str = "sg=32,md=64,lg=96", scheme: str = "hash", **backend_kwargs):
        aws_env()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_resources(self.s3, self.dynamodb)
        self.config = BackendConfig.from_environ({"S3_BUCKET_NAME": BUCKET, "DYNAMODB_TABLE_NAME": TABLE,
                                                  "VARIANT_SIZES": sizes, "KEY_SCHEME": scheme})
        self.backend = self.make_backend(**backend_kwargs)

    def make_backend(self, s3=None, dynamodb=None, config: BackendConfig | None = None, **kwargs) -> Backend:
        return Backend(config or self.config, s3=s3 or self.s3, dynamodb=dynamodb or self.dynamodb, **kwargs)

    def reset(self) -> None:
        """Empty the bucket and the table (cheaper than a new moto world and new clients)."""
        for key in self.object_keys():
            self.s3.delete_object(Bucket=BUCKET, Key=key)
        for item in self.items():
            self.dynamodb.delete_item(TableName=TABLE, Key={"ImageType": {"S": item["ImageType"]},
                                                            "ImageId": {"S": item["ImageId"]}})

    # -- requests ----------------------------------------------------------------------------
    def put(self, path: str, data: bytes, backend: Backend | None = None, **overrides) -> tuple[int, dict]:
        return call(backend or self.backend, put_event(path, data, **overrides))

    def delete(self, path: str, backend: Backend | None = None) -> tuple[int, dict]:
        return call(backend or self.backend, item_event("DELETE", path))

    def get(self, path: str) -> tuple[int, dict]:
        return call(self.backend, item_event("GET", path))

    # -- state -------------------------------------------------------------------------------
    def object_keys(self) -> set[str]:
        keys: set[str] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys.update(o["Key"] for o in page.get("Contents", []))
        return keys

    def items(self) -> list[dict]:
        out: list[dict] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
            out.extend({k: next(iter(v.values())) for k, v in item.items()} for item in page["Items"])
        return out

    def check_invariants(self) -> None:
        """Every invariant holds, as `snail-images audit` checks them (nothing is in flight now)."""
        findings = audit(self.s3, self.dynamodb, BUCKET, TABLE, at_rest=True)
        assert findings == [], "\n".join(map(str, findings))

def call(backend: Backend, event: dict) -> tuple[int, dict]:
    response = backend.handle(event)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def encode_path(path: str) -> str:
    return "/".join(quote(seg, safe="") for seg in path.split("/"))


def item_event(method: str, path: str, *, body: str | None = None, b64: bool = False,
               headers: dict | None = None) -> dict:
    """The proxy event API Gateway makes for `method /images/<path>` (the one builder: events.request_event)."""
    raw = (base64.b64decode(body) if b64 else body.encode()) if body is not None else None
    event = request_event(method, f"/images/{encode_path(path)}", headers=headers, body=raw,
                          binary_media_types=("*/*",) if b64 else ())
    if b64 and body is not None:  # binary whatever the headers say (a test may leave out Content-Type)
        event["body"], event["isBase64Encoded"] = body, True
    return event


def put_event(path: str, data: bytes, *, filename: str | None = None, sha256: str | None = None,
              content_type: str = "application/octet-stream", headers: dict | None = None) -> dict:
    hdrs = {"Content-Type": content_type, "FileName": filename if filename is not None else quote(path, safe="/"),
            "X-Content-SHA256": sha256 if sha256 is not None else hashlib.sha256(data).hexdigest()}
    if headers is not None:
        hdrs = headers
    return item_event("PUT", path, body=base64.b64encode(data).decode(), b64=True, headers=hdrs)


def list_event(cursor: str | None = None) -> dict:
    return request_event("GET", "/images" + (f"?{urlencode({'cursor': cursor})}" if cursor else ""))


def uploads_event(body: dict) -> dict:
    return request_event("POST", "/uploads", headers={"content-type": "application/json"},
                         body=json.dumps(body).encode(), binary_media_types=())


def s3_event(key: str, bucket: str = BUCKET) -> dict:
    """S3's notification for an object created under `key` (events.s3_event, as S3 builds it)."""
    return events.s3_event(bucket=bucket, key=key, size=0, etag="", region=REGION, sequencer=0)


class Hooked:
    """The real client; `hook` runs once, just before the first call of `method` goes out."""

    def __init__(self, client, method: str, hook):
        self._client, self._method, self._hook = client, method, hook

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name != self._method or self._hook is None:
            return attr

        def call(*args, **kwargs):
            hook, self._hook = self._hook, None
            hook()
            return attr(*args, **kwargs)

        return call
