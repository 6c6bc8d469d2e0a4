"""The events AWS hands the backend's Lambda functions, built the way AWS builds them.

`proxy_event`: the REST API Lambda proxy event for one HTTP request, as API Gateway presents it.
`request_event`: the same, from a method and a URL path, routed through the API's route table
(what the tests and direct calls use). `s3_event`: an S3 ObjectCreated notification with one record.

The embedded gateway, the embedded S3 notifier (`incoming.py`) and the tests all build their events
here, so there is one description of each event's shape.
"""

from __future__ import annotations

import base64
import fnmatch
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, urlsplit

from snail_backend import routes

ACCOUNT_ID = "123456789012"


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """API Gateway base64-encodes a body whose Content-Type matches one of the API's binary media types."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(mime, pattern.lower()) for pattern in binary_media_types)


def proxy_event(*, method: str, raw_path: str, query: str, headers: list[tuple[str, str]], body: bytes | None,
                resource: str, path_params: Mapping[str, str] | None, binary_media_types: Iterable[str],
                source_ip: str = "127.0.0.1", stage: str = "prod", request_id: str | None = None,
                now: float | None = None) -> dict[str, Any]:
    """The REST API Lambda proxy event for one request, as API Gateway presents it.

    `path_params` are raw (still percent-encoded); the event carries them decoded, as API Gateway does,
    and UnicodeDecodeError says a percent-encoded segment is not UTF-8.
    """
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value  # API Gateway keeps the last value in `headers`
        multi.setdefault(name, []).append(value)
    qs_single: dict[str, str] = {}
    qs_multi: dict[str, list[str]] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs_single[k] = v  # the last value, as for headers
        qs_multi.setdefault(k, []).append(v)
    content_type = next((v for k, v in reversed(headers) if k.lower() == "content-type"), None)
    event_body: str | None
    if not body:
        event_body, b64 = None, False
    elif is_binary(content_type, binary_media_types):
        event_body, b64 = base64.b64encode(body).decode("ascii"), True
    else:
        event_body, b64 = body.decode("utf-8", "replace"), False
    user_agent = next((v for k, v in reversed(headers) if k.lower() == "user-agent"), None)
    return {
        "resource": resource,
        "path": raw_path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": qs_single or None,
        "multiValueQueryStringParameters": qs_multi or None,
        # API Gateway hands the handler decoded path parameters; `path` above stays as requested.
        "pathParameters": {k: unquote(v, errors="strict") for k, v in path_params.items()} if path_params else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{raw_path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": user_agent, "accountId": None, "caller": None,
                         "user": None, "userArn": None, "accessKey": None, "cognitoIdentityId": None},
            "domainName": "localhost",
            "apiId": "local",
        },
        "body": event_body,
        "isBase64Encoded": b64,
    }


def request_event(method: str, target: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None,
                  binary_media_types: Iterable[str] = ("image/*",), stage: str = "prod") -> dict[str, Any]:
    """The proxy event for `method target` (a percent-encoded path, maybe with a query) on the API's routes.

    ValueError when no route of the API takes the path (API Gateway would answer 403 itself).
    """
    parts = urlsplit(target)
    found = routes.match(parts.path)
    if found is None:
        raise ValueError(f"{target}: no route of the API takes this path")
    resource, params = found
    return proxy_event(method=method, raw_path=parts.path, query=parts.query, headers=list((headers or {}).items()),
                       body=body, resource=resource, path_params=params or None,
                       binary_media_types=binary_media_types, stage=stage)


def s3_event(*, bucket: str, key: str, size: int, etag: str, region: str, sequencer: int,
             event_name: str = "ObjectCreated:Put", now: datetime | None = None) -> dict[str, Any]:
    """An S3 notification event with one record, as S3 builds it (the key URL-encoded, spaces as '+')."""
    now = now or datetime.now(UTC)
    return {"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:LOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "snail-incoming",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"'),
                       "sequencer": f"{sequencer:016X}"},
        },
    }]}
