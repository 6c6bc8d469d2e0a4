"""Reference-counted collection of stored names, with leases (the registry's other half).

A reference item per stored name counts the live registrations using it. The last release moves
it to `collecting` (with a token and a lease) in the releasing transaction; only the holder of that
token deletes the four objects and then the reference. A collector that dies leaves a marker, and
the next sweep (or a request that meets the name) takes the collection over once its lease ran out.
A writer that may still write after a collection (`WriteUntil`) makes the collection leave its
marker with `RecheckAt`, so the first sweep after that collects the name once more. The invariants
this keeps are listed in registry.py's docstring.
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

from .catalog import HEAD, MARK, REF, Catalog, Conflict, values
from .storage import Storage

log = logging.getLogger(__name__)

LIVE, COLLECTING = "live", "collecting"
DELETED = "deleted"


class Busy(Exception):
    """Another request holds what this one needs for longer than it can wait; retry later."""


@dataclass
class Collector:
    catalog: Catalog
    storage: Storage
    lease_seconds: float = 60.0
    wait_seconds: float = 20.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _rng: random.Random = field(default_factory=random.Random)

    def release_items(self, name: str) -> tuple[list[dict], str | None]:
        """Items that drop one reference on `name`; the last one starts its collection (token)."""
        ref = self.catalog.get_ref(name)
        if ref is None or ref["Phase"] != LIVE or ref.get("Refs", 0) < 1:
            # The head read earlier is stale (released meanwhile): its Gen condition will fail.
            return [], None
        names = {"#tok": "Token"}
        if ref["Refs"] == 1:
            token = new_token()
            return [self.catalog.update(
                REF, name, "SET Refs = :zero, Phase = :collecting, #tok = :new, LeaseUntil = :until",
                "Refs = :one AND Phase = :live AND #tok = :tok", names=names,
                vals=values(zero=0, one=1, collecting=COLLECTING, new=token, live=LIVE, tok=ref["Token"],
                            until=self.clock() + self.lease_seconds)),
                self.catalog.put(marker(name))], token
        return [self.catalog.update(REF, name, "SET Refs = Refs - :one", "Refs = :n AND Phase = :live AND #tok = :tok",
                                    names=names, vals=values(one=1, n=ref["Refs"], live=LIVE, tok=ref["Token"]))], None

    def finish_collections(self, head: dict, owned: dict[str, str] | None = None) -> tuple[int, bool]:
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
        token = new_token()
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
            self.release_lease(name, token)
            raise
        return removed

    def release_lease(self, name: str, token: str) -> None:
        # This collector failed: let the next request (a retry, typically) take over at once.
        try:
            self.catalog.transact([self.catalog.update(REF, name, "SET LeaseUntil = :zero", "#tok = :tok",
                                                       names={"#tok": "Token"}, vals=values(zero=0, tok=token))])
        except Exception:  # noqa: BLE001 -- best effort: the lease also runs out by itself
            log.warning("could not release the collection lease of %s", name)

    def wait_for_collection(self, name: str, deadline: float) -> None:
        """Someone is collecting `name`: wait for them, or take over once their lease ran out."""
        _, done = self._help_collect(name)
        if not done:
            self.backoff(deadline)

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
            return self.compensate(name)  # whatever such a writer left goes (and the marker with it)
        if ref["Phase"] == LIVE:
            # Held again: its objects are in use (the same bytes), and this holder's own window is
            # later than the old one, so the next collection covers both.
            with suppress(Conflict):  # the marker is gone, or a later collection has replaced it
                self.catalog.transact([self.catalog.delete(MARK, name, "RecheckAt = :r", values(r=recheck))])
            return 0
        return self._help_collect(name)[0]

    def extend_write_window(self, name: str) -> None:
        """A retry about to write `name`'s objects again: its window is now."""
        with suppress(Conflict):  # being collected: this registration was replaced, and its commit will say so
            self.catalog.transact([self.catalog.update(REF, name, "SET WriteUntil = :wu", "Phase = :live",
                                                       vals=values(wu=self.clock() + self.lease_seconds,
                                                                   live=LIVE))])

    def compensate(self, name: str) -> int:
        """Acquire and release `name` once, so that objects written after its collection go too."""
        deadline = self.clock() + self.wait_seconds
        while True:
            ref = self.catalog.get_ref(name)
            if ref is not None and ref["Phase"] == LIVE:
                return 0  # a live holder uses (and has written) these very bytes
            if ref is not None:
                self.wait_for_collection(name, deadline)
                continue
            token = new_token()
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

    def backoff(self, deadline: float) -> None:
        if self.clock() > deadline:
            raise Busy("the file is being changed by other requests; try again")
        self.sleep(self._rng.uniform(0.005, 0.05))


def marker(name: str) -> dict[str, str]:
    """Exists while `name` is being collected, so a sweep finds collections whose collector died."""
    return {"ImageType": MARK, "ImageId": name}


def new_token() -> str:
    return uuid.uuid4().hex
