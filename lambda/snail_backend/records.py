"""What a registration looks like: the request the registry takes and the results and errors it gives,
the catalog items it writes for it (the head's condition, the rows), and the API's view of a head.

The algorithms that write them, keeping the catalog invariants, are registry.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .catalog import values
from .naming import IMAGE_TYPES, image_id

if TYPE_CHECKING:
    from .imaging.insert import Header

PENDING, COMPLETED, FAILED = "pending", "completed", "failed"


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
    token: str | None = None  # for large uploads: the upload's token (registers only while it is the latest)
    header: Header | None = None  # the header check's answer, passed on to the render (checked once)


@dataclass
class PutResult:
    registration: dict[str, Any] | None  # None: stale, and the path has no registration
    duplicate: bool = False
    unchanged: bool = False
    stale: bool = False


@dataclass
class DeleteResult:
    deleted: int = 0
    objects_removed: int = 0


def unchanged_head(head: dict) -> tuple[str, dict, dict]:
    """Condition: the head is still as read. Completion keeps `Gen` (so that two runs of the same
    request may both commit) but changes `State` and `Rows`; a release must see those, or it would
    miss rows written since it read the head."""
    return "Gen = :g AND #st = :st", values(g=head["Gen"], st=head["State"]), {"#st": "State"}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row(kind: str, path: str, name: str, upload_date: str, image: dict, status: str, req: PutRequest) -> dict:
    return {
        "ImageType": kind, "ImageId": image_id(kind, path, name), "RegisteredFile": path,
        "UploadDate": upload_date, "StoredKey": image["key"], "ImageSize": image["size"],
        "Resolution": f"{image['width']}x{image['height']}", "Status": status,
        "ContentHash": req.sha256, "ContentType": image.get("content_type", req.content_type),
    }


def registration(head: dict) -> dict[str, Any]:
    """The API's view of a head item."""
    out: dict[str, Any] = {"registered_file": head["Path"], "hash": head["Hash"], "status": head["State"],
                           "content_type": head.get("ContentType"), "upload_date": head.get("UploadDate"),
                           "images": {k: dict(head["Images"][k]) for k in IMAGE_TYPES if k in head.get("Images", {})}}
    if head.get("ErrorMessage"):
        out["error_message"] = head["ErrorMessage"]
    return out
