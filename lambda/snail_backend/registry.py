"""Registrations: the insert and delete algorithms that keep the catalog invariants.

Invariants (contracts.md section 3) and how they are kept:
- one live registration per path: a per-path head item, replaced only under a condition on its
  generation (`Gen`), in the same transaction that writes or deletes the path's rows;
- an object exists while a live registration uses it: a reference item per stored name counts the
  live heads using it, changed in the same transaction as the heads and rows. The last release
  moves the reference to `collecting` (with a token and a lease) in that transaction; only the
  collector then deletes the four objects and finally the reference. A put that finds a name
  `collecting` waits for the reference to disappear (or, when the lease has run out because the
  collector died, takes the collection over) and then stores the objects again;
- every S3 write is followed by a transaction conditioned on the head's generation. If that fails
  because the request was superseded meanwhile, the name is acquired and released once more so that
  an object written after a collection is collected too (compensation);
- a head remembers the collections its request started (`Collect`: name -> token), so a retry of
  the same request finishes a collection that a failure interrupted;
- a writer that dies between its S3 write and that transaction cannot compensate: a reference
  records until when its takers may still write (`WriteUntil`), a collection ending before that
  leaves its marker with `RecheckAt`, and the first sweep after it collects the name once more.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .catalog import HEAD, MARK, REF, REFUSED, Catalog, Conflict, values
from .imaging import ConversionError, Rendition, UndecodableImage
from .naming import IMAGE_TYPES, image_id, object_key, stored_name
from .storage import Storage

log = logging.getLogger(__name__)

LIVE, COLLECTING = "live", "collecting"
PENDING, COMPLETED, FAILED, DELETED = "pending", "completed", "failed", "deleted"
CONVERSION_ATTEMPTS = 3


class Busy(Exception):
    """Another request holds what this one needs for longer than it can wait; retry later."""


class Superseded(Exception):
    """A concurrent request replaced this registration before it was complete."""


class ProcessingFailed(Exception):
    def __init__(self, registration: dict[str, Any], message: str):
        super().__init__(message)
        self.registration = registration


@dataclass
class PutRequest:
    path: str
    data: bytes
    sha256: str
    extension: str
    content_type: str
    width: int  # as displayed
    height: int
    issued_ms: int | None = None  # for large uploads: when POST /uploads issued the URL


@dataclass
class PutResult:
    registration: dict[str, Any]
    duplicate: bool = False
    unchanged: bool = False
    stale: bool = False


@dataclass
class DeleteResult:
    deleted: int = 0
    objects_removed: int = 0


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

    # ------------------------------------------------------------------ put
    def put(self, req: PutRequest) -> PutResult:
        deadline = self.clock() + self.wait_seconds
        first: Rendition | ConversionError | None = None
        while True:
            head = self.catalog.get_head(req.path)
            live = head is not None and head["State"] != DELETED
            if live:
                self._finish_collections(head)  # leftovers of an interrupted earlier request
                if head["Hash"] == req.sha256 and head["Ext"] == req.extension:
                    if head["State"] == COMPLETED:
                        return PutResult(registration(head), unchanged=True)
                    # pending (interrupted) or failed: the same request again repairs it.
                    first = self._first_render(req, first)
                    self._extend_write_window(head["Name"])
                    return self._process(req, head, duplicate=False, first=first)
                if req.issued_ms is not None and head.get("Issued", 0) > req.issued_ms:
                    return PutResult(registration(head), stale=True)
            # Decode before anything is stored: a damaged file is refused (UndecodableImage) untouched.
            first = self._first_render(req, first)
            try:
                new_head, duplicate, owned = self._acquire(req, head if live else None, head if not live else None)
            except Conflict:
                self._backoff(deadline)
                continue
            except _Collecting as busy:
                self._wait_for_collection(busy.name, deadline)
                continue
            self._finish_collections(new_head, owned)
            return self._process(req, new_head, duplicate=duplicate, first=first)

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
        raw = {"key": object_key("raw", name), "width": req.width, "height": req.height, "size": len(req.data)}
        new_head = {
            "ImageType": HEAD, "ImageId": req.path, "Path": req.path, "Hash": req.sha256, "Ext": req.extension,
            "Name": name, "ContentType": req.content_type, "State": PENDING, "Gen": _token(),
            "UploadDate": upload_date, "Issued": req.issued_ms if req.issued_ms is not None else int(now * 1000),
            "Rows": ["raw"], "Images": {"raw": raw}, "Collect": collect,
        }
        prior = old or tombstone
        owned: dict[str, str] = {}
        if old is not None:
            items.extend(self._mark_rows_deleted(old))
            release, token = self._release_items(old["Name"])
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

    def _release_items(self, name: str) -> tuple[list[dict], str | None]:
        """Items that drop one reference on `name`; the last one starts its collection (token)."""
        ref = self.catalog.get_ref(name)
        if ref is None or ref["Phase"] != LIVE or ref.get("Refs", 0) < 1:
            # The head read earlier is stale (released meanwhile): its Gen condition will fail.
            return [], None
        names = {"#tok": "Token"}
        if ref["Refs"] == 1:
            token = _token()
            return [self.catalog.update(
                REF, name, "SET Refs = :zero, Phase = :collecting, #tok = :new, LeaseUntil = :until",
                "Refs = :one AND Phase = :live AND #tok = :tok", names=names,
                vals=values(zero=0, one=1, collecting=COLLECTING, new=token, live=LIVE, tok=ref["Token"],
                            until=self.clock() + self.lease_seconds)),
                self.catalog.put(marker(name))], token
        return [self.catalog.update(REF, name, "SET Refs = Refs - :one", "Refs = :n AND Phase = :live AND #tok = :tok",
                                    names=names, vals=values(one=1, n=ref["Refs"], live=LIVE, tok=ref["Token"]))], None

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
        for kind, variant in rendition.variants.items():
            self.storage.put(kind, name, variant.data, req.content_type, sha256=req.sha256,
                             width=variant.width, height=variant.height)
            images[kind] = {"key": object_key(kind, name), "width": variant.width, "height": variant.height,
                            "size": variant.size}
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
            self._compensate(name)
            raise Superseded("the file was replaced or deleted by a concurrent request") from None

    # ------------------------------------------------------------------ delete
    def delete(self, path: str) -> DeleteResult:
        result = self._delete(path)
        # Afterwards, so that the path's own collection (perhaps one a failed earlier copy of this
        # request gave up) is finished -- and counted in objects_removed -- by the path's own steps.
        self.sweep()
        return result

    def _delete(self, path: str) -> DeleteResult:
        deadline = self.clock() + self.wait_seconds
        while True:
            head = self.catalog.get_head(path)
            if head is None:
                self.catalog.transact([self.catalog.delete(REFUSED, path)])  # a refused upload is forgotten too
                return DeleteResult()
            if head["State"] == DELETED:  # an earlier attempt was interrupted: finish its work
                removed, left = self._finish_collections(head)
                if not left:  # else its collector is still at work (or the sweep will take over later)
                    self._drop_tombstone(head)
                return DeleteResult(0, removed)
            self._finish_collections(head)
            items = [*self._mark_rows_deleted(head), self.catalog.delete(REFUSED, path)]
            release, token = self._release_items(head["Name"])
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
                self._backoff(deadline)
                continue
            removed = 0
            if tomb is not None:
                removed, _ = self._finish_collections(tomb, {head["Name"]: token})
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
                self._release_lease(name, token)
            raise

    def _drop_tombstone(self, tomb: dict) -> None:
        with suppress(Conflict):  # a put has replaced the tombstone already
            self.catalog.transact([self.catalog.delete(HEAD, tomb["ImageId"], "Gen = :g", values(g=tomb["Gen"]))])

    # ------------------------------------------------------------------ collection
    def _finish_collections(self, head: dict, owned: dict[str, str] | None = None) -> tuple[int, bool]:
        """Finish the collections recorded on `head`: those this request started (`owned`) now,
        others only when their collector's lease has run out. Returns (objects removed, any left)."""
        removed, left = 0, False
        for name, token in list(head.get("Collect", {}).items()):
            if owned and owned.get(name) == token:
                removed += self._collect(name, token)
                done = True
            else:
                n, done = self._help_collect(name)
                removed += n
            if not done:
                left = True
                continue
            head["Collect"].pop(name, None)
            if head["State"] != DELETED:
                with suppress(Conflict):  # the head moved on; its new version does not carry this entry's work
                    self.catalog.transact([self.catalog.update(
                        HEAD, head["ImageId"], "REMOVE #c.#n", "Gen = :g", names={"#c": "Collect", "#n": name},
                        vals=values(g=head["Gen"]))])
        return removed, left

    def _help_collect(self, name: str) -> tuple[int, bool]:
        """(objects removed, finished): take a collection over only when its lease has run out."""
        ref = self.catalog.get_ref(name)
        if ref is None or ref["Phase"] == LIVE:
            return 0, True  # collected already (and perhaps stored again since, by a new holder)
        if ref.get("LeaseUntil", 0) > self.clock():
            return 0, False
        token = _token()
        try:
            self.catalog.transact([self.catalog.update(
                REF, name, "SET #tok = :new, LeaseUntil = :until", "#tok = :old AND Phase = :c",
                names={"#tok": "Token"},
                vals=values(new=token, old=ref["Token"], c=COLLECTING, until=self.clock() + self.lease_seconds))])
        except Conflict:
            return 0, False  # someone else took it over just now
        return self._collect(name, token), True

    def _collect(self, name: str, token: str) -> int:
        """Delete the objects of `name`, then its reference. Only the holder of `token` calls this."""
        try:
            ref = self.catalog.get_ref(name)
            if ref is None or ref.get("Token") != token or ref["Phase"] != COLLECTING:
                log.info("collection of %s was taken over", name)
                return 0
            removed = self.storage.remove_all(name)
            # A writer that took the name before it was released may still be running and may still
            # write an object after this (then die before compensating): while its window is open,
            # the marker stays, and a sweep after the window collects the name once more.
            recheck = math.ceil(ref.get("WriteUntil", 0))  # whole seconds: compared exactly later
            self.catalog.transact([
                self.catalog.delete(REF, name, "#tok = :tok AND Phase = :c", names={"#tok": "Token"},
                                    vals=values(tok=token, c=COLLECTING)),
                self.catalog.put(dict(marker(name), RecheckAt=recheck)) if recheck > self.clock()
                else self.catalog.delete(MARK, name),
            ])
        except Conflict:
            log.info("collection of %s was taken over", name)
            return 0
        except Exception:
            self._release_lease(name, token)
            raise
        return removed

    def _release_lease(self, name: str, token: str) -> None:
        # This collector failed: let the next request (a retry, typically) take over at once.
        try:
            self.catalog.transact([self.catalog.update(REF, name, "SET LeaseUntil = :zero", "#tok = :tok",
                                                       names={"#tok": "Token"}, vals=values(zero=0, tok=token))])
        except Exception:  # noqa: BLE001 -- best effort: the lease also runs out by itself
            log.warning("could not release the collection lease of %s", name)

    def _wait_for_collection(self, name: str, deadline: float) -> None:
        """Someone is collecting `name`: wait for them, or take over once their lease ran out."""
        _, done = self._help_collect(name)
        if not done:
            self._backoff(deadline)

    def sweep(self, limit: int = 25) -> int:
        """Finish collections whose collector died (lease run out), and collect once more the names
        whose writers' window has closed since their collection; returns objects removed."""
        removed = 0
        try:
            items = self.catalog.query_items(MARK, limit)
        except Exception:  # noqa: BLE001 -- the sweep is housekeeping: it never fails the request
            log.warning("sweep: the markers could not be read", exc_info=True)
            return 0
        for item in items:
            name, recheck = item["ImageId"], item.get("RecheckAt")
            try:
                if recheck is None:
                    removed += self._help_collect(name)[0]
                elif recheck <= self.clock():
                    removed += self._recheck(name, recheck)
            except Exception:  # noqa: BLE001 -- others' leftovers must not fail this request; the next sweep retries
                log.warning("sweep: %s is left for a later sweep", name, exc_info=True)
        return removed

    def _recheck(self, name: str, recheck: float) -> int:
        """`name` was collected while a writer could still write it; that writer is gone now."""
        ref = self.catalog.get_ref(name)
        if ref is None:
            return self._compensate(name)  # whatever such a writer left goes (and the marker with it)
        if ref["Phase"] == LIVE:
            # Held again: its objects are in use (the same bytes), and this holder's own window is
            # later than the old one, so the next collection covers both.
            with suppress(Conflict):  # the marker is gone, or a later collection has replaced it
                self.catalog.transact([self.catalog.delete(MARK, name, "RecheckAt = :r", values(r=recheck))])
            return 0
        return self._help_collect(name)[0]

    def _extend_write_window(self, name: str) -> None:
        """A retry about to write `name`'s objects again: its window is now."""
        with suppress(Conflict):  # being collected: this registration was replaced, and its commit will say so
            self.catalog.transact([self.catalog.update(REF, name, "SET WriteUntil = :wu", "Phase = :live",
                                                       vals=values(wu=self.clock() + self.lease_seconds,
                                                                   live=LIVE))])

    def _compensate(self, name: str) -> int:
        """Acquire and release `name` once, so that objects written after its collection go too."""
        deadline = self.clock() + self.wait_seconds
        while True:
            ref = self.catalog.get_ref(name)
            if ref is not None and ref["Phase"] == LIVE:
                return 0  # a live holder uses (and has written) these very bytes
            if ref is not None:
                self._wait_for_collection(name, deadline)
                continue
            token = _token()
            try:
                self.catalog.transact([
                    self.catalog.put({"ImageType": REF, "ImageId": name, "Refs": 0, "Phase": COLLECTING,
                                      "Token": token, "LeaseUntil": self.clock() + self.lease_seconds},
                                     "attribute_not_exists(ImageId)"),
                    self.catalog.put(marker(name)),
                ])
            except Conflict:
                continue
            return self._collect(name, token)

    def _backoff(self, deadline: float) -> None:
        if self.clock() > deadline:
            raise Busy("the file is being changed by other requests; try again")
        self.sleep(self._rng.uniform(0.005, 0.05))

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

    def record_refusal(self, path: str, sha256: str, code: str, message: str, issued_ms: int) -> None:
        """Remember that a large upload of `path` (announced as `sha256`) was refused, for GET."""
        item = {"ImageType": REFUSED, "ImageId": path, "Hash": sha256.lower(), "Error": code,
                "ErrorMessage": message, "Issued": issued_ms, "UploadDate": iso(self.clock())}
        # Never let an older refusal (an out-of-order event) replace a newer one.
        with suppress(Conflict):
            self.catalog.transact([self.catalog.put(item, "attribute_not_exists(ImageId) OR Issued <= :i",
                                                    values(i=issued_ms))])

    def forget_refusal(self, path: str, issued_ms: int) -> None:
        with suppress(Conflict):  # none, or a newer one
            self.catalog.transact([self.catalog.delete(REFUSED, path, "Issued <= :i", values(i=issued_ms))])

    def list(self, cursor: str | None, limit: int = 200) -> tuple[list[dict], str | None]:
        heads, nxt = self.catalog.list_heads(cursor, limit)
        files = [{"registered_file": h["Path"], "hash": h["Hash"], "status": h["State"]} for h in heads]
        return files, nxt


