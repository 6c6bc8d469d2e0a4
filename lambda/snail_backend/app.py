"""The backend's entry object: routes API Gateway events and S3 notifications to the registry.

`Backend(config, s3=..., dynamodb=...)` takes its boto3 clients from the caller (the Lambda
handlers build them lazily; the embedded backend and the tests pass clients on moto).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from . import delivery, logcontext
from .catalog import BadCursor, Catalog
from .config import BackendConfig
from .formats import extension_of, format_for_path, not_supported
from .http import MAX_DIRECT_BODY, HttpError, Request, json_response, parse_event
from .imaging import Rendition, UndecodableImage
from .imaging.insert import Header, check_header, insert_variants
from .markers import Markers
from .naming import INCOMING_PREFIX
from .registry import Busy, ProcessingFailed, PutRequest, Registry, Superseded
from .routes import RESOURCES, ROUTE_FILES, ROUTE_LIST, ROUTE_SYNC, ROUTE_UPLOADS
from .storage import Storage
from .validation import InvalidImage

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# A collector's lease outlives the longest function timeout of the stack (300 s for S3 events), so
# a collection is taken over only from a collector that can no longer be running.
LEASE_SECONDS = 330.0
MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # presigned uploads; the pixel limit bounds real images well below
# A row's ImageId "<type>/<path>/<name>" is a DynamoDB sort key (at most 1024 bytes of UTF-8): "raw/",
# "/" and the longest name ("YYMMDDHHMMSS-<8 hex>.jpeg", 26 bytes) leave 993 bytes for the path.
MAX_PATH_BYTES = 1024 - len("raw/") - 1 - len("YYMMDDHHMMSS-01234567.jpeg")


class Backend:
    def __init__(self, config: BackendConfig, *, s3, dynamodb, render: Callable[[bytes], Rendition] | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 lease_seconds: float = LEASE_SECONDS, wait_seconds: float = 20.0):
        self.config = config
        self.storage = Storage(s3, config.bucket)
        self.catalog = Catalog(dynamodb, config.table)
        self.clock = clock
        self.markers = Markers(self.catalog, clock)
        # `render` (bytes -> Rendition) replaces the imaging for tests; by default the registry makes the
        # variants with the insert path that `snail-images variants` runs too (imaging/insert.py).
        self._render = render
        self.registry = Registry(
            self.catalog, self.storage, self._variants,
            key_scheme=config.key_scheme, lease_seconds=lease_seconds, wait_seconds=wait_seconds,
            clock=clock, sleep=sleep,
        )

    # ------------------------------------------------------------------ HTTP
    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        req = parse_event(event)
        try:
            response = self._route(req)
        except HttpError as exc:
            response = exc.response()
        except Busy as exc:
            response = HttpError(503, "busy", str(exc)).response()
        except Superseded as exc:
            response = HttpError(409, "conflict", str(exc)).response()
        except Exception:  # noqa: BLE001 -- every failure still answers in the contract's JSON shape
            log.exception("%s %s failed", req.method, req.route)
            response = HttpError(500, "internal_error",
                                 "the backend failed; retrying the request repairs it").response()
        logcontext.update(outcome=response["statusCode"])
        log.info("%s %s -> %s", req.method, req.route, response["statusCode"])
        return response

    def _route(self, req: Request) -> dict[str, Any]:
        if req.route not in RESOURCES:
            raise HttpError(404, "not_found", f"no such route: use one of {', '.join(sorted(RESOURCES))}")
        if req.method not in RESOURCES[req.route]:
            raise HttpError(405, "method_not_allowed", f"{req.method} is not allowed here",
                            allowed=sorted(RESOURCES[req.route]))
        if req.route == ROUTE_LIST:
            return self._list(req)
        if req.route == ROUTE_UPLOADS:
            return self._presign(req)
        if req.route == ROUTE_SYNC:
            repository, ref = req.params.get("repository"), req.params.get("ref")
            if req.method == "PUT":
                return json_response(200, self.markers.move(repository, ref, req.json_body()))
            return json_response(200, self.markers.get(repository, ref))
        if req.route == ROUTE_FILES:
            return self._by_path(req.proxy or "")
        path = repository_path(req.proxy)
        if req.method == "PUT":
            return self._put(req, path)
        if req.method == "DELETE":
            result = self.registry.delete(path)
            return json_response(200, {"registered_file": path, "deleted": result.deleted,
                                       "objects_removed": result.objects_removed})
        found = self.registry.get(path)
        if found is None:
            raise HttpError(404, "not_found", f"{path} is not registered")
        return json_response(200, delivery.with_urls(found, self.config.delivery_url))

    def _by_path(self, proxy: str) -> dict[str, Any]:
        kind, _, rest = proxy.partition("/")
        try:
            path = repository_path(rest)
        except HttpError as exc:
            return delivery.missing(exc.message)
        found = self.registry.get(path) if kind in delivery.IMAGE_TYPES else None
        return delivery.redirect(found, kind, path, self.config.delivery_url)

    def _put(self, req: Request, path: str) -> dict[str, Any]:
        fmt = format_for_path(path)
        if fmt is None:
            raise HttpError(400, "bad_request", f"{path}: {not_supported(path)}")
        data = req.body_bytes(MAX_DIRECT_BODY)
        filename = req.header("filename")
        if not filename:
            raise HttpError(400, "bad_request", "the filename header is missing: send the percent-encoded path")
        try:
            decoded = unquote(filename, errors="strict")
        except UnicodeDecodeError:
            raise HttpError(400, "bad_request", "the filename header is not percent-encoded UTF-8") from None
        if decoded != path:
            raise HttpError(400, "path_mismatch",
                            f"the filename header names {decoded[:200]!r} but the URL names {path[:200]!r}")
        digest = hashlib.sha256(data).hexdigest()
        claimed = (req.header("x-content-sha256") or "").strip()
        if not _HEX64.fullmatch(claimed):
            raise HttpError(400, "bad_request", "the x-content-sha256 header is missing or not 64 hex digits")
        if claimed.lower() != digest and not req.base64:
            # API Gateway passes a body on as bytes only for the API's binary media types (image/*);
            # any other Content-Type turns it into UTF-8 text and the image's bytes are lost on the way.
            sent = f"Content-Type {req.header('content-type')!r}" if req.header("content-type") else "no Content-Type"
            raise HttpError(415, "unsupported_media_type",
                            f"{path}: the request has {sent}, so its body reached the backend as text and not as "
                            f"the file's bytes: send the file with Content-Type {fmt.content_type}")
        if claimed.lower() != digest:
            raise HttpError(400, "digest_mismatch", f"{path}: the body's SHA-256 is {digest}, the header says "
                                                    f"{claimed.lower()}: the upload was damaged, send it again")
        header = self._validate(data, path)
        return self._register(path, data, digest, header, None)[0]

    def _validate(self, data: bytes, path: str) -> Header:
        try:
            # The insert path's header check, before the catalog is touched, and the only one: its
            # Header goes on to the variants (registry.put -> _variants -> insert_variants), where the
            # pixels are decoded once and a damaged file is still refused before anything is stored.
            return check_header(data, path, self.config.max_image_pixels)
        except InvalidImage as exc:
            raise HttpError(400, "invalid_image", f"{path}: {exc}") from None

    def _variants(self, req: PutRequest) -> Rendition:
        if self._render is not None:
            return self._render(req.data)
        return insert_variants(req.data, req.path, self.config.variant_sizes, self.config.max_image_pixels,
                               header=req.header).rendition

    def _register(self, path: str, data: bytes, digest: str, header: Header, issued_ms: int | None,
                  token: str | None = None) -> tuple[dict, bool]:
        """(the response, whether the upload was stale: no longer the path's latest intent)."""
        info = header.info
        req = PutRequest(path, data, digest, extension_of(path), info.content_type, header.width, header.height,
                         issued_ms, token, header)
        try:
            result = self.registry.put(req)
        except ProcessingFailed as exc:
            raise HttpError(500, "processing_failed", f"{path}: {exc}", registration=exc.registration) from None
        except UndecodableImage as exc:
            raise HttpError(400, "invalid_image", f"{path}: {exc}") from None
        registration = delivery.with_urls(result.registration, self.config.delivery_url) if result.registration else {}
        body = dict(registration, duplicate=result.duplicate, unchanged=result.unchanged)
        if result.stale:
            body["stale"] = True
        return json_response(200, body), result.stale

    def _list(self, req: Request) -> dict[str, Any]:
        try:
            files, cursor = self.registry.list(req.query.get("cursor") or None, page_limit(req.query.get("limit")))
        except BadCursor as exc:
            raise HttpError(400, "bad_request", str(exc)) from None
        files = [delivery.with_urls(f, self.config.delivery_url) for f in files]
        return json_response(200, {"files": files, "cursor": cursor})

    def _presign(self, req: Request) -> dict[str, Any]:
        body = req.json_body()
        filename, sha, size = body.get("filename"), body.get("sha256"), body.get("size")
        if not isinstance(filename, str):
            raise HttpError(400, "bad_request", "filename (the repository path) is required")
        path = repository_path(filename)
        fmt = format_for_path(path)
        if fmt is None:
            raise HttpError(400, "bad_request", f"{path}: {not_supported(path)}")
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
            raise HttpError(400, "bad_request", "sha256 must be the file's 64-hex SHA-256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise HttpError(400, "bad_request", "size must be the file's size in bytes")
        if size > MAX_UPLOAD_BYTES:
            raise HttpError(413, "too_large", f"{path}: {size} bytes is over the {MAX_UPLOAD_BYTES}-byte upload limit")
        # The key is random: nothing from the request becomes part of it.
        key = f"{INCOMING_PREFIX}{uuid.uuid4().hex}.{extension_of(path)}"
        issued = int(self.clock() * 1000)
        token = self.registry.uploads.open(path, sha, issued)  # this upload is now the path's latest intent
        metadata = {"filename": quote(path, safe="/"), "sha256": sha.lower(), "issued": str(issued),
                    "size": str(size), "token": token}
        signed = self.storage.presign_incoming(key, fmt.content_type, metadata, self.config.upload_url_expires,
                                               size=size, sha256=sha.lower())
        return json_response(200, {**signed, "expires_in": self.config.upload_url_expires})

    # ------------------------------------------------------------------ S3 events
    def handle_s3_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Process ObjectCreated notifications under images/incoming/. Errors worth a retry raise
        (Lambda retries asynchronous invocations); everything final removes the incoming object."""
        outcomes = []
        self.registry.sweep()
        for record in event.get("Records") or []:
            s3 = record.get("s3") or {}
            key = unquote_plus((s3.get("object") or {}).get("key", ""))
            bucket = (s3.get("bucket") or {}).get("name")
            created = str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated")
            if not created or not key.startswith(INCOMING_PREFIX) or (bucket and bucket != self.config.bucket):
                outcomes.append({"key": key, "outcome": "ignored"})
            else:
                logcontext.update(path=key, outcome=logcontext.IN_PROGRESS)
                outcomes.append({"key": key, **self._incoming(key)})
                logcontext.update(outcome=outcomes[-1]["outcome"])
                log.info("incoming %s -> %s", key, outcomes[-1]["outcome"])
        return {"results": outcomes}

    def _incoming(self, key: str) -> dict[str, Any]:
        got = self.storage.get_incoming(key, MAX_UPLOAD_BYTES)
        if got is None:
            return {"outcome": "gone"}  # a duplicate or late event: the upload was handled already
        body, meta, size = got
        data = body or b""
        outcome: dict[str, Any]
        path = None
        claimed = meta.get("sha256", "").lower()
        try:
            issued = int(meta.get("issued", "0") or 0)
        except ValueError:
            issued = 0
        try:
            path = repository_path(unquote(meta.get("filename", ""), errors="strict"))
            logcontext.update(path=path)
            token = meta.get("token") or "-"  # none (a URL from before tokens existed) is never current
            if not self.registry.upload_is_current(path, token):
                # Late, duplicated or replayed: the path was deleted, put again, or this upload used.
                # Nothing is registered nor refused: the path's intent has moved on.
                self.storage.delete_incoming(key)
                return {"outcome": "stale", "path": path}
            if body is None:
                raise HttpError(413, "too_large", f"{path}: the upload is {size} bytes, over the "
                                                  f"{MAX_UPLOAD_BYTES}-byte limit")
            digest = hashlib.sha256(data).hexdigest()
            if claimed != digest:
                raise HttpError(400, "digest_mismatch", f"{path}: the uploaded bytes' SHA-256 is {digest}, not the "
                                                        f"announced {claimed[:64]}: upload the file again")
            if format_for_path(path) is None:
                raise HttpError(400, "bad_request", f"{path}: {not_supported(path)}")
            header = self._validate(data, path)
            response, stale = self._register(path, data, digest, header, issued, token)  # checked again, atomically
            if stale:  # the intent moved on since the check above
                outcome = {"outcome": "stale", "path": path}
            else:
                outcome = {"outcome": "registered", "path": path, "status": response["statusCode"]}
                self.registry.uploads.forget_refusal(path, issued)
        except HttpError as exc:
            log.warning("incoming %s refused: %s %s", key, exc.code, exc.message)
            outcome = {"outcome": exc.code, "message": exc.message}
            if path is not None and exc.status in (400, 413):
                # The client polls GET for this content: a refusal it can see beats a silent timeout.
                sha = claimed if _HEX64.fullmatch(claimed) or body is None else hashlib.sha256(data).hexdigest()
                self.registry.uploads.record_refusal(path, sha, exc.code, exc.message, issued)
        except UnicodeDecodeError:
            outcome = {"outcome": "bad_request", "message": "filename metadata is not percent-encoded UTF-8"}
        except Superseded as exc:
            outcome = {"outcome": "superseded", "message": str(exc)}
        self.storage.delete_incoming(key)
        return outcome


def repository_path(value: str | None) -> str:
    """The repository path as given, refused when it cannot be one (it never becomes a key)."""
    if not value:
        raise HttpError(400, "bad_request", "the path is empty: use /images/<repository path>")
    parts = value.split("/")
    if "\x00" in value or value.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise HttpError(400, "bad_request", f"{value[:200]!r} is not a repository path")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 path decodes to it
        raise HttpError(400, "bad_request", f"{value[:200]!r} is not valid UTF-8") from None
    if size > MAX_PATH_BYTES:
        # DynamoDB refuses a sort key over 1024 bytes, and the rows' ImageId holds the path.
        raise HttpError(400, "bad_request", f"{value[:80]!r}...: the path is {size} bytes long, the catalog takes at "
                                            f"most {MAX_PATH_BYTES}: shorten it")
    return value


def page_limit(value: str | None) -> int:
    if not value:
        return 200
    try:
        limit = int(value)
    except ValueError:
        raise HttpError(400, "bad_request", "limit must be a whole number from 1 to 1000") from None
    if not 1 <= limit <= 1000:
        raise HttpError(400, "bad_request", "limit must be a whole number from 1 to 1000")
    return limit
