"""How much the planner costs on top of the least work any correct planner must do.

One synthetic repository (built with `git fast-import`, so it takes seconds), one base commit
and two ranges from it: 5,000 and 25,000 changed images (adds, edits, renames with and without
edits, deletes) in nested folders. For each range, side by side and several times:

- floor: `git diff -M -z --name-status BASE TIP` (git's defaults, rename limit 1000) plus
  `git cat-file --batch` reading every put blob once (their ids are known from building the repository);
- ours:  `snail-images plan --json --before BASE --after TIP` (a new process each time, as in CI).

It prints the medians, the start-up cost (ours on an empty range), and the ratio of the
marginal costs (ours@25k - ours@5k) / (floor@25k - floor@5k), in which start-up cancels out.
Exact renames are paired at any size; renames with edits only while git's default rename limit
allows (snail_action.changes.RENAME_LIMIT), so at these sizes they are a delete and an add, on
both sides. The target is a ratio of at most 1.5.

Usage: python bench/plan_bench.py [--reps N] [--sizes 5000,25000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

RATIO_TARGET = 1.5
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"}


def png(seed: int, extra: bytes = b"") -> bytes:
    """A real 8x8 RGB PNG whose pixels depend on `seed`; `extra` goes into a tEXt chunk (an edit
    that keeps most bytes, so git still sees a rename with edits)."""
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(((x * 37 + y * 11 + seed * 7 + c * (seed >> 8)) & 0xFF)
                                  for x in range(8) for c in range(3)) for y in range(8))
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)))
    out.write(chunk(b"tEXt", b"Comment\0bench image " + str(seed).encode() * 6))
    out.write(chunk(b"IDAT", zlib.compress(rows, 1)))
    if extra:  # near the end, so the bytes before it stay aligned and git sees a similar file
        out.write(chunk(b"tEXt", b"Edit\0" + extra))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def path_for(i: int, kind: str = "img") -> str:
    return f"set{i % 40:02d}/part {i % 7}/{kind}_{i:06d}.png"


class Stream:
    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.mark = 0
        self.blobs: dict[int, str] = {}

    def blob(self, data: bytes) -> tuple[int, str]:
        self.mark += 1
        self.buf.write(b"blob\nmark :%d\ndata %d\n" % (self.mark, len(data)) + data + b"\n")
        self.blobs[self.mark] = blob_id(data)
        return self.mark, self.blobs[self.mark]

    def commit(self, ref: str, message: str, lines: list[str], parent: str | None = None) -> int:
        self.mark += 1
        msg = message.encode()
        self.buf.write(b"commit %s\nmark :%d\ncommitter bench <b@x> 1700000000 +0000\ndata %d\n%s\n"
                       % (ref.encode(), self.mark, len(msg), msg))
        if parent:
            self.buf.write(b"from %s\n" % parent.encode())
        self.buf.write("".join(line + "\n" for line in lines).encode())
        self.buf.write(b"\n")
        return self.mark


def build_repo(root: Path, sizes: list[int]) -> dict[int, list[str]]:
    """The repository, and for each range size the blob ids its puts must read."""
    largest = max(sizes)
    # Shares of each range: 40% adds, 30% edits, 10% exact renames, 10% renames with edits, 10% deletes.
    n_old = int(largest * 0.6)  # edited, renamed or deleted in some range
    s = Stream()
    base_lines = []
    old_data: dict[int, bytes] = {}
    for i in range(n_old + 2000):  # 2,000 files no range touches
        data = png(i)
        old_data[i] = data
        mark, _ = s.blob(data)
        base_lines.append(f"M 100644 :{mark} {path_for(i)}")
    base = s.commit("refs/heads/base", "base", base_lines)
    puts: dict[int, list[str]] = {}
    for size in sizes:
        lines: list[str] = []
        ids: list[str] = []
        k = 0
        for j in range(int(size * 0.4)):  # adds
            mark, bid = s.blob(png(1_000_000 + size * 10 + j))
            lines.append(f"M 100644 :{mark} {path_for(j, f'new{size}')}")
            ids.append(bid)
        for _ in range(int(size * 0.3)):  # edits: new content
            mark, bid = s.blob(png(2_000_000 + size * 10 + k))
            lines.append(f"M 100644 :{mark} {path_for(k)}")
            ids.append(bid)
            k += 1
        for _ in range(int(size * 0.1)):  # exact renames (R100) into another folder
            mark, bid = s.blob(old_data[k])
            lines += [f"D {path_for(k)}", f"M 100644 :{mark} moved/{path_for(k)}"]
            ids.append(bid)
            k += 1
        for _ in range(int(size * 0.1)):  # renames with a small edit (R<100)
            mark, bid = s.blob(png(k, extra=b"edited"))  # the old image plus one small chunk
            lines += [f"D {path_for(k)}", f"M 100644 :{mark} renamed/{path_for(k)}"]
            ids.append(bid)
            k += 1
        for _ in range(size - int(size * 0.4) - int(size * 0.3) - 2 * int(size * 0.1)):  # deletes
            lines.append(f"D {path_for(k)}")
            k += 1
        s.commit(f"refs/heads/r{size}", f"{size} changes", lines, parent=f":{base}")
        puts[size] = list(dict.fromkeys(ids))
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "base", str(root)], check=True, env=GIT_ENV)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=s.buf.getvalue(), check=True, env=GIT_ENV)
    subprocess.run(["git", "checkout", "-q", "-f", "base"], cwd=root, check=True, env=GIT_ENV)
    return puts


def snail_command() -> list[str]:
    script = Path(sys.executable).with_name("snail-images")
    return [str(script)] if script.exists() else [sys.executable, "-m", "snail_action"]


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes, git's included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_floor(repo: Path, tip: str, ids: list[str]) -> tuple[float, float]:
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(["git", "diff", "-M", "-z", "--name-status", "base", tip], cwd=repo,
                   env=GIT_ENV, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)  # git warns that it skipped inexact renames
    subprocess.run(["git", "cat-file", "--batch"], cwd=repo, env=GIT_ENV, input="".join(i + "\n" for i in ids).encode(),
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, children_cpu() - cpu


def time_ours(repo: Path, before: str, tip: str) -> tuple[float, float, bytes]:
    cpu = children_cpu()
    start = time.perf_counter()
    out = subprocess.run([*snail_command(), "plan", "--json", "--path", str(repo), "--before", before, "--after", tip,
                          "--on-non-image", "ignore"], env={**GIT_ENV, "GITHUB_EVENT_PATH": ""},
                         capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"snail-images plan failed ({out.returncode}): {out.stderr.decode(errors='replace')[:500]}")
    return elapsed, children_cpu() - cpu, out.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sizes", default="5000,25000")
    ap.add_argument("--keep", type=Path, default=None, help="build the repository here and keep it")
    opts = ap.parse_args()
    sizes = sorted(int(x) for x in opts.sizes.split(","))
    tmp = None
    if opts.keep:
        repo = opts.keep
    else:
        tmp = tempfile.mkdtemp(prefix="snail-plan-bench-")
        repo = Path(tmp) / "repo"
    try:
        t0 = time.perf_counter()
        puts = build_repo(repo, sizes)
        print(f"built the synthetic repository in {time.perf_counter() - t0:.1f} s ({repo})")
        import json

        for size in sizes:  # warm the caches, and check that ours plans what the floor reads
            _, _, out = time_ours(repo, "base", f"r{size}")
            plan = json.loads(out)
            changes = [op["change"] for op in plan["operations"]]
            n_put = sum(op["op"] == "put" for op in plan["operations"])
            n_r100 = sum(c == "R100" for c in changes) // 2
            n_rx = sum(c.startswith("R") and c != "R100" for c in changes) // 2
            print(f"range {size}: {len(plan['operations'])} operations, {n_put} puts "
                  f"({len(puts[size])} blobs), renames R100 {n_r100}, R<100 {n_rx}")
            time_floor(repo, f"r{size}", puts[size])
        floor: dict[int, list[tuple[float, float]]] = {s: [] for s in sizes}
        ours: dict[int, list[tuple[float, float]]] = {s: [] for s in sizes}
        empty: list[float] = []
        for _ in range(opts.reps):
            for size in sizes:
                floor[size].append(time_floor(repo, f"r{size}", puts[size]))
                ours[size].append(time_ours(repo, "base", f"r{size}")[:2])
            empty.append(time_ours(repo, "base", "base")[0])

        def med(runs: list[tuple[float, float]], k: int) -> float:
            return statistics.median(r[k] for r in runs)

        print(f"\n{'range':>8} {'floor s':>9} {'ours s':>9} {'floor cpu':>10} {'ours cpu':>9}"
              f"   (median of {opts.reps})")
        for size in sizes:
            print(f"{size:>8} {med(floor[size], 0):9.3f} {med(ours[size], 0):9.3f} "
                  f"{med(floor[size], 1):10.3f} {med(ours[size], 1):9.3f}")
        lo, hi = sizes[0], sizes[-1]
        print(f"\nstart-up cost (ours on an empty range): {statistics.median(empty):.3f} s")
        ratios = []
        for k, what in ((0, "wall"), (1, "CPU")):
            d_floor = med(floor[hi], k) - med(floor[lo], k)
            d_ours = med(ours[hi], k) - med(ours[lo], k)
            ratios.append(d_ours / d_floor if d_floor > 0 else float("inf"))
            print(f"marginal {what} cost {lo}->{hi}: floor {d_floor:.3f} s, ours {d_ours:.3f} s, "
                  f"ratio {ratios[-1]:.2f}x (target <= {RATIO_TARGET}x)")
        ratio = ratios[0]
        print(f"ratio of marginal costs: {ratio:.2f}x (target <= {RATIO_TARGET}x)")
        print("plan speed: " + ("holds" if ratio <= RATIO_TARGET else "DOES NOT HOLD"))
        return 0
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
