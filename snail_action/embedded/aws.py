"""moto's S3 and DynamoDB on a loopback port, with the bucket and table the CloudFormation template defines.

moto keeps one global state per process, shared by every ThreadedMotoServer in it. Each embedded
backend therefore gets its own bucket name (and its own table name when `image-metadata` is already
taken in this process), so several can run side by side without seeing each other's data.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import boto3

from snail_backend.clients import make_client

from . import definitions

REGION = "us-east-1"
DEFAULT_TABLE = "image-metadata"
# Dummy credentials set on each client: moto ignores signatures, and the user's own AWS
# credentials must neither be needed nor touched.
LOCAL_ACCESS_KEY = "snail-local"
LOCAL_SECRET_KEY = "snail-local-secret"  # noqa: S105 - a placeholder moto accepts, not a secret

_names_lock = threading.Lock()
_tables_in_use: set[str] = set()
# moto's DynamoDB is not safe under concurrent calls: TransactWriteItems checks, then applies, and on a
# failed condition restores a copy of the whole table, undoing what other threads wrote meanwhile.
# The real service runs each call atomically, so each DynamoDB call runs under this lock. It is one
# lock per process because moto's state is one per process, whichever server a call came through.
_dynamodb_lock = threading.Lock()


class _AtomicDynamoDB:
    """WSGI middleware: a DynamoDB call (X-Amz-Target: DynamoDB_...) runs whole under the lock; S3 does not wait."""

    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return self.app(environ, start_response)
        with _dynamodb_lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]  # the response is produced inside the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def claim_names(bucket: str | None = None, table: str | None = None,
                default_table: str = DEFAULT_TABLE) -> tuple[str, str]:
    """A bucket and table name no other embedded backend of this process uses.

    The first backend of a process gets the template's table name; later ones a suffixed one.
    """
    suffix = uuid.uuid4().hex[:10]
    with _names_lock:
        if table is None:
            table = default_table if default_table not in _tables_in_use else f"{default_table}-{suffix}"
        if table in _tables_in_use:
            raise ValueError(f"table {table!r} is already used by another embedded backend in this process")
        _tables_in_use.add(table)
    return bucket or f"snail-images-local-{suffix}", table


def release_names(table: str) -> None:
    with _names_lock:
        _tables_in_use.discard(table)


def _isolated_session() -> boto3.session.Session:
    """A session that reads no AWS profile or config file: the user's (AWS_PROFILE naming a profile this
    machine lacks, a config file that does not parse) must not stop a backend that needs none of it."""
    from botocore.session import Session as BotocoreSession

    return boto3.session.Session(botocore_session=BotocoreSession(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    }))


# The handlers of every function run here, so their clients get the longest function's timeout (the
# S3-event function's): moto, one lock for all DynamoDB calls, is far slower under load than AWS,
# and it ignores TransactWriteItems' ClientRequestToken, so a transaction retried after a read
# timeout is applied twice there (on AWS the token makes the retry idempotent).
FUNCTION_TIMEOUT = 300.0


def client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    """A client on the local moto server: the deployed backend's own (clients.make_client), with only
    the endpoint changed, and explicit dummy credentials from a session that reads no AWS config."""
    return make_client(service, region, function_timeout=FUNCTION_TIMEOUT, endpoint_url=endpoint_url,
                       session=_isolated_session(),
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

        from . import moto_txn

        moto_txn.install()  # moto's own copies the whole table per transaction item: see moto_txn
        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # one line per S3/DynamoDB call would drown the gateway's own log

        app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
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


def create_resources(s3: Any, dynamodb: Any, bucket: str, table: str, template: dict[str, Any]) -> None:
    """The bucket and the table exactly as the template defines them (names aside)."""
    kwargs = definitions.table_kwargs(template, table)
    lifecycle = definitions.bucket_lifecycle(template)
    ttl = definitions.table_ttl(template)
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
