"""Applying one operation to the backend: a delete, a put (direct or through a presigned upload),
and waiting for a large upload to be processed. One file's failure is its own result."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .client import ApiClient, ApiError, ApiResponse
from .delivery_links import urls_of
from .model import Operation
from .report import Result
from .settings import Settings

if TYPE_CHECKING:
    from .sync import SyncOptions

FINAL_STATUSES = ("completed", "failed")


# -- applying one operation ------------------------------------------------------------------------

def _object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or {} when the answer has something else there."""
    return value if isinstance(value, dict) else {}


def _registration_result(op: Operation, resp: ApiResponse) -> Result:
    body = resp.fields
    images = _object(body.get("images"))
    raw = _object(images.get("raw"))
    key = raw.get("key")
    if not resp.ok:
        return Result(op.op, op.path, "failed", resp.status, None, resp.error_message)
    if body.get("hash") and op.sha256 and body["hash"] != op.sha256:
        return Result(op.op, op.path, "failed", resp.status, key,
                      f"the backend registered hash {str(body['hash'])[:12]}, not {op.sha256[:12]}")
    status = body.get("status")
    if status == "failed":
        return Result(op.op, op.path, "failed", resp.status, key,
                      str(body.get("error_message") or body.get("message") or "processing failed"))
    if body.get("unchanged"):
        return Result(op.op, op.path, "unchanged", resp.status, key, "", urls_of(body) or None)
    if status == "completed":
        note = "duplicate content" if body.get("duplicate") else ""
        return Result(op.op, op.path, "completed", resp.status, key, note, urls_of(body) or None)
    return Result(op.op, op.path, "failed", resp.status, key, f"unexpected registration status {status!r}")


class Applier:
    def __init__(self, client: ApiClient, reader: Any, settings: Settings, options: SyncOptions):
        self.client = client
        self.reader = reader
        self.limit = settings.direct_upload_limit
        self.options = options

    def delete(self, op: Operation) -> Result:
        resp = self.client.delete_image(op.path)
        if not resp.ok:
            return Result("delete", op.path, "failed", resp.status, None, resp.error_message)
        if resp.fields.get("deleted") == 0:
            return Result("delete", op.path, "unchanged", resp.status, None, "was not registered")
        return Result("delete", op.path, "deleted", resp.status, None, "")

    def put(self, op: Operation) -> Result:
        data = self.reader.read(op.blob)
        if len(data) > self.limit:
            return self._put_large(op, data)
        resp = self.client.put_image(op.path, data, op.content_type or "application/octet-stream", op.sha256 or "")
        if resp.status == 413:
            # The gateway in front may allow less than our limit assumes: the presigned path has no such cap.
            return self._put_large(op, data)
        result = _registration_result(op, resp)
        if resp.ok and resp.fields.get("status") == "pending":
            return self._wait(op)
        return result

    def _put_large(self, op: Operation, data: bytes) -> Result:
        """POST /uploads, the bytes straight to storage with the presigned URL, then wait for processing.

        A 403 from storage usually means the URL expired before its turn came (a long queue, a slow
        runner; it lives UPLOAD_URL_EXPIRES seconds): a fresh URL is asked for once before giving up.
        """
        for fresh in (False, True):
            up = self.client.create_upload(op.path, op.content_type or "application/octet-stream", len(data),
                                           op.sha256 or "")
            if not up.ok:
                return Result("put", op.path, "failed", up.status, None,
                              f"upload request refused: {up.error_message}")
            body = up.fields
            url, method = body.get("url"), body.get("method") or "PUT"
            if not isinstance(url, str):
                return Result("put", op.path, "failed", up.status, None, "upload request answered without a URL")
            headers = _object(body.get("headers"))
            sent = self.client.upload_presigned(url, method, headers, data)
            if sent.ok:
                return self._wait(op)
            if sent.status != 403 or fresh:
                again = " (with a fresh upload URL too)" if fresh else ""
                return Result("put", op.path, "failed", sent.status, None,
                              f"presigned upload to storage failed{again}: HTTP {sent.status} {sent.error_message}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, op: Operation) -> Result:
        """Poll GET until the registration of this content is completed or failed."""
        opts = self.options
        deadline = time.monotonic() + opts.poll_timeout
        interval = opts.poll_interval
        last = "not registered yet"
        while True:
            resp = self.client.get_image(op.path)
            body = resp.fields
            if resp.ok and body.get("hash") == op.sha256 and body.get("status") in FINAL_STATUSES:
                return _registration_result(op, resp)
            if resp.ok:
                last = f"status {body.get('status')!r}"
            elif resp.status != 404:
                last = f"HTTP {resp.status} {resp.error_message}"
            if time.monotonic() + interval > deadline:
                return Result("put", op.path, "failed", resp.status if resp.ok else None, None,
                              f"not processed within {opts.poll_timeout:.0f}s ({last}); "
                              f"look later with `snail-images status {op.path}`")
            opts.sleep(interval)
            interval = min(opts.poll_max_interval, interval * 1.5)


def guard(fn: Callable[[Operation], Result], op: Operation) -> Result:
    """One file's failure is its own: reported, never allowed to stop the others."""
    try:
        return fn(op)
    except ApiError as exc:
        return Result(op.op, op.path, "failed", exc.status, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - any surprise on one file must not stop the rest
        return Result(op.op, op.path, "failed", None, None, f"{type(exc).__name__}: {exc}")
