"""A small scripted HTTP server on a free loopback port, for client tests that need exact control
(fail N times, close the connection, answer with Retry-After) that a real backend would not give."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str  # the raw request target, as sent on the wire
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: object = None  # JSON-encoded unless bytes
    headers: dict[str, str] | None = None
    drop: bool = False  # close the connection without answering
    cut: bool = False  # announce the whole body, send only its first half, then close


Script = Callable[[Received, int], Reply]  # (request, index of this request) -> reply


class StubServer:
    def __init__(self, script: Script):
        self.script = script
        self.received: list[Received] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with stub._lock:
                    index = len(stub.received)
                    stub.received.append(req)
                reply = stub.script(req, index)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(
                    {} if reply.body is None else reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (reply.headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if reply.cut:
                    self.wfile.write(payload[:len(payload) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeApi:
    """An in-memory stand-in for the API of docs/contracts.md ("HTTP API"), enough to drive a sync: a catalog of
    path -> (hash, status), paging with a cursor, and presigned uploads processed on a later GET.
    The real backend is tested end to end elsewhere (embedded backend); this one lets a test break
    single paths (`fail`), echo things, and count what was sent."""

    def __init__(self, api_key: str = "test-key", page_size: int = 2):
        import hashlib
        from urllib.parse import unquote

        self._sha = lambda b: hashlib.sha256(b).hexdigest()
        self._unquote = unquote
        self.api_key = api_key
        self.page_size = page_size
        self.catalog: dict[str, dict] = {}
        self.fail: dict[str, tuple[int, dict]] = {}  # path -> (status, body) answered to its PUT
        self.pending_uploads: dict[str, tuple[str, str]] = {}  # token -> (path, sha256)
        self.polls_before_done = 1
        self.s3_replies: list[Reply] = []  # answered, in order, to presigned PUTs before any is accepted
        self.fail_processing: dict[str, str] = {}  # path -> error_message its processing ends with
        self._polls: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = StubServer(self.handle)
        self.url = self.server.url

    def __enter__(self) -> FakeApi:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def sent(self, method: str) -> list[Received]:
        return [r for r in self.received if r.method == method]

    def registration(self, path: str) -> dict:
        item = self.catalog[path]
        key = f"images/raw/{item['hash'][:20]}.png"
        return {"registered_file": path, "hash": item["hash"], "status": item["status"],
                "duplicate": False, "unchanged": False, "images": {"raw": {"key": key}}}

    def handle(self, req: Received, index: int) -> Reply:
        import time as _time

        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            _time.sleep(0.01)  # long enough for concurrent requests to overlap
            return self._route(req)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _route(self, req: Received) -> Reply:
        target = req.path
        if target.startswith("/s3/"):
            if self.s3_replies:
                return self.s3_replies.pop(0)
            token = target[4:].split("?")[0]
            path, sha = self.pending_uploads.pop(token)
            if self._sha(req.body) != sha:
                return Reply(400, b"<Error>BadDigest</Error>")
            self.catalog[path] = {"hash": sha, "status": "pending"}
            self._polls[path] = 0
            return Reply(200, b"")
        if req.headers.get("x-api-key") != self.api_key:
            return Reply(403, {"message": "Forbidden"})
        if target.startswith("/images/"):
            path = "/".join(self._unquote(s) for s in target[len("/images/"):].split("/"))
            if req.method == "PUT":
                if path in self.fail:
                    status, body = self.fail[path]
                    return Reply(status, body)
                sha = self._sha(req.body)
                if req.headers.get("x-content-sha256") != sha:
                    return Reply(400, {"error": "digest_mismatch", "message": "body does not match"})
                old = self.catalog.get(path)
                unchanged = bool(old and old["hash"] == sha and old["status"] == "completed")
                self.catalog[path] = {"hash": sha, "status": "completed"}
                return Reply(200, {**self.registration(path), "unchanged": unchanged})
            if req.method == "DELETE":
                existed = self.catalog.pop(path, None) is not None
                return Reply(200, {"registered_file": path, "deleted": 4 if existed else 0,
                                   "objects_removed": 4 if existed else 0})
            if req.method == "GET":
                if path not in self.catalog:
                    return Reply(404, {"error": "not_found", "message": f"{path} is not registered"})
                item = self.catalog[path]
                if item["status"] == "pending":
                    self._polls[path] += 1
                    if self._polls[path] > self.polls_before_done:
                        item["status"] = "failed" if path in self.fail_processing else "completed"
                if item["status"] == "failed":
                    return Reply(200, {**self.registration(path), "error_message": self.fail_processing.get(path)})
                return Reply(200, self.registration(path))
        if target == "/uploads" and req.method == "POST":
            body = json.loads(req.body)
            token = f"t{len(self.received)}"
            self.pending_uploads[token] = (body["filename"], body["sha256"])
            return Reply(200, {"url": f"{self.url}/s3/{token}?X-Amz-Signature=abc", "method": "PUT",
                               "headers": {"Content-Type": body["content_type"]}})
        if target.startswith("/images") and req.method == "GET":
            start = int(target.split("cursor=")[1]) if "cursor=" in target else 0
            paths = sorted(self.catalog)
            page = paths[start:start + self.page_size]
            nxt = start + self.page_size
            files = [{"registered_file": p, "hash": self.catalog[p]["hash"], "status": self.catalog[p]["status"]}
                     for p in page]
            return Reply(200, {"files": files, "cursor": str(nxt) if nxt < len(paths) else None})
        return Reply(404, {"error": "not_found", "message": f"no route {req.method} {target}"})
