"""Lambda memory size by cost: the insert path's time for a 24 MP JPEG at the CPU share of each size.

Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB, so 1,024 MB gets
1024/1769 = 0.58 of one (spread over two visible cores), and above 1,769 MB a second thread can help.
Each size's share is simulated with a Linux CPU quota: a cgroup (v1 `cpu.cfs_quota_us` or v2
`cpu.max`) with quota = share x period over both cores, holding a child process that runs the
insert path's CPU work per image: the body's SHA-256 and `insert_variants` (imaging/insert.py: the
header check, one decode, the sg/md/lg variants, their encoding), as the insert handler does. S3 and
DynamoDB calls are not included: they wait on the network, which is billed at the memory price too, so
they only widen the gap in favour of the smaller size.

Cost per 1,000 photos = billed seconds x memory in GB x the x86 price per GB-second, plus the
request price. Prices: AWS Lambda x86, us-east-1, first tier (6 billion GB-s a month):
$0.0000166667 per GB-second and $0.20 per million requests (aws.amazon.com/lambda/pricing, as
read on 2026-12-01). Without cgroups (not root, or no CPU controller) it says so and estimates from
the unthrottled CPU time instead (time = CPU seconds / share, for a share up to one vCPU).

    python bench/lambda_cost_bench.py [--reps 6] [--sizes 1024,1769,3008]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PRICE_GB_S = 0.0000166667
PRICE_REQUEST = 0.20 / 1_000_000
FULL_VCPU_MB = 1769
TIE = 0.10  # cost differences within 10% are within this machine's run-to-run noise
PERIOD_US = 100_000
ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "cloudformation" / "template.yaml"


def photo(path: Path) -> None:
    """A 6000x4000 (24 MP) camera-like JPEG: smooth gradients plus sensor noise, quality 92."""
    from PIL import Image, ImageFilter

    base = Image.linear_gradient("L").resize((6000, 4000))
    noise = Image.effect_noise((6000, 4000), 24).filter(ImageFilter.GaussianBlur(1))
    im = Image.merge("RGB", (base, noise, Image.blend(base.transpose(Image.Transpose.ROTATE_180), noise, 0.4)))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92)
    path.write_bytes(out.getvalue())


WORKER = r"""
import hashlib, json, resource, sys, time
from snail_backend.config import DEFAULT_VARIANT_SIZES, parse_sizes
from snail_backend.imaging.insert import insert_variants
data = open(sys.argv[1], "rb").read()
reps = int(sys.argv[2])
sizes = parse_sizes(DEFAULT_VARIANT_SIZES)
times, cpu = [], []
for _ in range(reps + 1):  # the first is a warm-up (imports, first allocations), as a warm Lambda has had
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    rendition = insert_variants(data, "photo.jpg", sizes).rendition
    times.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times": times[1:], "cpu": cpu[1:], "peak_mb": peak, "variants": sorted(rendition.variants)}))
