"""API Gateway's semantics for the local stand-in (REST API, Lambda proxy integration, API key required).

`ApiGateway.answer` takes one HTTP request as read off the wire (by `http_server.py`, which owns the
sockets) and answers the way API Gateway answers before a request reaches Lambda, or builds the
proxy event (`events.proxy_event`) and turns the handler's proxy response into the HTTP answer, so
the handlers behind it run exactly as they do when deployed:

| what | API Gateway's answer (response type) |
| --- | --- |
| request body over 10 MiB (the body is not read) | 413 `{"message": "HTTP content length exceeded 10485760 bytes."}` |
| no resource/method for the path | 403 `{"message":"Missing Authentication Token"}` (MISSING_AUTHENTICATION_TOKEN) |
| `x-api-key` missing or wrong | 403 `{"message":"Forbidden"}` (INVALID_API_KEY) |
| proxy event over 6 MiB (Lambda's invoke limit; base64 body inside) | 413 `{"message": "Request Too Long"}` |
| the handler raises or returns a malformed response | 502 `{"message": "Internal server error"}` |

The JSON answers go through the API's gateway responses, as deployed: the template's DEFAULT_4XX
and DEFAULT_5XX make them `{"error": "<response type>", "message": "<the message above>"}`.
Deployed, the 10 MiB limit sits in front of the gateway responses and sends that message as plain
text; locally it is JSON like every other answer (clients go by the status). The response type of
the 10 MiB, 6 MiB and 502 cases is our best reading of API Gateway (REQUEST_TOO_LARGE,
DEFAULT_5XX); the status and message are what it is observed to send.

The routes come from `snail_backend.routes`, the one route table. This module and the HTTP server
stay hand-written rather than a web framework: what they reproduce is API Gateway's behaviour (its
error answers, its route precedence, its event shape and limits), which is exactly what a framework
would replace with its own; the standard library's `http.server` gives the sockets.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from snail_backend import routes

from .events import proxy_event

MAX_BODY = 10 * 1024 * 1024
MAX_EVENT = 6 * 1024 * 1024

Handler = Callable[[dict[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class GatewayError:
    """An answer API Gateway gives itself; its gateway responses (from the template) may reshape it."""

    response_type: str
    status: int
    message: str
    error_type: str


FORBIDDEN = GatewayError("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
MISSING_TOKEN = GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token",
                             "MissingAuthenticationTokenException")
EVENT_TOO_LONG = GatewayError("REQUEST_TOO_LARGE", 413, "Request Too Long", "BadRequestException")
BAD_REQUEST = GatewayError("DEFAULT_4XX", 400, "Bad Request", "BadRequestException")
INTERNAL_ERROR = GatewayError("DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException")
# Deployed, the 10 MiB limit is enforced in front of the API and answers in plain text; here it is JSON,
# like every other answer (the client reads the status either way).
BODY_TOO_LARGE = GatewayError("REQUEST_TOO_LARGE", 413, f"HTTP content length exceeded {MAX_BODY} bytes.",
                              "RequestTooLargeException")

_VTL_VAR = re.compile(r"\$(?:\{context\.([A-Za-z.]+)\}|context\.([A-Za-z.]+))")


def render_error(err: GatewayError, responses: Mapping[str, Mapping[str, Any]], request_id: str) -> Reply:
    """The answer for a gateway error, through the API's gateway response for its type or the 4XX/5XX default."""
    custom = responses.get(err.response_type) or responses.get("DEFAULT_4XX" if err.status < 500 else "DEFAULT_5XX")
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", err.error_type),
               ("x-amzn-RequestId", request_id)]
    body = json.dumps({"message": err.message})
    status = err.status
    if custom:
        status = int(custom.get("StatusCode") or status)
        values = {"error.messageString": json.dumps(err.message), "error.message": err.message,
                  "error.responseType": err.response_type, "requestId": request_id}
        template = (custom.get("ResponseTemplates") or {}).get("application/json")
        if template:
            body = _VTL_VAR.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), template)
        for name, value in (custom.get("ResponseParameters") or {}).items():
            if name.startswith("gatewayresponse.header.") and value.startswith("'") and value.endswith("'"):
                headers.append((name[len("gatewayresponse.header."):], value[1:-1]))
    return Reply(status, headers, body.encode("utf-8"))


