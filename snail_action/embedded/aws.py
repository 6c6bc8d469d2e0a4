"""moto's S3 and DynamoDB on a loopback port, with the bucket and table the CloudFormation template defines.

moto keeps one global state per process, shared by every ThreadedMotoServer in it. Each embedded
backend therefore gets its own bucket name (and its own table name when `image-metadata` is already
taken in this process), so several can run side by side without seeing each other's data.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import boto3
from botocore.config import Config

from ..cfn_template import load_template, resources_of_type

REGION = "us-east-1"
DEFAULT_TABLE = "image-metadata"
# Dummy credentials set on each client: moto ignores signatures, and the user's own AWS
# credentials must neither be needed nor touched.
LOCAL_ACCESS_KEY = "snail-local"
LOCAL_SECRET_KEY = "snail-local-secret"  # noqa: S105 - a placeholder moto accepts, not a secret

# The keys of create_table that a template's AWS::DynamoDB::Table shares with the API one to one.
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
               "BillingMode", "ProvisionedThroughput", "StreamSpecification")

_names_lock = threading.Lock()
_tables_in_use: set[str] = set()


class TemplateError(RuntimeError):
    """The template lacks, or uses in a form we cannot evaluate, a definition the embedded backend copies."""


def _plain(value: Any, where: str) -> Any:
    """The value itself; an intrinsic function (!Ref, !If ...) here cannot be evaluated locally."""
    if isinstance(value, dict):
        if any(k == "Ref" or k.startswith("Fn::") for k in value):
            raise TemplateError(f"cloudformation/template.yaml: {where} uses {next(iter(value))}; "
                                "the embedded backend needs a literal value there")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _single(template: dict[str, Any], type_name: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, type_name)
    if len(found) != 1:
        raise TemplateError(f"cloudformation/template.yaml: expected one {type_name}, found {len(found)}")
    name, resource = next(iter(found.items()))
    return name, resource.get("Properties") or {}


def table_kwargs(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """create_table arguments from the template's AWS::DynamoDB::Table, under a local name."""
    logical, props = _single(template, "AWS::DynamoDB::Table")
    kwargs: dict[str, Any] = {"TableName": table_name}
    for key in _TABLE_KEYS:
        if key in props:
            kwargs[key] = _plain(props[key], f"{logical}.{key}")
    if "KeySchema" not in kwargs or "AttributeDefinitions" not in kwargs:
        raise TemplateError(f"cloudformation/template.yaml: {logical} has no KeySchema/AttributeDefinitions")
    return kwargs


def table_ttl(template: dict[str, Any]) -> dict[str, Any] | None:
    logical, props = _single(template, "AWS::DynamoDB::Table")
    spec = props.get("TimeToLiveSpecification")
    return _plain(spec, f"{logical}.TimeToLiveSpecification") if spec else None


def bucket_lifecycle(template: dict[str, Any]) -> dict[str, Any] | None:
    """put_bucket_lifecycle_configuration's argument from the template bucket's LifecycleConfiguration.

    Only the rule fields the S3 API spells differently are translated (CloudFormation names them
    ExpirationInDays and Prefix); a rule using anything else is left out rather than guessed at.
    """
    logical, props = _single(template, "AWS::S3::Bucket")
    config = props.get("LifecycleConfiguration")
    if not config:
        return None
    rules = []
    for rule in _plain(config, f"{logical}.LifecycleConfiguration").get("Rules", []):
        out: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
        if "Id" in rule:
            out["ID"] = rule["Id"]
        prefix = rule.get("Prefix")
        if prefix is None and isinstance(rule.get("Filter"), dict):
            prefix = rule["Filter"].get("Prefix")
        out["Filter"] = {"Prefix": prefix or ""}
        if "ExpirationInDays" in rule:
            out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        abort = rule.get("AbortIncompleteMultipartUpload")
        if abort:
            out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
        if len(out) > 2:
            rules.append(out)
    return {"Rules": rules} if rules else None


def claim_names(bucket: str | None = None, table: str | None = None) -> tuple[str, str]:
    """A bucket and table name no other embedded backend of this process uses."""
    suffix = uuid.uuid4().hex[:10]
    with _names_lock:
        if table is None:
            table = DEFAULT_TABLE if DEFAULT_TABLE not in _tables_in_use else f"{DEFAULT_TABLE}-{suffix}"
        if table in _tables_in_use:
            raise ValueError(f"table {table!r} is already used by another embedded backend in this process")
        _tables_in_use.add(table)
    return bucket or f"snail-images-local-{suffix}", table


def release_names(table: str) -> None:
    with _names_lock:
        _tables_in_use.discard(table)


def client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    """A boto3 client on the local moto server with explicit dummy credentials."""
    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                    retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32) \
        if service == "s3" else Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32)
    return boto3.session.Session().client(
        service, endpoint_url=endpoint_url, region_name=region, config=config,
        aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY)


class LocalAws:
    """moto's server application (what ThreadedMotoServer runs) on a free loopback port, without its request log."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # one line per S3/DynamoDB call would drown the gateway's own log

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="snail-moto", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint_url = f"http://{host}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def create_resources(s3: Any, dynamodb: Any, bucket: str, table: str, template: dict[str, Any] | None = None) -> None:
    """The bucket and the table exactly as the template defines them (names aside)."""
    template = template if template is not None else load_template()
    kwargs = table_kwargs(template, table)
    lifecycle = bucket_lifecycle(template)
    ttl = table_ttl(template)
    s3.create_bucket(Bucket=bucket)
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle)
    dynamodb.create_table(**kwargs)
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["AttributeName"]})


def delete_resources(s3: Any, dynamodb: Any, bucket: str, table: str) -> None:
    """Free moto's memory for this instance; the server is shared with other instances."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)
    dynamodb.delete_table(TableName=table)
