"""API Gateway REST proxy events in, proxy responses out. No AWS calls here."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import routes
from .routes import ROUTE_ITEM, ROUTE_LIST, ROUTE_UPLOADS

__all__ = ["ROUTE_ITEM", "ROUTE_LIST", "ROUTE_UPLOADS", "HttpError", "Request", "json_response", "parse_event"]
# A Lambda event is at most 6 MiB and the body travels base64-encoded inside it (4 bytes per 3),
# next to headers and request context; keep 64 KiB of room for those.
MAX_EVENT_BYTES = 6 * 1024 * 1024
EVENT_OVERHEAD = 64 * 1024
MAX_DIRECT_BODY = (MAX_EVENT_BYTES - EVENT_OVERHEAD) * 3 // 4  # 4,669,440 bytes of image


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> dict:
        return json_response(self.status, {"error": self.code, "message": self.message, **self.extra})


@dataclass
class Request:
    method: str
    route: str | None
    proxy: str | None  # the percent-decoded path after /images/
    params: dict[str, str] = field(default_factory=dict)  # decoded path parameters ({repository}, {ref})
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    query: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    base64: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def body_bytes(self, limit: int) -> bytes:
        """The decoded body; 400 when missing, 413 when over `limit` (checked before decoding)."""
        if self.body is None or self.body == "":
            raise HttpError(400, "bad_request", "the request has no body: send the file's bytes")
        if self.base64:
            if len(self.body) > (limit + 2) // 3 * 4 + 4:
                raise too_large(limit)
            try:
                data = base64.b64decode(self.body, validate=True)
            except (binascii.Error, ValueError):
                raise HttpError(400, "bad_request", "the body is marked base64 but does not decode") from None
        else:
            data = self.body.encode("utf-8", "surrogateescape")
        if len(data) > limit:
            raise too_large(limit)
        return data

    def json_body(self) -> dict[str, Any]:
        raw = self.body_bytes(64 * 1024)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "bad_request", "the body is not JSON") from None
        except RecursionError:  # e.g. 50,000 `[`: nested deeper than the parser goes
            raise HttpError(400, "bad_request", "the body's JSON is nested too deeply: send one flat object") from None
        if not isinstance(data, dict):
            raise HttpError(400, "bad_request", "the body must be a JSON object")
        return data


def too_large(limit: int) -> HttpError:
    return HttpError(413, "too_large",
                     f"the body is over {limit} bytes, the most this route takes: use POST /uploads for large files",
                     limit=limit)


def parse_event(event: dict[str, Any]) -> Request:
    headers: dict[str, str] = {}
    for name, vals in (event.get("multiValueHeaders") or {}).items():
        if vals:
            headers[name.lower()] = vals[-1]
    for name, value in (event.get("headers") or {}).items():
        if value is not None:
            headers[name.lower()] = value
    query = {k: v for k, v in (event.get("queryStringParameters") or {}).items() if v is not None}
    path = event.get("path") or ""
    resource = event.get("resource")
    params = {k: v for k, v in (event.get("pathParameters") or {}).items() if isinstance(v, str)}
    proxy = params.get("proxy")
    route = resource if resource in routes.RESOURCES else None
    if route is None:  # an event without `resource` (a direct invoke): route by the raw path
        found = routes.match(path.rstrip("/") or "/")
        if found is not None:
            route = found[0]
            params = {k: unquote(v) for k, v in found[1].items()}
            proxy = params.get("proxy") if proxy is None else proxy
    return Request(
        method=(event.get("httpMethod") or "").upper(), route=route, proxy=proxy, params=params, headers=headers,
        query=query, body=event.get("body"), base64=bool(event.get("isBase64Encoded")),
    )


def json_response(status: int, payload: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "isBase64Encoded": False,
        "body": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    }
