"""Registrations: the insert and delete algorithms that keep the catalog invariants (the shapes they
write -- request, results, head condition, rows, the API's view -- are records.py's).

Invariants and how they are kept (the section of that name in docs/contracts.md):
- one live registration per path: a per-path head item, replaced only under a condition on its
  generation (`Gen`), in the same transaction that writes or deletes the path's rows;
- an object exists while a live registration uses it: a reference item per stored name counts the
  live heads using it, changed in the same transaction as the heads and rows. The last release
  moves the reference to `collecting` (with a token and a lease) in that transaction; only the
  collector (collector.py) then deletes the four objects and finally the reference. A put that finds a name
  `collecting` waits for the reference to disappear (or, when the lease has run out because the
  collector died, takes the collection over) and then stores the objects again;
- every S3 write is followed by a transaction conditioned on the head's generation. If that fails
  because the request was superseded meanwhile, the name is acquired and released once more so that
  an object written after a collection is collected too (compensation);
- a head remembers the collections its request started (`Collect`: name -> token), so a retry of
  the same request finishes a collection that a failure interrupted;
- a writer that dies between its S3 write and that transaction cannot compensate: a reference
  records until when its takers may still write (`WriteUntil`), a collection ending before that
  leaves its marker with `RecheckAt`, and the first sweep after it collects the name once more;
- a presigned upload registers only while it is the path's latest intent (uploads.py): POST /uploads
  records a token per path (an `upload` item); a direct PUT or a DELETE of the path removes it, and the
  registration of the upload consumes it (in the registration's own transaction). An S3 event
  whose token is no longer there -- late, duplicated, or a replayed URL -- registers nothing,
  unless the path's live registration is the one that token made (a retry repairing it).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .catalog import HEAD, REF, REFUSED, Catalog, Conflict, values
from .collector import COLLECTING, DELETED, LIVE, Busy, Collector
from .collector import new_token as _token
from .formats import VARIANT_TYPES, variant_name
from .imaging import ConversionError, Rendition, UndecodableImage
from .naming import IMAGE_TYPES, image_id, object_key, stored_name
from .records import (
    COMPLETED,
    FAILED,
    PENDING,
    DeleteResult,
    ProcessingFailed,
    PutRequest,
    PutResult,
    Superseded,
    iso,
    registration,
    row,
    unchanged_head,
)
from .storage import Storage
from .uploads import Uploads

log = logging.getLogger(__name__)

CONVERSION_ATTEMPTS = 3
# Busy: the collector's waits, answered 503; the request and errors (records.py's) are imported from here.
__all__ = ["COLLECTING", "LIVE", "Busy", "ProcessingFailed", "PutRequest", "Registry", "Superseded"]


@dataclass
class Registry:
    catalog: Catalog
    storage: Storage
    render: Callable[[PutRequest], Rendition]  # the variants of a request's image
    key_scheme: str = "hash"
    lease_seconds: float = 60.0
    wait_seconds: float = 20.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    attempts: int = CONVERSION_ATTEMPTS
    _rng: random.Random = field(default_factory=random.Random)
    collector: Collector = field(init=False)
    uploads: Uploads = field(init=False)

    def __post_init__(self) -> None:
        self.collector = Collector(self.catalog, self.storage, self.lease_seconds, self.wait_seconds,
                                   self.clock, self.sleep, self._rng)
        self.uploads = Uploads(self.catalog, self.clock)

    def sweep(self, limit: int = 25) -> int:
        return self.collector.sweep(limit)

    # ------------------------------------------------------------------ put
    def put(self, req: PutRequest) -> PutResult:
        deadline = self.clock() + self.wait_seconds
        first: Rendition | ConversionError | None = None
        while True:
            head = self.catalog.get_head(req.path)
            live = head is not None and head["State"] != DELETED
            if not self.uploads.is_current(req.path, req.token, head if live else None):
                return PutResult(registration(head) if live and head is not None else None, stale=True)
            if live and head is not None:
                self.collector.finish_collections(head)  # leftovers of an interrupted earlier request
                if head["Hash"] == req.sha256 and head["Ext"] == req.extension:
                    self.uploads.close(req.path, req.token)
                    if head["State"] == COMPLETED:
                        return PutResult(registration(head), unchanged=True)
                    # pending (interrupted) or failed: the same request again repairs it.
                    first = self._first_render(req, first)
                    self.collector.extend_write_window(head["Name"])
                    return self._process(req, head, duplicate=False, first=first)
                if req.issued_ms is not None and head.get("Issued", 0) > req.issued_ms:
                    return PutResult(registration(head), stale=True)
            # Decode before anything is stored: a damaged file is refused (UndecodableImage) untouched.
            first = self._first_render(req, first)
            try:
                new_head, duplicate, owned = self._acquire(req, head if live else None, head if not live else None)
            except Conflict:
                self.collector.backoff(deadline)
                continue
            except _Collecting as busy:
                self.collector.wait_for_collection(busy.name, deadline)
                continue
            self.collector.finish_collections(new_head, owned)
            return self._process(req, new_head, duplicate=duplicate, first=first)

    def upload_is_current(self, path: str, token: str) -> bool:
        """Whether an upload of `path` with `token` may still register (asked before a refusal is recorded)."""
        head = self.catalog.get_head(path)
        return self.uploads.is_current(path, token, head if head is not None and head["State"] != DELETED else None)

    def _acquire(self, req: PutRequest, old: dict | None, tombstone: dict | None) -> tuple[dict, bool, dict]:
        """One transaction: take a reference on the new name, replace the head, record the raw row
        as pending, and (superseding) mark the old rows deleted and release the old name."""
        now = self.clock()
        name = stored_name(req.sha256, req.extension, self.key_scheme, datetime.fromtimestamp(now, UTC))
        ref = self.catalog.get_ref(name)
        items: list[dict] = []
        if ref is None:
            items.append(self.catalog.put({"ImageType": REF, "ImageId": name, "Refs": 1, "Phase": LIVE,
                                           "Token": _token(), "WriteUntil": now + self.lease_seconds},
                                          "attribute_not_exists(ImageId)"))
        elif ref["Phase"] == COLLECTING:
            raise _Collecting(name)
        else:
            items.append(self.catalog.update(REF, name, "SET Refs = Refs + :one, WriteUntil = :wu",
                                             "Phase = :live AND #tok = :tok", names={"#tok": "Token"},
                                             vals=values(one=1, live=LIVE, tok=ref["Token"],
                                                         wu=now + self.lease_seconds)))
        duplicate = ref is not None and ref.get("Refs", 0) > 0
        upload_date = iso(now)
        collect: dict[str, str] = dict((tombstone or {}).get("Collect", {}))
        raw = {"key": object_key("raw", name), "width": req.width, "height": req.height, "size": len(req.data),
               "content_type": req.content_type}
        new_head = {
            "ImageType": HEAD, "ImageId": req.path, "Path": req.path, "Hash": req.sha256, "Ext": req.extension,
            "Name": name, "ContentType": req.content_type, "State": PENDING, "Gen": _token(),
            "UploadDate": upload_date, "Issued": req.issued_ms if req.issued_ms is not None else int(now * 1000),
            "Rows": ["raw"], "Images": {"raw": raw}, "Collect": collect,
        }
        if req.token is not None:
            new_head["Upload"] = req.token
        items.append(self.uploads.consume(req.path, req.token))
        prior = old or tombstone
        owned: dict[str, str] = {}
        if old is not None:
            items.extend(self._mark_rows_deleted(old))
            release, token = self.collector.release_items(old["Name"])
            items.extend(release)
            if token:
                collect[old["Name"]] = owned[old["Name"]] = token
        if prior is None:
            items.append(self.catalog.put(new_head, "attribute_not_exists(ImageId)"))
        else:
            items.append(self.catalog.put(new_head, *unchanged_head(prior)))
        items.append(self.catalog.put(row("raw", req.path, name, upload_date, raw, PENDING, req)))
        self._transact_starting(items, owned)
        return new_head, duplicate, owned

    def _mark_rows_deleted(self, head: dict) -> list[dict]:
        return [self.catalog.update(t, image_id(t, head["Path"], head["Name"]), "SET #s = :deleted REMOVE ErrorMessage",
                                    "attribute_exists(ImageId)", names={"#s": "Status"}, vals=values(deleted=DELETED))
                for t in head.get("Rows", [])]

    def _first_render(self, req: PutRequest, first: Rendition | ConversionError | None) -> Rendition | ConversionError:
        """The first conversion attempt (once per request); UndecodableImage propagates."""
        if first is not None:
            return first
        try:
            return self.render(req)
        except UndecodableImage:
            raise
        except (ConversionError, MemoryError) as exc:
            log.warning("%s: conversion attempt 1 failed: %s", req.path, exc)
            return exc if isinstance(exc, ConversionError) else ConversionError(str(exc))

    def _process(self, req: PutRequest, head: dict, *, duplicate: bool,
                 first: Rendition | ConversionError) -> PutResult:
        """Store the raw object and the variants, then mark everything completed in one transaction."""
        name, gen = head["Name"], head["Gen"]
        self.storage.put("raw", name, req.data, req.content_type, sha256=req.sha256, width=req.width,
                         height=req.height)
        rendition = first if isinstance(first, Rendition) else None
        error = f"conversion failed after 1 attempt(s): {first}"
        for attempt in range(2, self.attempts + 1):
            if rendition is not None:
                break
            try:
                rendition = self.render(req)
            except (ConversionError, MemoryError) as exc:
                error = f"conversion failed after {attempt} attempt(s): {exc}"
                log.warning("%s: %s", req.path, error)
        if rendition is None:
            failed = dict(head, State=FAILED, ErrorMessage=error)
            self._commit([
                self.catalog.update("raw", image_id("raw", req.path, name), "SET #s = :failed, ErrorMessage = :m",
                                    "attribute_exists(ImageId)", names={"#s": "Status"},
                                    vals=values(failed=FAILED, m=error)),
                self.catalog.put(failed, "Gen = :g", values(g=gen)),
            ], name)
            raise ProcessingFailed(registration(failed), error)
        images = dict(head["Images"])
        stored, content_type = variant_name(name, rendition.variant_format), VARIANT_TYPES[rendition.variant_format][1]
        for kind, variant in rendition.variants.items():
            self.storage.put(kind, stored, variant.data, content_type, sha256=req.sha256,
                             width=variant.width, height=variant.height)
            images[kind] = {"key": object_key(kind, stored), "width": variant.width, "height": variant.height,
                            "size": variant.size, "content_type": content_type}
        done = dict(head, State=COMPLETED, Rows=list(IMAGE_TYPES), Images=images)
        done.pop("ErrorMessage", None)
        items = [self.catalog.put(done, "Gen = :g", values(g=gen))]
        for kind in IMAGE_TYPES:
            items.append(self.catalog.put(row(kind, req.path, name, head["UploadDate"], images[kind], COMPLETED, req)))
        self._commit(items, name)
        return PutResult(registration(done), duplicate=duplicate)

    def _commit(self, items: list[dict], name: str) -> None:
        try:
            self.catalog.transact(items)
        except Conflict:
            # Superseded while storing: objects written for `name` may have outlived its collection.
            self.collector.compensate(name)
            raise Superseded("the file was replaced or deleted by a concurrent request") from None

    # ------------------------------------------------------------------ delete
    def delete(self, path: str) -> DeleteResult:
        result = self._delete(path)
        # Afterwards, so that the path's own collection (perhaps one a failed earlier copy of this
        # request gave up) is finished -- and counted in objects_removed -- by the path's own steps.
        self.collector.sweep()
        return result

    def _delete(self, path: str) -> DeleteResult:
        deadline = self.clock() + self.wait_seconds
        while True:
            head = self.catalog.get_head(path)
            if head is None:  # a refused upload, and a presigned one not yet registered, are forgotten too
                self.catalog.transact([self.catalog.delete(REFUSED, path), self.uploads.consume(path, None)])
                return DeleteResult()
            if head["State"] == DELETED:  # an earlier attempt was interrupted: finish its work
                removed, left = self.collector.finish_collections(head)
                if not left:  # else its collector is still at work (or the sweep will take over later)
                    self._drop_tombstone(head)
                return DeleteResult(0, removed)
            self.collector.finish_collections(head)
            items = [*self._mark_rows_deleted(head), self.catalog.delete(REFUSED, path),
                     self.uploads.consume(path, None)]
            release, token = self.collector.release_items(head["Name"])
            items.extend(release)
            tomb = None
            if token:
                # The tombstone remembers the collection, so a retry can finish it.
                tomb = {"ImageType": HEAD, "ImageId": path, "Path": path, "State": DELETED, "Gen": _token(),
                        "Collect": {**head.get("Collect", {}), head["Name"]: token}}
                items.append(self.catalog.put(tomb, *unchanged_head(head)))
            else:
                items.append(self.catalog.delete(HEAD, path, *unchanged_head(head)))
            try:
                self._transact_starting(items, {head["Name"]: token} if token else {})
            except Conflict:
                self.collector.backoff(deadline)
                continue
            removed = 0
            if tomb is not None and token:
                removed, _ = self.collector.finish_collections(tomb, {head["Name"]: token})
                self._drop_tombstone(tomb)
            return DeleteResult(len(head.get("Rows", [])), removed)

    def _transact_starting(self, items: list[dict], started: dict[str, str]) -> None:
        """Run a transaction that may start collections. When its outcome is unknown (an error
        other than a failed condition), give their leases up, so that a retry may finish them."""
        try:
            self.catalog.transact(items)
        except Conflict:
            raise
        except Exception:
            for name, token in started.items():
                self.collector.release_lease(name, token)
            raise

    def _drop_tombstone(self, tomb: dict) -> None:
        with suppress(Conflict):  # a put has replaced the tombstone already
            self.catalog.transact([self.catalog.delete(HEAD, tomb["ImageId"], "Gen = :g", values(g=tomb["Gen"]))])

    # ------------------------------------------------------------------ reads
    def get(self, path: str) -> dict[str, Any] | None:
        head = self.catalog.get_head(path)
        if head is not None and head["State"] == DELETED:
            head = None
        refused = self.catalog.get(REFUSED, path)
        if refused is not None and (head is None or (refused["Hash"] != head["Hash"]
                                                     and refused.get("Issued", 0) >= head.get("Issued", 0))):
            # A large upload newer than the registration was refused: the client polling for its
            # content sees `failed` with the reason (the older registration, if any, stays live).
            return {"registered_file": path, "hash": refused["Hash"], "status": FAILED, "error": refused["Error"],
                    "error_message": refused["ErrorMessage"], "upload_date": refused.get("UploadDate"), "images": {}}
        return registration(head) if head is not None else None

    def list(self, cursor: str | None, limit: int = 200) -> tuple[list[dict], str | None]:
        heads, nxt = self.catalog.list_heads(cursor, limit)
        files = [{"registered_file": h["Path"], "hash": h["Hash"], "status": h["State"],
                  "images": {k: dict(h["Images"][k]) for k in IMAGE_TYPES if k in h.get("Images", {})}} for h in heads]
        return files, nxt


class _Collecting(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
