"""A local stand-in for API Gateway (REST API, Lambda proxy integration, API key required).

It answers the way API Gateway answers before a request reaches Lambda, and builds the proxy event
the way API Gateway builds it, so the handlers behind it run exactly as they do when deployed:

| what | API Gateway's answer (response type) |
| --- | --- |
| request body over 10 MiB | 413, text `HTTP content length exceeded 10485760 bytes.` (the body is not read) |
| no resource/method for the path | 403 `{"message":"Missing Authentication Token"}` (MISSING_AUTHENTICATION_TOKEN) |
| `x-api-key` missing or wrong | 403 `{"message":"Forbidden"}` (INVALID_API_KEY) |
| proxy event over 6 MiB (Lambda's invoke limit; base64 body inside) | 413 `{"message": "Request Too Long"}` |
| the handler raises or returns a malformed response | 502 `{"message": "Internal server error"}` |

The JSON answers go through the API's gateway responses, as deployed: the template's DEFAULT_4XX
and DEFAULT_5XX make them `{"error": "<response type>", "message": "<the message above>"}`.
The response type of the 6 MiB and 502 cases is our best reading of API Gateway (REQUEST_TOO_LARGE,
DEFAULT_5XX); the status and message are what it is observed to send.
"""

from __future__ import annotations

import base64
import fnmatch
import hmac
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_BODY = 10 * 1024 * 1024
MAX_EVENT = 6 * 1024 * 1024
ACCOUNT_ID = "123456789012"

# resource -> methods of the REST API (contracts.md section 2); the embedded backend reads them from the template.
ROUTES: dict[str, frozenset[str]] = {
    "/images/{proxy+}": frozenset({"GET", "PUT", "DELETE"}),
    "/images": frozenset({"GET"}),
    "/uploads": frozenset({"POST"}),
    "/files/{proxy+}": frozenset({"GET"}),
}

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
# The 10 MiB limit is enforced in front of the API, where gateway responses do not apply: plain text.
BODY_TOO_LARGE = Reply(413, [("Content-Type", "text; charset=utf-8")],
                       f"HTTP content length exceeded {MAX_BODY} bytes.".encode())

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


def _match(template: str, segments: list[str]) -> dict[str, str] | None:
    """Raw path parameters when the segments fit the resource path, else None."""
    parts = [p for p in template.split("/") if p]
    params: dict[str, str] = {}
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):  # greedy: the rest, at least one segment
            rest = segments[i:]
            if not rest or "" in rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if i >= len(segments) or not segments[i]:
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[i]
        elif part != segments[i]:
            return None
    return params if len(segments) == len(parts) else None


