"""The insert path, whole, against the libvips cascade and naive Pillow: time, peak memory, PSNR.

Run: `.venv/bin/python bench/variants_bench.py` (or `make bench`, which installs pyvips). It makes
photo-like JPEGs of 24, 12 and 2 MP (and a 2 MP PNG, for information) in code, then times, per image:

- ours:  `insert_variants` (imaging/insert.py), the function the backend's insert handler and
         `snail-images variants` call: header check, one decode, resize, encode of sg/md/lg;
- vips:  the libvips cascade: `thumbnail_buffer` to 1600, then 800 and 320 from it, each encoded
         (JPEG at our quality and 4:2:0 subsampling, PNG at our zlib level, metadata stripped);
- naive: naive Pillow: a full decode, then `copy().thumbnail()` per size, each encoded alike.

Each contender runs in its own subprocess (one untimed warm-up run first: a Lambda container or a
`snail-images variants` process pays the imports once, not per image), and the contenders take
turns, round after round, so a burst of load elsewhere on the machine hits them all alike. Every
run records wall time and CPU time (`time.process_time`: all threads of the process, so libvips'
worker threads count). On a shared machine CPU time is the stable measure (wall time there favours
the contender with more threads: the scheduler shares the cores per thread); on Lambda at up to
1769 MB (at most one vCPU) the two coincide. Ratios are of medians: above 1 means ours is faster.

Peak memory: each contender once on the 24 MP JPEG in a fresh process: the growth of the peak
resident set (VmHWM, which sees libjpeg's and libvips' C allocations, unlike tracemalloc) over the
baseline after imports and reading the file. PSNR: each of our variants against a full-decode
LANCZOS resize of the original to the same size (the package's `psnr`), before encoding (the
resize's own quality, the target) and after (what is stored; libvips' stored variants alongside).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from PIL import Image  # noqa: E402
from resize_bench import high_water_mb, photo_like  # noqa: E402

from snail_backend.imaging import decode, make_variant_images, psnr  # noqa: E402
from snail_backend.imaging.encode import PNG_COMPRESS_LEVEL  # noqa: E402

SIZES = {"sg": 320, "md": 800, "lg": 1600}
JPEG_QUALITY = 90  # the originals'; our variants keep the estimated quality, 90
CASES = [  # name, size, format; the targets hold for the JPEGs
    ("24MP JPEG", (6000, 4000), "JPEG"),
    ("12MP JPEG", (4000, 3000), "JPEG"),
    ("2MP JPEG", (1732, 1155), "JPEG"),
    ("2MP PNG", (1732, 1155), "PNG"),
]
CONTENDERS = ("ours", "vips", "naive")
TARGET_VS_VIPS = 1.0
TARGET_VS_NAIVE = 2.5
TARGET_PEAK_MB = 100.0
TARGET_PSNR = 40.0
ISSUE_MIX = {"24MP JPEG": 4, "12MP JPEG": 2}  # the push issue 12 measured: four 24 MP and two 12 MP JPEGs


def make_files(folder: Path) -> dict[str, Path]:
    files = {}
    for name, size, fmt in CASES:
        path = folder / (name.replace(" ", "_") + (".jpg" if fmt == "JPEG" else ".png"))
        if not path.exists():
            options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {"compress_level": PNG_COMPRESS_LEVEL}
            photo_like(size, "RGB").save(path, fmt, **options)
        files[name] = path
    return files


# ----------------------------------------------------------------------------- contenders
def run_ours(data: bytes, filename: str) -> dict[str, bytes]:
    from snail_backend.imaging.insert import insert_variants

    return {k: v.data for k, v in insert_variants(data, filename, SIZES).rendition.variants.items()}


def run_vips(data: bytes, filename: str) -> dict[str, bytes]:
    import pyvips

    if filename.endswith(".png"):
        def save(im: pyvips.Image) -> bytes:
            return im.pngsave_buffer(compression=PNG_COMPRESS_LEVEL, keep="none")
    else:
        def save(im: pyvips.Image) -> bytes:
            return im.jpegsave_buffer(Q=JPEG_QUALITY, subsample_mode="on", keep="none")
    lg = pyvips.Image.thumbnail_buffer(data, SIZES["lg"]).copy_memory()
    return {"lg": save(lg), "md": save(lg.thumbnail_image(SIZES["md"])), "sg": save(lg.thumbnail_image(SIZES["sg"]))}


def run_naive(data: bytes, filename: str) -> dict[str, bytes]:
    im = Image.open(io.BytesIO(data))
    im.load()
    fmt = im.format or "PNG"
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {"compress_level": PNG_COMPRESS_LEVEL}
    out = {}
    for kind, side in SIZES.items():
        copy = im.copy()
        copy.thumbnail((side, side))
        buf = io.BytesIO()
        copy.save(buf, fmt, **options)
        out[kind] = buf.getvalue()
    return out


RUNNERS = {"ours": run_ours, "vips": run_vips, "naive": run_naive}


def worker(contender: str, path: str, out_dir: str, repeats: int) -> None:
    if contender == "vips":
        import pyvips  # noqa: F401 -- loaded before the baseline
    import snail_backend.imaging.insert  # noqa: F401
    data = Path(path).read_bytes()
    runner = RUNNERS[contender]
    if repeats > 1:  # timing: one untimed run first (plugin imports, thread pools, libvips' operation cache)
        runner(data, Path(path).name)
    baseline = high_water_mb()  # with repeats == 1 (the memory run) the process is fresh: nothing warmed up
    walls, cpus, result = [], [], {}
    for _ in range(repeats):
        result = {}
        c0, t0 = time.process_time(), time.perf_counter()
        result = runner(data, Path(path).name)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    peak = high_water_mb() - baseline
    saved = {}
    for kind, blob in result.items():
        target = Path(out_dir) / f"{contender}-{kind}{Path(path).suffix}"
        target.write_bytes(blob)
        saved[kind] = str(target)
    print(json.dumps({"wall": walls, "cpu": cpus, "peak_mb": peak, "saved": saved}))


def run_worker(contender: str, path: Path, out_dir: Path, repeats: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", contender, str(path), str(out_dir), str(repeats)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{contender} on {path.name} failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(path: Path, out_dir: Path, rounds: int, repeats: int) -> dict[str, dict]:
    merged: dict[str, dict] = {c: {"wall": [], "cpu": []} for c in CONTENDERS}
    for _ in range(rounds):
        for contender in CONTENDERS:
            r = run_worker(contender, path, out_dir, repeats)
            merged[contender]["wall"] += r["wall"]
            merged[contender]["cpu"] += r["cpu"]
            merged[contender]["saved"] = r["saved"]
    for m in merged.values():
        m["wall_med"], m["cpu_med"] = statistics.median(m["wall"]), statistics.median(m["cpu"])
    return merged


# ----------------------------------------------------------------------------- quality
def quality(original: Path, saved: dict[str, dict[str, str]]) -> dict[str, dict[str, float]]:
    """PSNR per variant against a full-decode LANCZOS resize: ours before encoding, ours and vips stored."""
    full = Image.open(original)
    full.load()
    data = original.read_bytes()
    im, _, hints = decode(data, max(SIZES.values()))
    pixels = make_variant_images(im, SIZES, hints["orientation"], hints["source_size"])  # what ours encodes
    refs: dict[tuple[int, int], Image.Image] = {}

    def score(got: Image.Image) -> float:
        ref = refs.setdefault(got.size, full.resize(got.size, Image.Resampling.LANCZOS))
        return psnr(got, ref)

    out = {"ours pixels": {k: score(v) for k, v in pixels.items()}}
    for contender in ("ours", "vips"):
        out[f"{contender} stored"] = {k: score(Image.open(p)) for k, p in saved[contender].items()}
    return out


# ----------------------------------------------------------------------------- report
def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=4, metavar=("CONTENDER", "IMAGE", "OUT", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--images", type=Path, default=None, help="keep generated images here (default: temp dir)")
    parser.add_argument("--rounds", type=int, default=5, help="turns each contender takes (default 5)")
    parser.add_argument("--one-core", action="store_true",
                        help="pin every contender to one core, as Lambda gives up to 1769 MB (at most one vCPU)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per turn, in one process (default 2, min 2)")
    args = parser.parse_args()
    args.repeats = max(2, args.repeats)
    if args.worker:
        contender, path, out_dir, repeats = args.worker
        worker(contender, path, out_dir, int(repeats))
        return 0
    if args.one_core:  # the workers inherit the affinity: libvips' threads and ours share one core
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.images or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("generating test images ...", flush=True)
        files = make_files(folder)
        print(f"cpu: {len(os.sched_getaffinity(0))} of {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}; sizes {SIZES}; median of {args.rounds} turns x {args.repeats} runs "
              "per contender, turns interleaved; ratio = theirs / ours "
              "(above 1: ours is faster)\n")
        medians: dict[str, dict[str, dict]] = {}
        for name, path in files.items():
            out_dir = Path(tmp) / name.replace(" ", "_")
            out_dir.mkdir(exist_ok=True)
            results = medians[name] = measure(path, out_dir, args.rounds, args.repeats)
            w, h = Image.open(path).size
            print(f"== {name} ({w}x{h}, {path.stat().st_size / 1e6:.1f} MB)")
            print(f"   {'contender':<8} {'cpu ms':>7} {'wall ms':>8}   {'cpu ratio':>9} {'wall ratio':>10}")
            ours = results["ours"]
            for contender, r in results.items():
                print(f"   {contender:<8} {r['cpu_med'] * 1000:>7.0f} {r['wall_med'] * 1000:>8.0f}   "
                      f"{r['cpu_med'] / ours['cpu_med']:>8.2f}x {r['wall_med'] / ours['wall_med']:>9.2f}x")
            target = name.endswith("JPEG")
            for other, goal in (("vips", TARGET_VS_VIPS), ("naive", TARGET_VS_NAIVE)):
                cpu = results[other]["cpu_med"] / ours["cpu_med"]
                wall = results[other]["wall_med"] / ours["wall_med"]
                mark = f"target >= {goal:.2f}x: cpu {verdict(cpu >= goal)}, wall {verdict(wall >= goal)}" if target \
                    else "(no target: for information)"
                print(f"   {other}/ours: cpu {cpu:.2f}x, wall {wall:.2f}x   {mark}")
            scores = quality(path, {c: results[c]["saved"] for c in ("ours", "vips")})
            for label, q in scores.items():
                line = "/".join(f"{q[k]:.1f}" for k in ("sg", "md", "lg"))
                note = f"   target >= {TARGET_PSNR:.0f} dB: {verdict(min(q.values()) >= TARGET_PSNR)}" \
                    if label == "ours pixels" else ""
                print(f"   PSNR {label:<12} sg/md/lg {line} dB{note}")
            print()
        mix = {c: {m: sum(n * medians[k][c][f"{m}_med"] for k, n in ISSUE_MIX.items()) for m in ("cpu", "wall")}
               for c in CONTENDERS}
        print("== the issue's push: four 24 MP and two 12 MP JPEGs (sums of medians)")
        for c in CONTENDERS:
            print(f"   {c:<8} cpu {mix[c]['cpu']:.2f} s, wall {mix[c]['wall']:.2f} s")
        for other, goal in (("vips", TARGET_VS_VIPS), ("naive", TARGET_VS_NAIVE)):
            cpu, wall = (mix[other][m] / mix["ours"][m] for m in ("cpu", "wall"))
            print(f"   {other}/ours: cpu {cpu:.2f}x, wall {wall:.2f}x   target >= {goal:.2f}x: "
                  f"cpu {verdict(cpu >= goal)}, wall {verdict(wall >= goal)}")
        print("\n== peak memory, 24MP JPEG, one run in a fresh process (VmHWM growth over the baseline after imports "
              "and reading the file)")
        for contender in CONTENDERS:
            r = run_worker(contender, files["24MP JPEG"], Path(tmp), 1)
            note = f"   target < {TARGET_PEAK_MB:.0f} MB: {verdict(r['peak_mb'] < TARGET_PEAK_MB)}" \
                if contender == "ours" else ""
            print(f"   {contender:<8} {r['peak_mb']:>6.1f} MB{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
