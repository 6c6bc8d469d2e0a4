"""By-path URL cost on the embedded backend: `<delivery>/lg/<path>` (the API's redirect, a catalog
read, then the object) against the object URL `<delivery>/images/lg/<name>`, side by side in one run,
each fetched N times over one keep-alive session. Prints the median of each and their ratio.

What it measures is the extra work of the redirect on this machine (one more request and one
DynamoDB read on moto); at the edge, CloudFront caches the redirect for 60 s, so most by-path hits
cost one extra round trip to the nearest edge and no origin work (docs/delivery.md).

    python bench/delivery_bench.py [--n 200]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import time
from urllib.parse import quote

import requests
from PIL import Image

from snail_action.embedded.server import EmbeddedBackend


def _png() -> bytes:
    buf = io.BytesIO()
    Image.radial_gradient("L").resize((1200, 900)).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def _median_ms(session: requests.Session, url: str, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        got = session.get(url, timeout=30)
        times.append(time.perf_counter() - start)
        assert got.status_code == 200, (url, got.status_code)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    with EmbeddedBackend(environ={}) as eb, requests.Session() as s:
        data, path = _png(), "photos/bench cat.png"
        answer = s.put(f"{eb.api_url}/images/{quote(path)}", data=data, timeout=60, headers={
            "x-api-key": eb.api_key, "Content-Type": "image/png", "filename": quote(path, safe="/"),
            "x-content-sha256": hashlib.sha256(data).hexdigest()}).json()
        lg = answer["images"]["lg"]
        _median_ms(s, lg["url"], 10)  # warm both paths
        _median_ms(s, lg["path_url"], 10)
        direct = _median_ms(s, lg["url"], n)
        by_path = _median_ms(s, lg["path_url"], n)
    print(f"object URL   (baseline) median {direct:7.2f} ms over {n} GETs")
    print(f"by-path URL  (302 + GET) median {by_path:7.2f} ms over {n} GETs")
    print(f"ratio by-path / object URL: {by_path / direct:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
