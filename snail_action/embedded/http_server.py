"""The local API's HTTP/1.1 server: sockets, keep-alive, bodies (Content-Length or chunked), limits, drain.

It reads each request off the wire and hands it to `gateway.ApiGateway.answer`, which holds API
Gateway's semantics. Hand-written on the standard library's `http.server` rather than a server
library: it must refuse a body over 10 MiB before reading it (also on `Expect: 100-continue`),
close such a connection without losing the answer (lingering close), and answer every error, even
a malformed request line or oversized headers, in the API's JSON shape; a general-purpose server
would hide exactly those edges behind its own defaults.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from .gateway import BAD_REQUEST, BODY_TOO_LARGE, MAX_BODY, ApiGateway, Handler, Reply


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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (malformed request line, oversized headers, ...) as JSON, not HTML."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.log_error("code %d, message %s", code, message)
        body = json.dumps({"error": phrase.upper().replace(" ", "_").replace("-", "_"),
                           "message": message or explain or phrase}).encode("utf-8")
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.wfile.write(body)

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
            reply, too_large = self._answer(gw)
            self._send(reply)
            if too_large:
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

    def _answer(self, gw: Gateway) -> tuple[Reply, bool]:
        """The reply, and whether the body was left unread because it is over the limit."""
        try:
            body = self._read_body()
        except _TooLarge:
            self.close_connection = True  # the rest of the body stays unread
            return gw.api.error(BODY_TOO_LARGE), True
        except ValueError:
            self.close_connection = True
            return gw.api.error(BAD_REQUEST), False
        return gw.api.answer(self.command, self.path, list(self.headers.items()), body,
                             client_ip=self.client_address[0], port=self.server.server_address[1]), False

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
    """The HTTP server in front of an `ApiGateway`; `handler` gets each proxy event and returns the proxy response."""

    def __init__(self, handler: Handler, api_key: str, host: str = "127.0.0.1", port: int = 0, *,
                 binary_media_types: Iterable[str] = (), stage: str = "prod",
                 responses: Mapping[str, Mapping[str, Any]] | None = None,
                 resources: Mapping[str, frozenset[str]] | None = None, access_log: TextIO | None = None,
                 error_log: TextIO | None = None):
        self.api = ApiGateway(handler, api_key, binary_media_types=binary_media_types, stage=stage,
                              responses=responses, resources=resources, error_log=error_log)
        self.access_log = access_log
        self._server = _Server((host, port), _RequestHandler)
        self._server.gateway = self
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._idle = threading.Condition()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

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
