"""The S3 side: stored objects, and the incoming uploads of large files. Client injected."""

from __future__ import annotations

import base64

from botocore.exceptions import ClientError

from .formats import variant_names
from .naming import IMAGE_TYPES, object_key

# Every stored name identifies its bytes, under both key schemes: `hash` names are the content's
# digest; `timestamp` names are the upload's second plus 8 hex digits of the digest, and a name is only
# ever written again with the same content. So caches may keep an object forever (docs/delivery.md).
IMMUTABLE = "public, max-age=31536000, immutable"


class Storage:
    def __init__(self, s3, bucket: str):
        self.s3 = s3
        self.bucket = bucket
        self.cache_control = IMMUTABLE

    def put(self, image_type: str, name: str, data: bytes, content_type: str, *, sha256: str,
            width: int, height: int) -> str:
        key = object_key(image_type, name)
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, CacheControl=self.cache_control,
            Metadata={"sha256": sha256, "width": str(width), "height": str(height)},
        )
        return key

    def remove_all(self, name: str) -> int:
        """Delete the four objects of a stored name (a variant's name may carry its own extension,
        formats.variant_name); returns how many existed. Deleting a missing key is not an error in S3,
        so a repeated collection is harmless."""
        removed = 0
        for image_type in IMAGE_TYPES:
            for stored in (name,) if image_type == "raw" else variant_names(name):
                key = object_key(image_type, stored)
                if self.exists(key):
                    removed += 1
                self.s3.delete_object(Bucket=self.bucket, Key=key)
        return removed

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def get_incoming(self, key: str, max_bytes: int) -> tuple[bytes | None, dict[str, str], int] | None:
        """Body, user metadata and size of an incoming upload; None when it is gone (already handled).
        The body is None when the object is over `max_bytes`: a presigned PUT does not bound the
        size, and reading such a body would only exhaust the function's memory."""
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        meta = {k.lower(): v for k, v in obj.get("Metadata", {}).items()}
        size = int(obj.get("ContentLength", 0))
        if size > max_bytes:
            obj["Body"].close()
            return None, meta, size
        return obj["Body"].read(), meta, size

    def delete_incoming(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def presign_incoming(self, key: str, content_type: str, metadata: dict[str, str], expires: int, *,
                         size: int, sha256: str) -> dict:
        """A presigned PUT that S3 itself bounds: the size (Content-Length) and the content
        (x-amz-checksum-sha256) are signed into it, so S3 refuses other bytes (403 for another
        length, BadDigest for other content). The S3 event handler checks both again."""
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        url = self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type, "Metadata": metadata,
                    "ContentLength": size, "ChecksumSHA256": checksum},
            ExpiresIn=expires,
            HttpMethod="PUT",
        )
        headers = {"Content-Type": content_type, "Content-Length": str(size), "x-amz-checksum-sha256": checksum}
        headers.update({f"x-amz-meta-{k}": v for k, v in metadata.items()})
        return {"url": url, "method": "PUT", "headers": headers}

def _missing(exc: ClientError) -> bool:
    # GET answers NoSuchKey; HEAD has no body, so botocore reports its bare status (404 / NotFound).
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")