"""


class Quota:
    """A cgroup with a CPU quota; `wrap(cmd)` runs cmd inside it. None when cgroups are not usable."""

    def __init__(self, share: float):
        self.share = share
        self.path: Path | None = None
        v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
        name = f"snail-lambda-bench-{os.getpid()}-{int(share * 1000)}"
        quota = max(1000, int(share * PERIOD_US))
        try:
            if (v1 / "cpu.cfs_quota_us").exists():
                self.path = v1 / name
                self.path.mkdir()
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
                # The quota caps the group; the top weight keeps the machine's other work from starving it
                # below that cap (a new group competes as one task against every task outside it).
                (self.path / "cpu.shares").write_text("262144")
                self.tasks = self.path / "tasks"
            elif "cpu" in (v2 / "cgroup.subtree_control").read_text().split():
                self.path = v2 / name
                self.path.mkdir()
                (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
                (self.path / "cpu.weight").write_text("10000")
                self.tasks = self.path / "cgroup.procs"
        except OSError:
            self.close()
            self.path = None

    def run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        tasks = self.tasks

        def enter() -> None:  # in the child, before exec: join the cgroup
            tasks.write_text(str(os.getpid()))

        return subprocess.run(cmd, capture_output=True, text=True, preexec_fn=enter, check=False)  # noqa: PLW1509

    def close(self) -> None:
        if self.path is not None and self.path.exists():
            try:
                self.path.rmdir()
            except OSError:
                pass


def template_memory() -> int:
    text = TEMPLATE.read_text()
    m = re.search(r"InsertFunction:.*?MemorySize:\s*(\S+)", text, re.S)
    value = m.group(1) if m else "?"
    if value.startswith("!Ref"):
        ref = value.split()[-1]
        d = re.search(rf"^  {ref}:\n(?:    .*\n)*?    Default:\s*(\d+)", text, re.M)
        value = d.group(1) if d else "?"
    return int(value) if value.isdigit() else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--sizes", default="1024,1769,3008")
    opts = ap.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    env_cmd = [sys.executable, "-c", WORKER]
    rows = []
    with tempfile.TemporaryDirectory(prefix="snail-lambda-bench-") as tmp:
        jpeg = Path(tmp) / "photo.jpg"
        photo(jpeg)
        print(f"24 MP JPEG: 6000x4000, {jpeg.stat().st_size / 1e6:.1f} MB; {opts.reps} runs per size")
        method = None
        results: dict[int, list[dict]] = {mb: [] for mb in sizes}
        for _ in range(opts.reps):  # round robin, so the machine's other load falls on every size alike
            for mb in sizes:
                quota = Quota(mb / FULL_VCPU_MB)
                cmd = [*env_cmd, str(jpeg), "1"]
                try:
                    if quota.path is not None:
                        method = f"cgroup CPU quota ({quota.path.parent}), both cores visible, as Lambda shows"
                        proc = quota.run(cmd)
                    else:
                        method = "no cgroups: unthrottled CPU time / share (one vCPU at most)"
                        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                finally:
                    quota.close()
                if proc.returncode != 0:
                    sys.exit(f"worker failed: {proc.stderr[-2000:]}")
                results[mb].append(json.loads(proc.stdout.splitlines()[-1]))
        for mb in sizes:
            share = mb / FULL_VCPU_MB
            runs = results[mb]
            cpu = statistics.median(t for r in runs for t in r["cpu"])
            seconds = statistics.median(t for r in runs for t in r["times"])  # what a typical request is billed
            if method and method.startswith("no cgroups"):
                seconds = cpu / min(share, 1.0)
            cost = 1000 * (seconds * mb / 1024 * PRICE_GB_S + PRICE_REQUEST)
            rows.append((mb, share, seconds, cpu, max(r["peak_mb"] for r in runs), cost))
    print(f"share simulated with: {method}")
    print(f"price: x86 ${PRICE_GB_S}/GB-s + ${PRICE_REQUEST * 1e6:.2f}/1M requests (us-east-1, read 2026-12-01)\n")
    print(f"{'memory MB':>10} {'vCPU share':>10} {'s/image':>8} {'CPU s':>6} {'CPU s/share':>11} {'peak MB':>8} "
          f"{'$ per 1,000':>12}")
    for mb, share, seconds, cpu, peak, cost in rows:
        print(f"{mb:>10} {share:10.2f} {seconds:8.2f} {cpu:6.2f} {cpu / min(share, 1.0):11.2f} {peak:8.0f} "
              f"{cost:12.4f}")
    # Within TIE of the cheapest, the smaller size wins: CPU-bound work costs the same at any size up to
    # one vCPU (time x memory is constant), and the S3/DynamoDB waits left out here cost less per second there.
    lowest = min(r[5] for r in rows)
    cheapest = min((r for r in rows if r[5] <= lowest * (1 + TIE)), key=lambda r: r[0])
    default = template_memory()
    by_mb = {r[0]: r for r in rows}
    if 1024 in by_mb and 1769 in by_mb:
        print(f"\ncost ratio 1769 MB / 1024 MB: {by_mb[1769][5] / by_mb[1024][5]:.2f}x "
              f"(above 1 favours 1024 MB; within {TIE:.0%} of each other is a tie, which the smaller size wins)")
    print(f"cheapest: {cheapest[0]} MB; the template's InsertFunction default: {default} MB")
    print("lambda size by cost: " + ("holds" if default == cheapest[0] else "DOES NOT HOLD"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
