"""Sync throughput: the seed's approach (one `curl` per file, one after the other) against
`snail-images sync` with its default settings, over the same files, side by side in one run.

A local HTTP server stands in for a backend across a network: it answers each request after
50 ms (the round trip plus the work a real API does) and discards the body. Both sides send the
same 500 small PNGs from a fresh git repository; the ratio of the wall times is printed.

    python bench/sync_bench.py [--files 500] [--delay-ms 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

API_KEY = "bench-key"


class SlowServer:
    """Answers every request after `delay` seconds; counts the requests per method."""

    def __init__(self, delay: float):
        self.counts: dict[str, int] = {}
        lock = threading.Lock()
        counts = self.counts

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway offers

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body leave in two writes; with Nagle on, the second waits for the
                # client's delayed ACK (40 ms) on a kept-alive connection. Real gateways do not do that.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                remaining = length
                while remaining:  # read and discard the body
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                with lock:
                    counts[self.command] = counts.get(self.command, 0) + 1
                time.sleep(delay)
                body = json.dumps({"registered_file": self.path, "hash": self.headers.get("x-content-sha256"),
                                   "status": "completed", "unchanged": False, "duplicate": False,
                                   "images": {"raw": {"key": "images/raw/x.png"}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_GET = do_DELETE = do_POST = _answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # the default 5 would drop concurrent connects into 1 s SYN retries

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SlowServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        self.counts.clear()


def make_repo(root: Path, files: int) -> list[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    paths = []
    for i in range(files):
        rel = f"photos/{i // 100:02d}/img_{i:04d}.png"
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        im = Image.new("RGB", (32, 32), ((i * 7) % 256, (i * 13) % 256, (i * 29) % 256))
        im.putpixel((i % 32, (i // 32) % 32), (255, 255, 255))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        target.write_bytes(buf.getvalue())
        paths.append(rel)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "images"], cwd=root, check=True, env=env)
    return paths


def seed_approach(repo: Path, paths: list[str], api_url: str) -> float:
    """The seed's workflow: one curl process per file, sequentially, with the seed's headers."""
    start = time.perf_counter()
    for rel in paths:
        subprocess.run(["curl", "-s", "-o", os.devnull, "-X", "PUT", f"{api_url}/{rel}",
                        "-H", "Content-Type: image/png", "-H", f"x-api-key: {API_KEY}",
                        "-H", f"filename: {rel}", "--data-binary", f"@{rel}"],
                       cwd=repo, check=True)
    return time.perf_counter() - start


def ours(repo: Path, api_url: str) -> tuple[float, subprocess.CompletedProcess]:
    exe = shutil.which("snail-images", path=str(Path(sys.executable).parent)) or "snail-images"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SNAIL_"))}
    env["SNAIL_API_KEY"] = API_KEY
    start = time.perf_counter()
    proc = subprocess.run([exe, "sync", "--path", str(repo), "--api-url", api_url, "--all"],
                          env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--delay-ms", type=float, default=50.0)
    args = ap.parse_args()
    if not shutil.which("curl"):
        print("curl is needed for the baseline", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, SlowServer(args.delay_ms / 1000) as server:
        repo = Path(tmp) / "images"
        paths = make_repo(repo, args.files)
        print(f"{args.files} PNGs ({sum((repo / p).stat().st_size for p in paths) // 1024} KiB), "
              f"server answers after {args.delay_ms:.0f} ms")

        t_ours, proc = ours(repo, server.url)
        ours_requests = dict(server.counts)
        server.reset()
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            print("snail-images sync failed", file=sys.stderr)
            return 1
        t_seed = seed_approach(repo, paths, server.url)
        seed_requests = dict(server.counts)

    print(f"{'approach':<44} {'seconds':>8} {'files/s':>8}  requests")
    print(f"{'seed: one curl per file, sequential':<44} {t_seed:8.2f} {args.files / t_seed:8.1f}  {seed_requests}")
    print(f"{'snail-images sync (defaults: 16 at a time)':<44} {t_ours:8.2f} {args.files / t_ours:8.1f}  "
          f"{ours_requests}")
    ratio = t_seed / t_ours
    print(f"ratio seed/ours: {ratio:.1f}x (aim: at least 10x)")
    print(f"last line of sync: {proc.stdout.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
