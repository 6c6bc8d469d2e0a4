"""Each function's role, as the stack deploys it, is enough for that function's real code paths and
no more: the backend runs on moto with IAM enforcement switched on, each function signing with
credentials of its own role (sts:AssumeRole on the role the stack made).

moto checks S3 actions against object ARNs and DynamoDB actions by name only (see for_moto), and does
not reproduce S3's 403-instead-of-404 for a missing key without s3:ListBucket; test_template_static.py
covers the table ARN and ListBucket."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote, unquote, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws, settings
from moto.core.authorization import ActionAuthenticatorMixin

from helpers import fake_aws_environment, image_bytes
from snail_action.embedded.events import request_event, s3_event
from snail_backend.app import Backend
from snail_backend.config import BackendConfig
from test_template_moto import REGION, deploy, policy_document

FUNCTIONS = {"Insert": "ImageInsertProcess", "Delete": "ImageDeleteProcess", "Incoming": "ImageIncomingProcess"}


def item_event(method: str, path: str, data: bytes | None = None) -> dict:
    headers = {}
    if data is not None:
        headers = {"Content-Type": "image/png", "filename": quote(path, safe="/"),
                   "x-content-sha256": hashlib.sha256(data).hexdigest()}
    return request_event(method, "/images/" + quote(path, safe="/"), headers=headers, body=data)


def route_event(method: str, resource: str, body: dict | None = None) -> dict:
    return request_event(method, resource, headers={"Content-Type": "application/json"} if body else {},
                         body=json.dumps(body).encode() if body else None)


def stored_event(backend: Backend, key: str, data: bytes) -> dict:
    """The notification S3 sends once `data` is stored under `key` (a single PUT's ETag is its MD5)."""
    return s3_event(bucket=backend.config.bucket, key=key, size=len(data),
                    etag=hashlib.md5(data, usedforsecurity=False).hexdigest(), region=REGION, sequencer=1)


def upload(insert: Backend, signed: dict, data: bytes) -> str:
    """Do what the presigned URL allows: a PutObject of that key, signed by the insert role. (moto's
    IAM enforcement reads only the Authorization header, not a presigned query string, so the same
    request goes through the role's client.) Returns the key."""
    key = unquote(urlsplit(signed["url"]).path).removeprefix("/").removeprefix(insert.config.bucket + "/")
    headers = {k.lower(): v for k, v in signed["headers"].items()}
    insert.storage.s3.put_object(
        Bucket=insert.config.bucket, Key=key, Body=data, ContentType=headers["content-type"],
        Metadata={k.removeprefix("x-amz-meta-"): v for k, v in headers.items() if k.startswith("x-amz-meta-")})
    return key


def call(backend: Backend, event: dict) -> tuple[int, dict]:
    response = backend.handle(event)
    return response["statusCode"], json.loads(response["body"])


def for_moto(doc: dict) -> dict:
    """Two places where moto's IAM model differs from AWS's, for DynamoDB statements only:
    - moto authorizes DynamoDB calls against the resource "*" (it does not work out the table's ARN),
      so a statement scoped to the table would deny everything: the resource becomes "*"
      (test_template_static.py asserts the table ARN);
    - moto asks for dynamodb:TransactWriteItems, an action AWS does not have (AWS authorizes each item
      of a transaction as PutItem/UpdateItem/DeleteItem/ConditionCheckItem): it is added where the
      statement allows all three write actions, which is what AWS would check."""
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if all(a.startswith("dynamodb:") for a in actions):
            assert all("table/image-metadata" in r for r in (st["Resource"] if isinstance(st["Resource"], list)
                                                              else [st["Resource"]]))
            st["Resource"] = "*"
            if {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= set(actions):
                st["Action"] = [*actions, "dynamodb:TransactWriteItems"]
    return doc


@pytest.fixture
def functions(monkeypatch):
    """name -> (Backend signing as the function's role, its s3 client, its dynamodb client)."""
    fake_aws_environment(monkeypatch, REGION)
    with mock_aws():
        stack = deploy("iam", {})
        iam, sts = boto3.client("iam", region_name=REGION), boto3.client("sts", region_name=REGION)
        lam = boto3.client("lambda", region_name=REGION)
        out = {}
        for logical, function_name in FUNCTIONS.items():
            role = stack["resources"][f"{logical}FunctionRole"]["PhysicalResourceId"]
            # moto's CloudFormation stores inline policies as a Python repr; store them as IAM JSON again.
            for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                doc = policy_document(iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"])
                iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(for_moto(doc)))
            creds = sts.assume_role(RoleArn=iam.get_role(RoleName=role)["Role"]["Arn"],
                                    RoleSessionName=function_name)["Credentials"]
            session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"], region_name=REGION)
            env = lam.get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
            config = BackendConfig.from_environ({k: str(v) for k, v in env.items()})
            s3, ddb = session.client("s3"), session.client("dynamodb")
            out[logical] = (Backend(config, s3=s3, dynamodb=ddb, wait_seconds=2.0), s3, ddb)
        saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
        try:
            yield out
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def test_enforcement_is_on_each_role_is_refused_what_it_was_not_given(functions):
    _, delete_s3, delete_ddb = functions["Delete"]
    _, insert_s3, _ = functions["Insert"]
    bucket = functions["Delete"][0].config.bucket
    table = functions["Delete"][0].config.table
    with pytest.raises(ClientError, match="AccessDenied"):
        delete_s3.put_object(Bucket=bucket, Key="images/raw/x.png", Body=b"x")
    with pytest.raises(ClientError, match="AccessDenied"):
        insert_s3.put_object(Bucket=bucket, Key="elsewhere/x.png", Body=b"x")
    with pytest.raises(ClientError, match="AccessDenied"):
        delete_ddb.scan(TableName=table)


@pytest.mark.slow
def test_each_function_does_its_whole_job_with_only_its_own_role(functions):
    insert, delete, incoming = (functions[n][0] for n in ("Insert", "Delete", "Incoming"))
    first, second = image_bytes("PNG", (64, 48), seed=1), image_bytes("PNG", (64, 48), seed=2)

    # insert: register, a duplicate, a read, the list, and a content change that leaves the old
    # content in place because another file still uses it.
    assert call(insert, item_event("PUT", "a.png", first))[1]["status"] == "completed"
    assert call(insert, item_event("PUT", "copy.png", first))[1]["duplicate"] is True
    assert call(insert, item_event("GET", "a.png"))[0] == 200
    status, listing = call(insert, route_event("GET", "/images"))
    assert status == 200 and {f["registered_file"] for f in listing["files"]} == {"a.png", "copy.png"}
    assert call(insert, item_event("PUT", "a.png", second))[1]["status"] == "completed"

    # delete: the last user of the first content goes, and its objects with it (HeadObject + DeleteObject).
    status, gone = call(delete, item_event("DELETE", "copy.png"))
    assert status == 200 and gone["deleted"] >= 1 and gone["objects_removed"] == 4

    # insert presigns; the upload lands under images/incoming/; the S3-event function registers it.
    big = image_bytes("PNG", (200, 150), seed=3)
    status, signed = call(insert, route_event("POST", "/uploads", {
        "filename": "big/photo.png", "content_type": "image/png", "size": len(big),
        "sha256": hashlib.sha256(big).hexdigest()}))
    assert status == 200
    key = upload(insert, signed, big)
    assert key.startswith("images/incoming/")
    (result,) = incoming.handle_s3_event(stored_event(insert, key, big))["results"]
    assert result["outcome"] == "registered"
    assert call(insert, item_event("GET", "big/photo.png"))[1]["status"] == "completed"

    # a content change through the S3 path collects the replaced objects too.
    status, signed = call(insert, route_event("POST", "/uploads", {
        "filename": "a.png", "content_type": "image/png", "size": len(big), "sha256": hashlib.sha256(big).hexdigest()}))
    event = stored_event(insert, upload(insert, signed, big), big)
    assert incoming.handle_s3_event(event)["results"][0]["outcome"] == "registered"

    for path in ("a.png", "big/photo.png"):
        assert call(delete, item_event("DELETE", path))[0] == 200
