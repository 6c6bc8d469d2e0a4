"""The embedded backend's delivery port: the URL shapes the stack's CloudFront distribution serves.

- GET `/images/<raw|sg|md|lg>/<name>`: the stored object, with the Content-Type and Cache-Control it
  was written with (as CloudFront passes S3's through). A name that is not stored answers 403, as S3
  does to CloudFront's Origin Access Control, which may not list the bucket.
- GET `/<kind>/<repository path>`: the backend's by-path redirect (GET /files/<kind>/<path>, the
  route the distribution sends these to), answered as the API answers it.
- Anything else, `images/incoming/` included, is 404: the distribution's default behaviour answers
  404 for every path its image and by-path behaviours do not match.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from snail_backend.naming import IMAGE_TYPES
from snail_backend.routes import ROUTE_FILES

from .events import proxy_event
from .gateway import proxy_reply

# Names the backend makes: hex digits, '-', '.', an extension (two for a converted variant: the
# original's and its own format's, `….heic.jpg`). Nothing else is looked up in the bucket.
_OBJECT = re.compile(r"/images/(raw|sg|md|lg)/([A-Za-z0-9][A-Za-z0-9_-]*(?:\.[a-z]{3,4}){1,2})")
_KIND_PATH = re.compile(r"/(raw|sg|md|lg)/(.+)")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    delivery: Delivery


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        status, headers, body = self.server.delivery.answer(urlsplit(self.path).path, self.client_address[0])
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def _refuse(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _refuse


Reply = tuple[int, list[tuple[str, str]], bytes]


class Delivery:
    """GET-only HTTP server over the bucket and the backend's by-path route; `handler` is set after start."""

    def __init__(self, s3: Any, bucket: str, host: str = "127.0.0.1", port: int = 0):
        self.s3, self.bucket = s3, bucket
        self.handler: Callable[[dict[str, Any]], Any] | None = None
        self._server = _Server((host, port), _Handler)
        self._server.delivery = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def answer(self, path: str, source_ip: str) -> Reply:
        if m := _OBJECT.fullmatch(path):
            return self._object(f"images/{m[1]}/{m[2]}")
        if (m := _KIND_PATH.fullmatch(path)) and self.handler is not None:
            return self._by_path(m[1], m[2], source_ip)
        return _text(404, "not found: use /images/<kind>/<name> or /<kind>/<repository path>")

    def _object(self, key: str) -> Reply:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return _text(403, "AccessDenied")
            raise
        headers = [("Content-Type", obj.get("ContentType") or "application/octet-stream")]
        for name, field in (("Cache-Control", "CacheControl"), ("ETag", "ETag")):
            if obj.get(field):
                headers.append((name, obj[field]))
        return 200, headers, obj["Body"].read()

    def _by_path(self, kind: str, rest: str, source_ip: str) -> Reply:
        if kind not in IMAGE_TYPES or self.handler is None:
            return _text(404, "not found")
        try:
            event = proxy_event(method="GET", raw_path=f"/files/{kind}/{rest}", query="", headers=[], body=None,
                                resource=ROUTE_FILES, path_params={"proxy": f"{kind}/{rest}"},
                                binary_media_types=(), source_ip=source_ip, stage="delivery",
                                request_id=str(uuid.uuid4()))
        except UnicodeDecodeError:  # a percent-encoded path that is not UTF-8: no repository path
            return _text(404, "not found")
        reply = proxy_reply(self.handler(event))
        return reply.status, list(reply.headers), reply.body

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="snail-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which never ran otherwise
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _text(status: int, message: str) -> Reply:
    return status, [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")], \
        (message + "\n").encode("utf-8")
