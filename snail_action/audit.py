"""The one invariant checker: reads a backend's bucket and table and reports every broken invariant.

An operator's tool, run with the caller's credentials (it scans the table): not part of the
functions' package, whose roles grant no Scan.

Used by `snail-images audit` (a deployed stack with the caller's credentials, or the embedded
backend), by the demo's checks and by the tests. The invariants (registry.py keeps them):
- unused_object: every object under images/<type>/ is used by a live registration;
- missing_object: every live registration's objects exist (all four once it is completed);
- duplicate_registration / registration_without_head / head_without_rows / stray_row: one live registration per path,
  whose rows are the path's current head's;
- refcount: a stored name's reference counts exactly the live heads that use it;
- stuck_pending: a registration is not `pending` for longer than a request can run;
- unfinished_collection: no collection whose collector died is left unfinished;
- leftover_incoming: nothing stays under images/incoming/ once its S3 event could have run.

A backend in use always has work in flight; what is younger than `grace` seconds is not reported.
`at_rest=True` says nothing is in flight (tests, the demo after it waited): then every in-flight
state is a finding too.

`repair` fixes only what is safe (nothing a running request could still need): it deletes unused
objects and leftover incoming/ objects, and finishes collections whose lease ran out (the backend's
own sweep). The rest needs the file itself: send it again (or DELETE it, then send it).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from snail_backend.catalog import HEAD, MARK, REF, Catalog, from_attrs
from snail_backend.formats import variant_names
from snail_backend.naming import IMAGE_TYPES, INCOMING_PREFIX
from snail_backend.storage import Storage

DEFAULT_GRACE_SECONDS = 3600.0  # the S3 event's longest life (MaximumEventAgeInSeconds) and then some
REPAIRABLE = frozenset({"unused_object", "leftover_incoming", "unfinished_collection"})


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # an object key, a path or a stored name
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass
class Snapshot:
    """The bucket's objects (key -> last modified, epoch seconds) and the table's items."""
    objects: dict[str, float] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)


def read(s3: Any, dynamodb: Any, bucket: str, table: str) -> Snapshot:
    snap = Snapshot()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="images/"):
        for obj in page.get("Contents", []):
            snap.objects[obj["Key"]] = obj["LastModified"].timestamp()
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        snap.items.extend(from_attrs(i) for i in page.get("Items", []))
    return snap


def _epoch(iso: str | None) -> float:
    try:
        return datetime.strptime(iso or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def check(snap: Snapshot, *, now: float | None = None, grace: float = DEFAULT_GRACE_SECONDS,
          at_rest: bool = False) -> list[Finding]:
    now = time.time() if now is None else now

    def settled(when: float) -> bool:
        return at_rest or when <= now - grace

    out: list[Finding] = []
    heads = {i["ImageId"]: i for i in snap.items if i["ImageType"] == HEAD and i.get("State") != "deleted"}
    rows = [i for i in snap.items if i["ImageType"] in IMAGE_TYPES and i.get("Status") != "deleted"]
    refs = {i["ImageId"]: i for i in snap.items if i["ImageType"] == REF}
    marks = {i["ImageId"]: i for i in snap.items if i["ImageType"] == MARK}

    used: dict[str, str] = {}  # object key -> the path whose registration uses it
    for path, head in heads.items():
        for kind, image in (head.get("Images") or {}).items():
            used[image["key"]] = path
            if image["key"] not in snap.objects and (head.get("State") == "completed" or kind == "raw") \
                    and settled(_epoch(head.get("UploadDate"))):
                out.append(Finding("missing_object", image["key"], f"{path} ({head['State']}) uses it"))
        if head.get("State") == "pending" and settled(_epoch(head.get("UploadDate"))):
            out.append(Finding("stuck_pending", path, f"pending since {head.get('UploadDate')}: send the file again"))
    for r in rows:
        used.setdefault(r["StoredKey"], r["RegisteredFile"])
        if r.get("Status") == "completed" and r["StoredKey"] not in snap.objects:
            out.append(Finding("missing_object", r["StoredKey"], f"the {r['ImageType']} row of {r['RegisteredFile']}"))

    per_path = Counter(r["RegisteredFile"] for r in rows if r["ImageType"] == "raw")
    out += [Finding("duplicate_registration", p, f"{n} live raw rows") for p, n in sorted(per_path.items()) if n > 1]
    out += [Finding("registration_without_head", p, "live rows but no head")
            for p in sorted(set(per_path) - set(heads))]
    out += [Finding("head_without_rows", p, "a head but no live raw row") for p in sorted(set(heads) - set(per_path))]
    for r in rows:
        owner = heads.get(r["RegisteredFile"])
        if owner is not None and r["StoredKey"].rsplit("/", 1)[1] not in _names_of(r["ImageType"], owner["Name"]):
            out.append(Finding("stray_row", r["ImageId"], f"a live row of a registration that is no longer "
                                                          f"{r['RegisteredFile']}'s"))

    holders = Counter(h["Name"] for h in heads.values())
    for name in sorted(set(holders) | set(refs)):
        ref = refs.get(name)
        if ref is not None and ref.get("Phase") == "collecting":
            if holders[name]:
                out.append(Finding("refcount", name, f"being collected while {holders[name]} registration(s) use it"))
            elif at_rest or ref.get("LeaseUntil", 0) <= now:
                out.append(Finding("unfinished_collection", name, "its collector stopped (the lease ran out)"))
            continue
        count = int(ref.get("Refs", 0)) if ref is not None else 0
        if count != holders[name]:
            out.append(Finding("refcount", name, f"counts {count}, {holders[name]} live registration(s) use it"))
    for name, mark in sorted(marks.items()):
        if name not in refs and mark.get("RecheckAt") is None:
            out.append(Finding("unfinished_collection", name, "a collection marker without its reference"))

    for key, modified in sorted(snap.objects.items()):
        if key.startswith(INCOMING_PREFIX):
            if settled(modified):
                out.append(Finding("leftover_incoming", key, "an upload its S3 event never handled"))
        elif key not in used and settled(modified):
            name = key.rsplit("/", 1)[1]
            if name not in refs and "." in name:
                name = name.rsplit(".", 1)[0]  # a converted variant's name: the original's plus its format's
            if name in refs and refs[name].get("Phase") == "collecting" and not at_rest:
                continue  # being collected now
            out.append(Finding("unused_object", key, "no live registration uses it"))
    return out


def _names_of(image_type: str, name: str) -> tuple[str, ...]:
    """The stored names a row of this type may have for the registration of `name`."""
    return (name,) if image_type == "raw" else variant_names(name)


def audit(s3: Any, dynamodb: Any, bucket: str, table: str, **kwargs: Any) -> list[Finding]:
    return check(read(s3, dynamodb, bucket, table), **kwargs)


def repair(s3: Any, dynamodb: Any, bucket: str, table: str, findings: list[Finding],
           lease_seconds: float = 330.0) -> list[str]:
    """Fix the safe findings; returns one line per thing done."""
    from snail_backend.collector import Collector  # noqa: PLC0415 -- only a repair needs the collector

    catalog, storage = Catalog(dynamodb, table), Storage(s3, bucket)
    done: list[str] = []
    for f in findings:
        if f.kind in ("unused_object", "leftover_incoming"):
            name = f.subject.rsplit("/", 1)[1]
            if f.kind == "unused_object" and catalog.get(REF, name) is not None:
                done.append(f"kept {f.subject}: its name is referenced again (in use since the audit)")
                continue
            s3.delete_object(Bucket=bucket, Key=f.subject)
            done.append(f"deleted {f.subject} ({f.kind.replace('_', ' ')})")
    if any(f.kind == "unfinished_collection" for f in findings):
        removed = Collector(catalog, storage, lease_seconds=lease_seconds).sweep(limit=1000)
        done.append(f"finished the collections whose collector stopped ({removed} object(s) removed)")
    return done
