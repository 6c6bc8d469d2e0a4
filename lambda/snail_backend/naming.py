"""Stored names and S3 keys. Nothing a request sends ever becomes part of a key: a name is
built from the content's digest, a lower-cased known extension and (scheme timestamp) the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .formats import EXTENSIONS

IMAGE_TYPES: tuple[str, ...] = ("raw", "sg", "md", "lg")
INCOMING_PREFIX = "images/incoming/"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def stored_name(sha256_hex: str, extension: str, scheme: str = "hash", now: datetime | None = None) -> str:
    """`<first 20 hex>.<ext>` (hash) or `YYMMDDHHMMSS-<first 8 hex>.<ext>` (timestamp)."""
    digest = sha256_hex.lower()
    if not _HEX64.fullmatch(digest):
        raise ValueError("sha256_hex must be 64 hex digits")
    ext = extension.lower()
    if ext not in EXTENSIONS:  # also guarantees the extension has no '/', '.', or other surprises
        raise ValueError(f"not an image extension: {extension!r}")
    if scheme == "hash":
        return f"{digest[:20]}.{ext}"
    if scheme == "timestamp":
        stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%y%m%d%H%M%S")
        return f"{stamp}-{digest[:8]}.{ext}"
    raise ValueError(f"unknown key scheme {scheme!r}")


def object_key(image_type: str, name: str) -> str:
    if image_type not in IMAGE_TYPES:
        raise ValueError(f"unknown image type {image_type!r}")
    return f"images/{image_type}/{name}"


def image_id(image_type: str, registered_file: str, name: str) -> str:
    return f"{image_type}/{registered_file}/{name}"
