"""The embedded backend stays flat: PUT time and memory of `snail-images serve` as it fills up.

One `snail-images serve` process (the real one: HTTP gateway, handlers, moto's S3 and DynamoDB);
N distinct one-pixel PNGs registered one after the other with PUT /images/{path}, each answered 200
with status `completed`. It prints the median PUT time of images 10-29 and of the last 20, their
ratio (target <= 1.5x: the 10,000th PUT as fast as the 10th), and the server's resident memory
(VmRSS) and peak (VmHWM) from /proc (target: under 1 GB at 10,000).

Before the fix in snail_action/embedded/moto_txn.py, moto copied the whole table per transaction
item: a PUT took 0.15 s at first and 0.9 s after 300, and the process was killed at about 700.

    python bench/serve_bench.py            # 1,000 images: `make bench`
    python bench/serve_bench.py --full     # 10,000 images
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

RSS_TARGET_MB = 1024
RATIO_TARGET = 1.5


def png(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (i & 0xFF, (i >> 8) & 0xFF, (i >> 16) & 0xFF)).save(out, "PNG")
    return out.getvalue()


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("snail-images")
    return [str(script)] if script.exists() else [sys.executable, "-m", "snail_action"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="10,000 images (the issue's figure)")
    opts = ap.parse_args()
    n = 10_000 if opts.full else opts.images
    if n < 60:
        sys.exit("--images must be at least 60")
    with tempfile.TemporaryDirectory(prefix="snail-serve-bench-") as tmp:
        ready = Path(tmp) / "ready.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VARIANT_", "KEY_SCHEME"))}
        proc = subprocess.Popen([*serve_command(), "serve", "--ready-file", str(ready)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            line = proc.stdout.readline() if proc.stdout else b""
            if not line:
                sys.exit("snail-images serve did not start")
            info = json.loads(line)
            session = requests.Session()
            session.headers["x-api-key"] = info["api_key"]
            times: list[float] = []
            checkpoints: list[tuple[int, float, float, float]] = []
            print(f"{'images':>8} {'PUT ms (last 20)':>17} {'RSS MB':>8} {'peak MB':>8}", flush=True)
            t_all = time.perf_counter()
            for i in range(n):
                data = png(i)
                path = f"set{i % 50:02d}/img{i:06d}.png"
                start = time.perf_counter()
                r = session.put(f"{info['api_url']}/images/{path}", data=data, timeout=60, headers={
                    "Content-Type": "image/png", "filename": path,
                    "x-content-sha256": hashlib.sha256(data).hexdigest()})
                times.append(time.perf_counter() - start)
                if r.status_code != 200 or r.json().get("status") != "completed":
                    sys.exit(f"PUT {path}: {r.status_code} {r.text[:300]}")
                if (i + 1) % max(n // 10, 1) == 0 or i + 1 == n:
                    rss, hwm = memory_mb(proc.pid)
                    recent = statistics.median(times[-20:]) * 1000
                    checkpoints.append((i + 1, recent, rss, hwm))
                    print(f"{i + 1:>8} {recent:17.1f} {rss:8.0f} {hwm:8.0f}", flush=True)
            total = time.perf_counter() - t_all
            listed = session.get(f"{info['api_url']}/images", timeout=60)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    early = statistics.median(times[9:29])
    late = statistics.median(times[-20:])
    ratio = late / early
    peak = checkpoints[-1][3]
    print(f"\n{n} registrations in {total:.1f} s; GET /images answered {listed.status_code}")
    print(f"PUT median, images 10-29: {early * 1000:.1f} ms; last 20: {late * 1000:.1f} ms")
    print(f"ratio last/10th PUT: {ratio:.2f}x (target <= {RATIO_TARGET}x)")
    print(f"server peak memory at {n}: {peak:.0f} MB (target < {RSS_TARGET_MB} MB at 10,000)")
    ok = ratio <= RATIO_TARGET and peak < RSS_TARGET_MB
    print("serve flatness: " + ("holds" if ok else "DOES NOT HOLD"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
