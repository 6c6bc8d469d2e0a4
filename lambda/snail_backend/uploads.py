"""What a path's large uploads record outside its registration: the latest upload's token, and
the last refusal.

- Upload tokens (ImageType "upload", ImageId "<path>"): POST /uploads records a fresh token as the
  path's latest intent and signs it into the URL (x-amz-meta-token). The S3 event registers the
  upload only while that token is still there, and consumes it in the registration's own
  transaction; a direct PUT or a DELETE of the path removes it. So a late, duplicated or replayed
  event (S3 delivers at least once, in any order; a URL stays valid UPLOAD_URL_EXPIRES seconds)
  registers nothing once the path's intent has moved on. The one exception is a retry of the
  registration the token made (the head remembers it as `Upload`), which may still repair it.
- Refusals (ImageType "refused"): the last large upload of a path that was refused, for GET (the
  client polls it), never replaced by an older one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

from .catalog import REFUSED, UPLOAD, Catalog, Conflict, values


class Uploads:
    def __init__(self, catalog: Catalog, clock: Callable[[], float]):
        self.catalog = catalog
        self.clock = clock

    def open(self, path: str, sha256: str, issued_ms: int) -> str:
        """Record a presigned upload as the path's latest intent; returns its token."""
        token = uuid.uuid4().hex
        self.catalog.transact([self.catalog.put({"ImageType": UPLOAD, "ImageId": path, "Token": token,
                                                 "Hash": sha256.lower(), "Issued": issued_ms})])
        return token

    def is_current(self, path: str, token: str | None, head: dict | None) -> bool:
        """A direct PUT (no token) always is; an upload while its token is the path's, or when it made
        the live registration `head` (None: the path has none)."""
        if token is None:
            return True
        upload = self.catalog.get(UPLOAD, path)
        if upload is not None and upload.get("Token") == token:
            return True
        return head is not None and head.get("Upload") == token

    def consume(self, path: str, token: str | None) -> dict:
        """The transaction item that removes the path's token: this upload's own (conditioned), or
        whichever there is (a direct PUT, a DELETE)."""
        if token is None:
            return self.catalog.delete(UPLOAD, path)
        return self.catalog.delete(UPLOAD, path, "#tok = :tok", values(tok=token), {"#tok": "Token"})

    def close(self, path: str, token: str | None) -> None:
        with suppress(Conflict):  # consumed already: by this registration's earlier attempt
            self.catalog.transact([self.consume(path, token)])

    def record_refusal(self, path: str, sha256: str, code: str, message: str, issued_ms: int) -> None:
        """Remember that a large upload of `path` (announced as `sha256`) was refused, for GET."""
        now = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        item = {"ImageType": REFUSED, "ImageId": path, "Hash": sha256.lower(), "Error": code,
                "ErrorMessage": message, "Issued": issued_ms, "UploadDate": now}
        # Never let an older refusal (an out-of-order event) replace a newer one.
        with suppress(Conflict):
            self.catalog.transact([self.catalog.put(item, "attribute_not_exists(ImageId) OR Issued <= :i",
                                                    values(i=issued_ms))])

    def forget_refusal(self, path: str, issued_ms: int) -> None:
        with suppress(Conflict):  # none, or a newer one
            self.catalog.transact([self.catalog.delete(REFUSED, path, "Issued <= :i", values(i=issued_ms))])
