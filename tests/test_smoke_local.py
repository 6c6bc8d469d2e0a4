"""`make smoke` against `snail-images serve`: the script that checks a deployed stack after each deploy,
run here over real HTTP on loopback (its one real-AWS-only check, S3 refusing other bytes on a
signed URL, is left out with --local: moto checks no signature)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from snail_action.embedded.server import EmbeddedBackend

ROOT = Path(__file__).resolve().parent.parent


def _make(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "API_URL",
                                                              "API_KEY", "SMOKE_AUDIT", "SMOKE_ARGS")}
    return subprocess.run(["make", "--no-print-directory", "smoke", f"BIN={Path(sys.executable).parent}"],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False)


def test_make_smoke_passes_against_serve_and_never_prints_the_key() -> None:
    with EmbeddedBackend(environ={}) as eb:
        done = _make({"API_URL": eb.api_url, "API_KEY": eb.api_key, "SMOKE_ARGS": "--local",
                      "SMOKE_AUDIT": f"--endpoint-url {eb.aws_endpoint_url} --bucket {eb.bucket} --table {eb.table} "
                                     f"--region {eb.region} --grace 0"})
        left = eb.s3.list_objects_v2(Bucket=eb.bucket).get("KeyCount", 0)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in ("PUT smoke/", "small.png: completed with raw, sg, md and lg", "POST /uploads for smoke/",
                 "PUT to the presigned S3 URL", "large.png: completed with raw, sg, md and lg",
                 "GET /images lists both",
                 "large.png is 404 after the delete", "GET /sync for snail-images/smoke refs/heads/smoke/check reaches",
                 "PUT /sync moves the marker", "refused (409)", "GET /sync reads the moved marker back",
                 "the audit finds every invariant holding", "smoke: passed"):
        assert step in out, (step, out)
    assert "FAIL" not in out and eb.api_key not in out + done.stderr
    assert left == 0  # it deleted what it wrote


def test_make_smoke_without_the_url_says_what_to_set() -> None:
    done = _make({"SMOKE_AUDIT": ""})
    assert done.returncode != 0
    assert "set API_URL" in done.stderr and "API_KEY" in done.stderr
