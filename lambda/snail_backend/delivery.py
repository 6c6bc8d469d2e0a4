"""Delivery: the URLs a web page uses for stored objects, and the stable by-path redirect.

Two URL shapes, both under the delivery base (the CloudFront distribution, or the embedded
backend's delivery port):
- `<base>/images/<kind>/<name>`: the object itself. The name is content-addressed, so the bytes
  never change under it and it is served `Cache-Control: public, max-age=31536000, immutable`.
- `<base>/<kind>/<repository path>`: follows the path's current registration. Answered by the API
  (GET /files/<kind>/<path>) with a 302 to the object's URL, cached for PATH_MAX_AGE seconds, and
  404 when the path is not registered (or deleted). docs/delivery.md has the figures behind the choice.
Nothing here reads a request's path into a key: the redirect's target comes from the catalog.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from .naming import IMAGE_TYPES

PATH_MAX_AGE = 60  # seconds a by-path redirect may be cached (CloudFront and browsers)
MISSING_MAX_AGE = 10  # a 404 for a path: short, so a path registered next is found soon


def check_base(value: str) -> str:
    """The delivery base URL without a trailing slash; ValueError when it is not http(s)://host[:port]."""
    base = value.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment or parts.path:
        raise ValueError(f"DELIVERY_URL={value!r}: give https://<domain> (or http://host:port locally), no path")
    return base


def path_url(base: str, kind: str, path: str) -> str:
    return f"{base}/{kind}/{quote(path, safe='/')}"


def with_urls(registration: dict[str, Any], base: str) -> dict[str, Any]:
    """The registration with `url` (the object) and `path_url` (by path) in each stored image."""
    if not base:
        return registration
    path = str(registration.get("registered_file", ""))
    images = {}
    for kind, info in (registration.get("images") or {}).items():
        info = dict(info)
        if info.get("key"):
            info["url"] = f"{base}/{info['key']}"
            info["path_url"] = path_url(base, kind, path)
        images[kind] = info
    return dict(registration, images=images)


def _answer(status: int, headers: dict[str, str], payload: Any | None) -> dict[str, Any]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **headers},
            "isBase64Encoded": False, "body": body}


def missing(message: str, max_age: int = MISSING_MAX_AGE) -> dict[str, Any]:
    cache = f"public, max-age={max_age}" if max_age else "no-store"
    return _answer(404, {"Cache-Control": cache}, {"error": "not_found", "message": message})


def redirect(registration: dict[str, Any] | None, kind: str, path: str, base: str) -> dict[str, Any]:
    """GET /files/<kind>/<path>: 302 to the current object of `kind`, or 404."""
    if kind not in IMAGE_TYPES:
        return missing(f"{kind!r} is not one of {', '.join(IMAGE_TYPES)}: use /<kind>/<repository path>")
    if registration is None:
        return missing(f"{path} is not registered")
    if registration.get("status") != "completed":
        # pending (being stored right now) or failed: nothing to point at; not cached.
        return missing(f"{path} is {registration.get('status')}", max_age=0)
    key = ((registration.get("images") or {}).get(kind) or {}).get("key")
    if not key:
        return missing(f"{path} has no {kind} image", max_age=0)
    location = f"{base}/{key}" if base else f"/{key}"
    return _answer(302, {"Location": location, "Cache-Control": f"public, max-age={PATH_MAX_AGE}"},
                   {"registered_file": path, "kind": kind, "url": location})
