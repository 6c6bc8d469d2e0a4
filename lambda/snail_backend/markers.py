"""Sync markers: per repository and ref, the commit whose tree the backend fully holds.

An item type of its own in the catalog table: ImageType "sync", ImageId "<repository>/<ref>" with
both parts percent-encoded (so a `/` inside either cannot make two markers share an id). It carries
no RegisteredFile/Status attributes, so it never enters the GSI, and image rows keep their meaning.

A move is conditional: from the exact commit the client read (or from no marker at all) to the new
one, in one DynamoDB condition expression. A client that lost the race gets 409 with the marker
as it now is, and re-plans from there; the backend never decides which commit is newer (it has no
git history), the condition makes sure a move starts from what the mover saw.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from .catalog import Catalog, Conflict, values
from .http import HttpError

SYNC = "sync"
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
MAX_NAME_BYTES = 400  # a repository or a ref; two of them, encoded, stay within the 1024-byte sort key


def marker_id(repository: str, ref: str) -> str:
    return f"{quote(repository, safe='')}/{quote(ref, safe='')}"


def _name(value: str | None, what: str) -> str:
    if not value or "\x00" in value or not value.isprintable():
        raise HttpError(400, "bad_request", f"the {what} is empty or holds control characters")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise HttpError(400, "bad_request", f"the {what} is not valid UTF-8") from None
    if size > MAX_NAME_BYTES:
        raise HttpError(400, "bad_request", f"the {what} is {size} bytes long, at most {MAX_NAME_BYTES} are taken")
    return value


def commit_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _COMMIT.match(value):
        raise HttpError(400, "bad_request", f"{what} must be a full commit id (40 or 64 lower-case hex digits)")
    return value


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {"repository": item["Repository"], "ref": item["Ref"], "commit": item["Commit"],
            "updated_at": item.get("UpdatedAt"), "moves": item.get("Moves", 0)}


class Markers:
    def __init__(self, catalog: Catalog, clock):
        self.catalog = catalog
        self.clock = clock

    def get(self, repository: str | None, ref: str | None) -> dict[str, Any]:
        repository, ref = _name(repository, "repository"), _name(ref, "ref")
        item = self.catalog.get(SYNC, marker_id(repository, ref))
        if item is None:
            raise HttpError(404, "not_found", f"no sync marker for {repository} {ref}: the next sync sets it")
        return public(item)

    def move(self, repository: str | None, ref: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Set the marker to body["commit"] if it is still body["expected"] (null: if there is none)."""
        repository, ref = _name(repository, "repository"), _name(ref, "ref")
        new = commit_id(body.get("commit"), "commit")
        expected = body.get("expected")
        if expected is not None:
            expected = commit_id(expected, "expected")
        key = marker_id(repository, ref)
        item = {"ImageType": SYNC, "ImageId": key, "Repository": repository, "Ref": ref, "Commit": new,
                "UpdatedAt": int(self.clock() * 1000)}
        if expected is None:
            op = self.catalog.put(dict(item, Moves=1), condition="attribute_not_exists(ImageId)")
        else:
            op = self.catalog.update(
                SYNC, key, "SET #c = :new, UpdatedAt = :at, Moves = if_not_exists(Moves, :zero) + :one",
                condition="#c = :expected", names={"#c": "Commit"},
                vals=values(new=new, at=item["UpdatedAt"], expected=expected, zero=0, one=1))
        try:
            self.catalog.transact([op])
        except Conflict:
            now = self.catalog.get(SYNC, key)
            raise HttpError(409, "marker_moved",
                            f"the sync marker of {repository} {ref} is at "
                            f"{now['Commit'] if now else 'nothing'}, not {expected or 'nothing'}: re-plan from it",
                            marker=public(now) if now else None) from None
        return public(self.catalog.get(SYNC, key) or item)
