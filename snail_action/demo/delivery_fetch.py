"""The demo's gallery reads each object through the delivery URL the backend gave for it, as a web
page would, and notes any answer that is not the stored image cached immutable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from snail_backend.storage import IMMUTABLE


class DeliveryFetch:
    def __init__(self, records: Mapping[str, Mapping[str, Any]], timeout: float = 30.0):
        self.url_of: dict[str, str] = {}
        self.type_of: dict[str, str] = {}
        for rec in records.values():
            for info in (rec.get("images") or {}).values():
                if isinstance(info, dict) and info.get("key") and info.get("url"):
                    self.url_of[str(info["key"])] = str(info["url"])
                    self.type_of[str(info["key"])] = str(info.get("content_type") or rec.get("content_type") or "")
        self.timeout = timeout
        self.fetched = 0
        self.problems: list[str] = []
        self._session = requests.Session()

    def read(self, key: str) -> bytes:
        url = self.url_of.get(key)
        if url is None:
            self.problems.append(f"{key}: the backend gave no delivery URL")
            raise OSError(f"{key}: no delivery URL")
        got = self._session.get(url, timeout=self.timeout)
        if got.status_code != 200:
            self.problems.append(f"{url}: HTTP {got.status_code}")
            raise OSError(f"{url}: HTTP {got.status_code}")
        if got.headers.get("Cache-Control") != IMMUTABLE:
            self.problems.append(f"{url}: Cache-Control {got.headers.get('Cache-Control')!r}")
        if self.type_of.get(key) and got.headers.get("Content-Type") != self.type_of[key]:
            self.problems.append(f"{url}: Content-Type {got.headers.get('Content-Type')!r}")
        self.fetched += 1
        return got.content
