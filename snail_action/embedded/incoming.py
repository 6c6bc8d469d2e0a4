"""S3 event notifications for the local bucket: what arrives under images/incoming/ runs the S3 handler.

moto's server sends no notifications to a local function, so a thread lists the prefix every
~100 ms and, for each new object, builds the event S3 would send and hands it to the handler on a
small pool (S3 invokes Lambda asynchronously, and concurrently). Like an asynchronous Lambda
invocation, a failing handler is retried twice.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from snail_backend.naming import INCOMING_PREFIX

from .events import s3_event

ASYNC_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries


def put_time(bucket: str, key: str) -> str | None:
    """When moto stored the object now under `key`, to the microsecond; None where this process's moto
    does not hold it. S3 lists LastModified to the second, so by the listing alone the same URL put
    again within a second of the first put (a replay right after the registration) looked like the
    object already handled, and its event was never sent."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys.get(key)
    except (ImportError, KeyError, AttributeError):
        return None
    modified = getattr(stored, "last_modified", None)
    return modified.isoformat() if modified is not None else None


class IncomingWatcher:
    def __init__(self, s3: Any, bucket: str, handle: Callable[[dict[str, Any]], Any], *, region: str,
                 prefix: str = INCOMING_PREFIX, interval: float = 0.1, workers: int = 4,
                 error_log: TextIO | None = None):
        self._s3 = s3
        self._bucket = bucket
        self._handle = handle
        self._region = region
        self._prefix = prefix
        self._interval = interval
        self._error_log = error_log if error_log is not None else sys.stderr
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snail-s3-event")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: set[tuple[str, str, str]] = set()
        self._sequencer = 0
        self._pending = 0
        self.delivered = 0  # events handled without error
        self._cond = threading.Condition()
        self._poll_lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="snail-incoming", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=False)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every object now in the prefix has been handled (tests and the demo use it)."""
        self.poll_once()
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - a failed listing is retried on the next tick
                if self._stop.is_set():
                    return
                self._log(f"listing {self._prefix} failed: {exc}")
            self._stop.wait(self._interval)

    def poll_once(self) -> int:
        """Send events for the objects not seen before; returns how many."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> int:
        listed: set[tuple[str, str, str]] = set()
        fresh: list[tuple[dict[str, Any], tuple[str, str, str]]] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=self._prefix):
            for obj in page.get("Contents", []):
                # When it was put too: the same bytes put again under the same key are a new event in S3.
                ident = (obj["Key"], obj["ETag"], put_time(self._bucket, obj["Key"]) or str(obj.get("LastModified")))
                listed.add(ident)
                if ident not in self._seen:
                    fresh.append((obj, ident))
        # Forget objects that are gone, so the same key uploaded again is a new event, as in S3.
        self._seen &= listed
        for obj, ident in fresh:
            self._seen.add(ident)
            self._sequencer += 1
            event = s3_event(bucket=self._bucket, key=obj["Key"], size=obj["Size"], etag=obj["ETag"],
                             region=self._region, sequencer=self._sequencer)
            with self._cond:
                self._pending += 1
            self._pool.submit(self._deliver, event, ident)
        return len(fresh)

    def _deliver(self, event: dict[str, Any], ident: tuple[str, str, str]) -> None:
        key = event["Records"][0]["s3"]["object"]["key"]
        try:
            for attempt in range(1, ASYNC_ATTEMPTS + 1):
                try:
                    self._handle(event)
                    with self._poll_lock:
                        # Handled and gone (the backend's handler removes it): forgotten, though a new put of
                        # the same bytes would differ by its put time anyway.
                        if not self._exists(ident[0]):
                            self._seen.discard(ident)
                    with self._cond:
                        self.delivered += 1
                    return
                except Exception:  # noqa: BLE001 - reported like a failed async invocation
                    self._log(f"S3 event for {key} failed (attempt {attempt} of {ASYNC_ATTEMPTS})\n"
                              f"{traceback.format_exc()}")
                    if attempt < ASYNC_ATTEMPTS:
                        time.sleep(0.2 * attempt)
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def _exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except Exception:  # noqa: BLE001 - 404 (gone) or unreadable: either way no event is owed for it now
            return False
        return True

    def _log(self, text: str) -> None:
        self._error_log.write(f"snail-images serve: {text.rstrip()}\n")
        self._error_log.flush()