def match_route(method: str, path: str, routes: Mapping[str, frozenset[str]] = ROUTES
                ) -> tuple[str, dict[str, str] | None] | None:
    """(resource, raw path parameters) for a path the API defines with this method, else None.

    A literal segment wins over a parameter, and a parameter over a greedy one, as in API Gateway.
    """
    segments = path.split("/")[1:] if path.startswith("/") else None
    if segments is None:
        return None
    if segments == [""]:
        segments = []

    def specificity(resource: str) -> tuple[int, int]:
        parts = [p for p in resource.split("/") if p]
        return (sum(not p.startswith("{") for p in parts), -sum(p.endswith("+}") for p in parts))

    for resource in sorted(routes, key=specificity, reverse=True):
        params = _match(resource, segments)
        if params is not None:
            return (resource, params or None) if method in routes[resource] else None
    return None


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """API Gateway base64-encodes a body whose Content-Type matches one of the API's binary media types."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(mime, pattern.lower()) for pattern in binary_media_types)


def build_event(*, method: str, raw_path: str, query: str, headers: list[tuple[str, str]], body: bytes | None,
                resource: str, path_params: Mapping[str, str] | None, binary_media_types: Iterable[str],
                source_ip: str,
                stage: str, request_id: str, now: float | None = None) -> dict[str, Any]:
    """The REST API Lambda proxy event for one request, as API Gateway presents it."""
    now = time.time() if now is None else now
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


class _TooLarge(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections must not hold up a stop; in-flight requests are drained separately.
    block_on_close = False
    gateway: Gateway


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log = self.server.gateway.access_log
        if log is not None:
            log.write(f"{self.address_string()} - {format % args}\n")
            log.flush()

    def handle_expect_100(self) -> bool:
        # A client asking before sending (curl does above 1 MiB) gets the 413 at once, not "100 Continue".
        length = self.headers.get("Content-Length") or ""
        if length.isdigit() and int(length) > MAX_BODY:
            return True
        return super().handle_expect_100()

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        """The body, never reading more than the limit plus one chunk; _TooLarge past the limit."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        length = int(length_text)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY:
            raise _TooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _TooLarge
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _serve(self) -> None:
        gw = self.server.gateway
        with gw.in_flight():
            reply = self._answer(gw)
            self._send(reply)
            if reply is BODY_TOO_LARGE:
                self._linger()

    def _linger(self) -> None:
        """Discard what the client is still sending, for a while, before closing.

        Closing a socket with unread input makes TCP reset the connection, and the client may then
        lose the 413 it has not read yet. Bounded in bytes and time, like a web server's lingering close.
        """
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(2)
            budget = 4 * MAX_BODY
            while budget > 0:
                chunk = self.connection.recv(min(budget, 1 << 16))
                if not chunk:
                    break
                budget -= len(chunk)
        except OSError:
            pass

    def _answer(self, gw: Gateway) -> Reply:
        request_id = str(uuid.uuid4())
        try:
            body = self._read_body()
        except _TooLarge:
            self.close_connection = True  # the rest of the body stays unread
            return BODY_TOO_LARGE
        except ValueError:
            self.close_connection = True
            return gw.error(BAD_REQUEST, request_id)
        parts = urlsplit(self.path)
        route = match_route(self.command, parts.path, gw.routes)
        if route is None:
            return gw.error(MISSING_TOKEN, request_id)
        if not gw.key_ok(self.headers.get_all("x-api-key") or []):
            return gw.error(FORBIDDEN, request_id)
        port = self.server.server_address[1]
        headers = list(self.headers.items()) + [
            ("X-Forwarded-For", self.client_address[0]), ("X-Forwarded-Port", str(port)),
            ("X-Forwarded-Proto", "http")]
        try:
            event = build_event(method=self.command, raw_path=parts.path, query=parts.query, headers=headers,
                                body=body, resource=route[0], path_params=route[1],
                                binary_media_types=gw.binary_media_types, source_ip=self.client_address[0],
                                stage=gw.stage, request_id=request_id)
        except UnicodeDecodeError:  # a percent-encoded path that is not UTF-8
            return gw.error(BAD_REQUEST, request_id)
        if len(json.dumps(event).encode("utf-8")) > MAX_EVENT:
            return gw.error(EVENT_TOO_LONG, request_id)
        try:
            reply = proxy_reply(gw.handler(event))
        except Exception:  # noqa: BLE001 - any handler failure is API Gateway's 502, as deployed
            gw.log_error(f"request {request_id} {self.command} {parts.path}: handler failed\n{traceback.format_exc()}")
            return gw.error(INTERNAL_ERROR, request_id)
        return Reply(reply.status, reply.headers + [("x-amzn-RequestId", request_id)], reply.body)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class Gateway:
    """The HTTP server; `handler` gets each proxy event and returns the proxy response."""

    def __init__(self, handler: Handler, api_key: str, host: str = "127.0.0.1", port: int = 0, *,
                 binary_media_types: Iterable[str] = (), stage: str = "prod",
                 responses: Mapping[str, Mapping[str, Any]] | None = None,
                 routes: Mapping[str, frozenset[str]] | None = None, access_log: TextIO | None = None,
                 error_log: TextIO | None = None):
        self.handler = handler
        self._key = api_key.encode("utf-8")
        self.binary_media_types = tuple(binary_media_types)
        self.stage = stage
        self.responses = dict(responses or {})
        self.routes = dict(routes or ROUTES)
        self.access_log = access_log
        self.error_log = error_log if error_log is not None else sys.stderr
        self._server = _Server((host, port), _RequestHandler)
        self._server.gateway = self
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._idle = threading.Condition()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def key_ok(self, sent: list[str]) -> bool:
        # API Gateway reads one x-api-key; constant-time compare so timing reveals nothing of the key.
        return len(sent) >= 1 and hmac.compare_digest(sent[-1].encode("utf-8"), self._key)

    def error(self, err: GatewayError, request_id: str) -> Reply:
        return render_error(err, self.responses, request_id)

    def log_error(self, text: str) -> None:
        self.error_log.write(text if text.endswith("\n") else text + "\n")
        self.error_log.flush()

    def in_flight(self) -> _InFlight:
        return _InFlight(self)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="snail-gateway", daemon=True)
        self._thread.start()

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop accepting, let requests under way finish (up to drain_seconds), then close."""
        self._server.shutdown()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=drain_seconds)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _InFlight:
    def __init__(self, gw: Gateway):
        self.gw = gw

    def __enter__(self) -> None:
        with self.gw._idle:
            self.gw._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self.gw._idle:
            self.gw._busy -= 1
            self.gw._idle.notify_all()