class _Collecting(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def unchanged_head(head: dict) -> tuple[str, dict, dict]:
    """Condition: the head is still as read. Completion keeps `Gen` (so that two runs of the same
    request may both commit) but changes `State` and `Rows`; a release must see those, or it would
    miss rows written since it read the head."""
    return "Gen = :g AND #st = :st", values(g=head["Gen"], st=head["State"]), {"#st": "State"}


def marker(name: str) -> dict[str, str]:
    """Exists while `name` is being collected, so a sweep finds collections whose collector died."""
    return {"ImageType": MARK, "ImageId": name}


def _token() -> str:
    return uuid.uuid4().hex


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row(kind: str, path: str, name: str, upload_date: str, image: dict, status: str, req: PutRequest) -> dict:
    return {
        "ImageType": kind, "ImageId": image_id(kind, path, name), "RegisteredFile": path,
        "UploadDate": upload_date, "StoredKey": image["key"], "ImageSize": image["size"],
        "Resolution": f"{image['width']}x{image['height']}", "Status": status,
        "ContentHash": req.sha256, "ContentType": req.content_type,
    }


def registration(head: dict) -> dict[str, Any]:
    """The API's view of a head item."""
    out: dict[str, Any] = {"registered_file": head["Path"], "hash": head["Hash"], "status": head["State"],
                           "content_type": head.get("ContentType"), "upload_date": head.get("UploadDate"),
                           "images": {k: dict(head["Images"][k]) for k in IMAGE_TYPES if k in head.get("Images", {})}}
    if head.get("ErrorMessage"):
        out["error_message"] = head["ErrorMessage"]
    return out
