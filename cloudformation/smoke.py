"""`make smoke API_URL=... API_KEY=...`: put a deployed stack through its paces, after every deploy.

What only real AWS exercises (signatures, regional endpoints, the deployment, the roles) is what
this checks end to end: a small image through PUT /images, a large one through POST /uploads and
the presigned S3 URL (its S3 event), their variants, the listing, the deletes, then
`snail-images audit` on the stack's bucket and table with your AWS credentials. It writes only
under a fresh `smoke/<time>-<random>/` prefix and deletes what it wrote. Exit status 0: all passed.

Not run in CI (there is no AWS there); the tests run it against `snail-images serve`.

    API_URL, API_KEY    the stack's ApiUrl output and the key (ApiKeyValueCommand output prints it)
    SMOKE_AUDIT         the audit's options (default: --stack $(STACK_NAME) --region $(REGION))
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shlex
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECT_LIMIT = 4 * 1024 * 1024  # the action's default direct-upload limit: the large image is over it


def _png(width: int, height: int, noisy: bool) -> bytes:
    from PIL import Image

    rng = random.Random(width * height)
    if noisy:  # noise does not compress: a PNG over the direct-upload limit
        im = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        im = Image.new("RGB", (width, height), (rng.randrange(256), 90, 160))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


class Smoke:
    def __init__(self, client, out=sys.stdout, *, s3_checks_signatures: bool = True):
        self.client = client
        self.s3_checks_signatures = s3_checks_signatures
        self.out = out
        self.failures = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        self.out.write(f"  {'ok  ' if ok else 'FAIL'} {what}{'' if ok else f': {detail}'}\n")
        self.out.flush()
        self.failures += not ok
        return ok

    def wait(self, path: str, sha: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            resp = self.client.get_image(path)
            body = resp.fields
            if resp.ok and body.get("hash") == sha and body.get("status") in ("completed", "failed"):
                return body
            time.sleep(1)
        return body

    def variants(self, path: str, body: dict) -> None:
        images = body.get("images") or {}
        dims = {k: (v.get("width", 0), v.get("height", 0)) for k, v in images.items()}
        self.check(body.get("status") == "completed" and set(images) == {"raw", "sg", "md", "lg"},
                   f"{path}: completed with raw, sg, md and lg", f"{body}")
        if set(dims) == {"raw", "sg", "md", "lg"}:
            order = [max(dims[k]) for k in ("sg", "md", "lg", "raw")]
            self.check(order == sorted(order) and min(order) > 0, f"{path}: sg <= md <= lg <= raw in size", f"{dims}")

    def run(self, prefix: str) -> None:
        small_path, large_path = f"{prefix}small.png", f"{prefix}large.png"
        small, large = _png(640, 480, noisy=False), _png(1400, 1400, noisy=True)
        s_sha, l_sha = hashlib.sha256(small).hexdigest(), hashlib.sha256(large).hexdigest()
        self.out.write(f"smoke: {self.client.base_url} under {prefix}\n")

        resp = self.client.put_image(small_path, small, "image/png", s_sha)
        if self.check(resp.ok, f"PUT {small_path} ({len(small)} bytes)", f"HTTP {resp.status} {resp.error_message}"):
            self.variants(small_path, resp.fields if resp.fields.get("status") == "completed"
                          else self.wait(small_path, s_sha))

        up = self.client.create_upload(large_path, "image/png", len(large), l_sha)
        if self.check(up.ok and isinstance(up.fields.get("url"), str), f"POST /uploads for {large_path} "
                      f"({len(large)} bytes, over {DIRECT_LIMIT})", f"HTTP {up.status} {up.error_message}"):
            fields = up.fields
            sent = self.client.upload_presigned(fields["url"], fields.get("method", "PUT"), fields["headers"], large)
            if self.check(sent.ok, "PUT to the presigned S3 URL", f"HTTP {sent.status} {sent.error_message}"):
                self.variants(large_path, self.wait(large_path, l_sha))
            if self.s3_checks_signatures:
                wrong = self.client.upload_presigned(fields["url"], "PUT", fields["headers"], large[:-1] + b"\0")
                self.check(not wrong.ok, "S3 refuses other bytes on the same URL (signed size and SHA-256)",
                           f"HTTP {wrong.status}")

        listed = {f["registered_file"] for f in self.client.list_images()}
        self.check({small_path, large_path} <= listed, "GET /images lists both", f"missing "
                   f"{sorted({small_path, large_path} - listed)}")
        for path in (small_path, large_path):
            gone = self.client.delete_image(path)
            self.check(gone.ok and gone.fields.get("deleted") == 4, f"DELETE {path}",
                       f"HTTP {gone.status} {gone.fields}")
            self.check(self.client.get_image(path).status == 404, f"GET {path} is 404 after the delete")
        listed = {f["registered_file"] for f in self.client.list_images()}
        self.check(not {small_path, large_path} & listed, "GET /images lists neither any more")
        self.marker()

    def marker(self) -> None:
        """The sync marker's routes, with '/' in both the repository and the ref (percent-encoded as %2F):
        what the deployed API Gateway does with an encoded slash inside a {param} is seen only here."""
        repository, ref = "snail-images/smoke", "refs/heads/smoke/check"
        got = self.client.get_marker(repository, ref)
        none_yet = got.status == 404 and got.fields.get("error") == "not_found"
        if not self.check(got.ok or none_yet, f"GET /sync for {repository} {ref} reaches the backend (slashes "
                          "as %2F)", f"HTTP {got.status} {got.error_message}"):
            return
        current = None if none_yet else got.fields.get("commit")
        new = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        moved = self.client.move_marker(repository, ref, new, current)
        self.check(moved.ok and moved.fields.get("commit") == new, "PUT /sync moves the marker",
                   f"HTTP {moved.status} {moved.fields}")
        stale = self.client.move_marker(repository, ref, uuid.uuid4().hex + uuid.uuid4().hex[:8], current)
        self.check(stale.status == 409, "PUT /sync from a commit that is no longer the marker is refused (409)",
                   f"HTTP {stale.status}")
        again = self.client.get_marker(repository, ref)
        self.check(again.ok and again.fields.get("commit") == new, "GET /sync reads the moved marker back",
                   f"HTTP {again.status} {again.fields}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="smoke-test a deployed snail-images stack")
    parser.add_argument("--audit", default=os.environ.get("SMOKE_AUDIT", ""),
                        help="options for `snail-images audit` (empty: skip the audit)")
    parser.add_argument("--local", action="store_true",
                        help="the backend is `snail-images serve`, whose S3 (moto) checks no signature or checksum")
    args = parser.parse_args(argv)
    api_url, api_key = os.environ.get("API_URL", ""), os.environ.get("API_KEY", "")
    if not api_url or not api_key:
        print("smoke: set API_URL (the stack's ApiUrl output) and API_KEY: make smoke API_URL=... API_KEY=...",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from snail_action.client import ApiClient

    prefix = f"smoke/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:6]}/"
    with ApiClient(api_url, api_key=api_key) as client:
        smoke = Smoke(client, s3_checks_signatures=not args.local)
        smoke.run(prefix)
    if args.audit:
        from snail_action.cli import main as cli

        print(f"smoke: snail-images audit {args.audit}", flush=True)
        smoke.check(cli(["audit", *shlex.split(args.audit)]) == 0, "the audit finds every invariant holding")
    print(f"smoke: {'passed' if not smoke.failures else f'{smoke.failures} check(s) FAILED'}")
    return 1 if smoke.failures else 0


if __name__ == "__main__":
    sys.exit(main())
