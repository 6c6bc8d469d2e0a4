"""What goes on the wire to and from the snail-images API (docs/contracts.md, "HTTP API").

The request side: a repository path as a URL path and as the `filename` header, the sync marker's
target. The answer side: `ApiResponse` (status, parsed body, the server's error in one line) and
`Retry-After`. No sending, no authentication, no retries: those are the client's (client.py).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from .report import one_line


@dataclass
class ApiResponse:
    """One answer of the API (or of S3, for a presigned upload), after the client's retries."""

    status: int
    body: Any  # parsed JSON, or {} when the body is not JSON
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def fields(self) -> dict[str, Any]:
        """The body when it is a JSON object, else {}: a proxy or a broken server may answer anything."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def error_message(self) -> str:
        """The server's error in one line: `code: message` (the API's JSON, or S3's XML), or the body's start."""
        if isinstance(self.body, dict) and ("error" in self.body or "message" in self.body):
            code = one_line(str(self.body.get("error") or ""))
            msg = one_line(str(self.body.get("message") or ""))
            return f"{code}: {msg}" if code and msg else code or msg
        code, msg = _xml_field(self.text, "Code"), _xml_field(self.text, "Message")
        if code or msg:  # S3 answers a presigned PUT with <Error><Code>..</Code><Message>..</Message>
            return f"{code}: {msg}" if code and msg else code or msg
        return " ".join(self.text.split())[:200] or f"HTTP {self.status}"


def _xml_field(text: str, name: str) -> str:
    m = re.search(rf"<{name}>([^<]{{0,300}})</{name}>", text or "")
    return " ".join(m.group(1).split()) if m else ""


def encode_path(path: str) -> str:
    """The repository path as a URL path: every segment percent-encoded (`/` stays the separator).

    Git paths are bytes; planner strings may carry surrogate escapes for invalid UTF-8, which
    must round-trip to the same bytes rather than fail.
    """
    return "/".join(quote(seg.encode("utf-8", "surrogateescape"), safe="") for seg in path.split("/"))


def sync_target(repository: str, ref: str) -> str:
    """`/sync/{repository}/{ref}`, each part one percent-encoded segment (a `/` in it becomes %2F)."""
    return f"/sync/{quote(repository, safe='')}/{quote(ref, safe='')}"


def encode_filename_header(path: str) -> str:
    """The `filename` header: percent-encoded UTF-8, so newlines and non-ASCII survive HTTP."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def response_from(r: requests.Response, attempts: int) -> ApiResponse:
    text = r.text if r.content else ""
    try:
        body = r.json() if text else {}
    except ValueError:
        body = {}
    return ApiResponse(status=r.status_code, body=body, text=text, headers=dict(r.headers), attempts=attempts)


def short_url(url: str) -> str:
    """A URL for messages: path only (a presigned query string is a credential)."""
    parts = urlsplit(url)
    return parts.path or "/"