def match_route(method: str, path: str, resources: Mapping[str, frozenset[str]] = routes.RESOURCES
                ) -> tuple[str, dict[str, str] | None] | None:
    """(resource, raw path parameters) for a path the API defines with this method, else None."""
    found = routes.match(path, resources)
    if found is None or method not in resources[found[0]]:
        return None
    return found[0], found[1] or None


def proxy_reply(result: Any) -> Reply:
    """The HTTP answer for a Lambda proxy response; malformed ones are a 502, as API Gateway makes them."""
    if not isinstance(result, Mapping):
        raise ValueError("the handler returned no mapping")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"bad statusCode {status!r}")
    headers: dict[str, list[str]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = [str(v) for v in values]
    for name, value in (result.get("headers") or {}).items():
        headers[str(name)] = [str(value)]
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise ValueError("body is not a string")
    elif result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
    else:
        raw = body.encode("utf-8")
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = ["application/json"]
    pairs = [(k, v) for k, vs in headers.items() for v in vs
             if k.lower() not in ("content-length", "connection", "transfer-encoding")]
    return Reply(status, pairs, raw)


class ApiGateway:
    """What API Gateway does with one request: route, check the key, build the event, call, shape the answer."""

    def __init__(self, handler: Handler, api_key: str, *, binary_media_types: Iterable[str] = (),
                 stage: str = "prod", responses: Mapping[str, Mapping[str, Any]] | None = None,
                 resources: Mapping[str, frozenset[str]] | None = None, error_log: TextIO | None = None):
        self.handler = handler
        self._key = api_key.encode("utf-8")
        self.binary_media_types = tuple(binary_media_types)
        self.stage = stage
        self.responses = dict(responses or {})
        self.resources = dict(resources or routes.RESOURCES)
        self.error_log = error_log if error_log is not None else sys.stderr

    def key_ok(self, sent: list[str]) -> bool:
        # API Gateway reads one x-api-key; constant-time compare so timing reveals nothing of the key.
        return len(sent) >= 1 and hmac.compare_digest(sent[-1].encode("utf-8"), self._key)

    def error(self, err: GatewayError, request_id: str | None = None) -> Reply:
        return render_error(err, self.responses, request_id or str(uuid.uuid4()))

    def log_error(self, text: str) -> None:
        self.error_log.write(text if text.endswith("\n") else text + "\n")
        self.error_log.flush()

    def answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, *,
               client_ip: str, port: int) -> Reply:
        """The answer to `method target` (the request line's target) with these headers and body."""
        request_id = str(uuid.uuid4())
        parts = urlsplit(target)
        route = match_route(method, parts.path, self.resources)
        if route is None:
            return self.error(MISSING_TOKEN, request_id)
        if route[0] not in routes.OPEN_RESOURCES and not self.key_ok(
                [v for k, v in headers if k.lower() == "x-api-key"]):
            return self.error(FORBIDDEN, request_id)
        headers = headers + [("X-Forwarded-For", client_ip), ("X-Forwarded-Port", str(port)),
                             ("X-Forwarded-Proto", "http")]
        try:
            event = proxy_event(method=method, raw_path=parts.path, query=parts.query, headers=headers,
                                body=body, resource=route[0], path_params=route[1],
                                binary_media_types=self.binary_media_types, source_ip=client_ip,
                                stage=self.stage, request_id=request_id)
        except UnicodeDecodeError:  # a percent-encoded path that is not UTF-8
            return self.error(BAD_REQUEST, request_id)
        if len(json.dumps(event).encode("utf-8")) > MAX_EVENT:
            return self.error(EVENT_TOO_LONG, request_id)
        try:
            reply = proxy_reply(self.handler(event))
        except Exception:  # noqa: BLE001 - any handler failure is API Gateway's 502, as deployed
            self.log_error(f"request {request_id} {method} {parts.path}: handler failed\n{traceback.format_exc()}")
            return self.error(INTERNAL_ERROR, request_id)
        return Reply(reply.status, reply.headers + [("x-amzn-RequestId", request_id)], reply.body)
