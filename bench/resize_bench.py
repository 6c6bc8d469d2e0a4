"""Variant-making benchmark: ours against naive Pillow, libvips (pyvips) and the JPEG decode floor.

Run: `.venv/bin/python bench/resize_bench.py` (or `make bench`). It generates photo-like test
images (gradients, shapes, blur and noise; JPEG at quality 90, and an RGBA PNG), then runs every
contender in its own subprocess so that peak memory (ru_maxrss, which sees the C allocations of
libjpeg, Pillow and libvips, unlike tracemalloc) belongs to that contender alone.

Contenders, each making lg/md/sg pixels from the file's bytes (no encoding):
- ours:    snail_backend.imaging (shrink-on-load, lg first, md from lg, sg from md; the SIMD convolution);
- ours+enc: the same plus encoding in the original's format (what the Lambda does);
- naive:   full decode, then copy().thumbnail() per size;
- vips:    pyvips thumbnail_buffer to lg, thumbnail_image for md from lg and sg from md;
- floor:   decoding the JPEG at our shrink-on-load scale alone (nothing can be faster with libjpeg).
PSNR: each variant against a full-decode LANCZOS resize of the original to the same size.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

# The PSNR the palette decision in imaging uses, so the bench and the code measure alike.
from snail_backend.imaging import psnr

SIZES = {"sg": 320, "md": 800, "lg": 1600}
CASES = [  # name, size, format, mode
    ("24MP JPEG", (6000, 4000), "JPEG", "RGB"),
    ("12MP JPEG", (4000, 3000), "JPEG", "RGB"),
    ("2MP JPEG", (1732, 1155), "JPEG", "RGB"),
    ("12MP RGBA PNG", (4000, 3000), "PNG", "RGBA"),
]
CONTENDERS = ("ours", "ours+enc", "naive", "vips", "floor")


# ----------------------------------------------------------------------------- test images
def photo_like(size: tuple[int, int], mode: str, seed: int = 7) -> Image.Image:
    """Smooth colour gradients, soft and hard shapes, fine texture and sensor-like noise."""
    rng = random.Random(seed)
    w, h = size
    bands = []
    for i in range(3):
        g = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC)
        r = Image.radial_gradient("L")
        bands.append(ImageChops.blend(g, r, 0.3 + 0.2 * i).resize(size, Image.Resampling.BICUBIC))
    im = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(im)
    for _ in range(120):
        x, y = rng.randrange(w), rng.randrange(h)
        rx, ry = rng.randrange(w // 60, w // 8), rng.randrange(h // 60, h // 8)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)
        else:
            draw.polygon([(x + rng.randint(-rx, rx), y + rng.randint(-ry, ry)) for _ in range(5)], fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(w / 1500))
    draw = ImageDraw.Draw(im)
    for _ in range(400):  # sharp detail: thin lines, like branches or text
        x, y = rng.randrange(w), rng.randrange(h)
        draw.line((x, y, x + rng.randint(-w // 20, w // 20), y + rng.randint(-h // 20, h // 20)),
                  fill=tuple(rng.randrange(256) for _ in range(3)), width=rng.randint(1, 4))
    noise = Image.merge("RGB", [Image.effect_noise(size, 12) for _ in range(3)])
    im = ImageChops.add(im, noise, scale=1.0, offset=-128)
    if mode == "RGBA":
        alpha = Image.radial_gradient("L").resize(size, Image.Resampling.BICUBIC)
        im.putalpha(ImageChops.invert(alpha))
    return im


def make_files(folder: Path) -> dict[str, Path]:
    files = {}
    for name, size, fmt, mode in CASES:
        path = folder / (name.replace(" ", "_") + (".jpg" if fmt == "JPEG" else ".png"))
        if not path.exists():
            im = photo_like(size, mode)
            im.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        files[name] = path
    return files


# ----------------------------------------------------------------------------- contenders
def run_ours(data: bytes) -> dict[str, Image.Image]:
    from snail_backend.imaging import decode, make_variant_images

    im, _, hints = decode(data, max(SIZES.values()))
    return make_variant_images(im, SIZES, hints["orientation"], hints["source_size"])


def run_ours_encoded(data: bytes) -> dict[str, bytes]:
    from snail_backend.imaging import render_variants

    return {k: v.data for k, v in render_variants(data, SIZES).variants.items()}


def run_naive(data: bytes) -> dict[str, Image.Image]:
    im = Image.open(io.BytesIO(data))
    im.load()
    out = {}
    for kind, side in SIZES.items():
        copy = im.copy()
        copy.thumbnail((side, side))
        out[kind] = copy
    return out


def run_vips(data: bytes) -> dict[str, object]:
    import pyvips

    lg = pyvips.Image.thumbnail_buffer(data, SIZES["lg"]).copy_memory()
    md = lg.thumbnail_image(SIZES["md"]).copy_memory()
    sg = md.thumbnail_image(SIZES["sg"]).copy_memory()
    return {"lg": lg, "md": md, "sg": sg}


def run_floor(data: bytes) -> dict[str, Image.Image]:
    from snail_backend.imaging import fit_within
    from snail_backend.imaging.resample import shrink_on_load

    im = Image.open(io.BytesIO(data))
    if im.format == "JPEG":
        shrink_on_load(im, fit_within(im.width, im.height, max(SIZES.values())))
    im.load()
    return {"decoded": im}


RUNNERS = {"ours": run_ours, "ours+enc": run_ours_encoded, "naive": run_naive, "vips": run_vips, "floor": run_floor}


def to_pil(value: object) -> Image.Image | None:
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, bytes):
        return None
    bands = value.bands  # pyvips image
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[bands]
    return Image.frombytes(mode, (value.width, value.height), value.write_to_memory())


def high_water_mb() -> float:
    """This process's peak resident memory. VmHWM, because ru_maxrss after fork+exec may still
    carry the parent's peak on Linux (the parent here holds large reference images)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(contender: str, path: str, out_dir: str, repeats: int) -> None:
    if contender == "vips":
        import pyvips  # noqa: F401 -- load the library before the baseline is taken
    import snail_backend.imaging  # noqa: F401
    data = Path(path).read_bytes()
    baseline = high_water_mb()
    runner = RUNNERS[contender]
    times, result = [], None
    for _ in range(repeats):
        result = None
        t0 = time.perf_counter()
        result = runner(data)
        times.append(time.perf_counter() - t0)
    peak = high_water_mb()
    saved = {}
    for kind, value in (result or {}).items():
        im = to_pil(value)
        if im is not None and kind in SIZES:
            target = Path(out_dir) / f"{contender}-{kind}.png"
            im.save(target, compress_level=1)
            saved[kind] = str(target)
    print(json.dumps({"times": times, "peak_mb": peak - baseline, "rss_mb": peak, "saved": saved}))


def measure_once(contender: str, path: Path, out_dir: Path, repeats: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", contender, str(path), str(out_dir), str(repeats)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(contenders: list[str], path: Path, out_dir: Path, rounds: int, repeats: int) -> dict[str, dict]:
    """Contenders take turns, round after round, so that a burst of load elsewhere on the machine
    hits them all alike; each reports its best time, median and largest peak."""
    merged: dict[str, dict] = {c: {"times": [], "peak_mb": 0.0, "saved": {}} for c in contenders}
    for _ in range(rounds):
        for contender in contenders:
            r = measure_once(contender, path, out_dir, repeats)
            if "error" in r:
                merged[contender] = r
                continue
            m = merged[contender]
            if "error" not in m:
                m["times"] += r["times"]
                m["peak_mb"] = max(m["peak_mb"], r["peak_mb"])
                m["saved"] = r["saved"]
    for m in merged.values():
        if "error" not in m:
            m["min"], m["median"] = min(m["times"]), statistics.median(m["times"])
    return merged


# ----------------------------------------------------------------------------- quality
def reference_psnr(original: Path, saved: dict[str, str]) -> dict[str, float]:
    full = Image.open(original)
    full.load()
    out = {}
    for kind, path in saved.items():
        got = Image.open(path)
        ref = full.resize(got.size, Image.Resampling.LANCZOS)
        out[kind] = psnr(got, ref)
    return out


STUDY = [  # (engine, filter, reducing_gap): the SIMD convolution's filters, and Pillow's own resampler
    ("simd", "bilinear", 2.0), ("simd", "catmull_rom", 2.0), ("simd", "catmull_rom", None),
    ("simd", "mitchell", 2.0), ("simd", "lanczos3", 2.0),
    ("pillow", "BICUBIC", 2.0), ("pillow", "LANCZOS", 2.0),
]
_STUDY_CODE = r"""
import json, sys, time
from PIL import Image
import snail_backend.imaging as m
import snail_backend.imaging.resample as r
data = open(sys.argv[1], "rb").read()
engine, name, gap = sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
if engine == "pillow":
    r.Resizer, r.RESAMPLE = None, getattr(Image.Resampling, name)
else:
    r.FILTER = name
r.REDUCING_GAP = gap
best = None
for _ in range(int(sys.argv[6])):
    t0 = time.process_time()
    im, fmt, hints = m.decode(data, 1600)
    imgs = m.make_variant_images(im, {"sg": 320, "md": 800, "lg": 1600}, 1, hints["source_size"])
    dt = time.process_time() - t0
    best = dt if best is None else min(best, dt)
for k, v in imgs.items():
    v.save(f"{sys.argv[2]}/{k}.png", compress_level=1)
print(best)
"""


def filter_study(path: Path, out_dir: Path, repeats: int) -> list[str]:
    """Why the filter we use: CPU time (decode and pixels) and PSNR of each engine, filter and gap."""
    full = Image.open(path)
    full.load()
    refs: dict[tuple[int, int], Image.Image] = {}
    lines = [f"{'engine':<7} {'filter':<12} {'gap':>4} {'cpu ms':>7}  PSNR sg/md/lg dB"]
    for engine, name, gap in STUDY:
        out = subprocess.run([sys.executable, "-c", _STUDY_CODE, str(path), str(out_dir), engine, name,
                              json.dumps(gap), str(repeats)], capture_output=True, text=True, check=True)
        seconds = float(out.stdout.strip())
        quality = []
        for kind in ("sg", "md", "lg"):
            got = Image.open(out_dir / f"{kind}.png")
            ref = refs.setdefault(got.size, full.resize(got.size, Image.Resampling.LANCZOS))
            quality.append(psnr(got, ref))
        lines.append(f"{engine:<7} {name:<12} {gap!s:>4} {seconds * 1000:>7.1f}  "
                     + "/".join(f"{q:.1f}" for q in quality))
    return lines


# ----------------------------------------------------------------------------- report
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=4, metavar=("CONTENDER", "IMAGE", "OUT", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--images", type=Path, default=None, help="keep generated images here (default: temp dir)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each contender takes (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per turn, in one process (default 3)")
    parser.add_argument("--no-filter-study", action="store_true")
    args = parser.parse_args()
    if args.worker:
        contender, path, out_dir, repeats = args.worker
        worker(contender, path, out_dir, int(repeats))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.images or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("generating test images ...", flush=True)
        files = make_files(folder)
        print(f"cpu: {os.cpu_count()} cores; sizes {SIZES}; time = best of {args.rounds}x{args.repeats} runs "
              "(contenders interleaved); peak = growth of the worker's peak RSS (VmHWM) over its baseline after "
              "imports and reading the file\n")
        for name, path in files.items():
            out_dir = Path(tmp) / name.replace(" ", "_")
            out_dir.mkdir(exist_ok=True)
            contenders = [c for c in CONTENDERS if not (c == "floor" and path.suffix == ".png")]
            results = measure(contenders, path, out_dir, args.rounds, args.repeats)
            w, h = Image.open(path).size
            print(f"== {name} ({w}x{h}, {path.stat().st_size / 1e6:.1f} MB file)")
            print(f"{'contender':<10} {'time ms':>8} {'median':>8} {'peak MB':>8}  {'vs ours':>8}  PSNR sg/md/lg dB")
            ours = results["ours"].get("min")
            for contender, r in results.items():
                if "error" in r:
                    print(f"{contender:<10} error: {r['error']}")
                    continue
                quality = reference_psnr(path, r["saved"]) if r["saved"] else {}
                q = "/".join(f"{quality[k]:.1f}" for k in ("sg", "md", "lg") if k in quality) or "-"
                ratio = r["min"] / ours if ours else float("nan")
                print(f"{contender:<10} {r['min'] * 1000:>8.0f} {r['median'] * 1000:>8.0f} {r['peak_mb']:>8.0f}  "
                      f"{ratio:>7.2f}x  {q}")
            if ours:
                notes = []
                for other in ("vips", "naive", "floor"):
                    if other in results and "min" in results[other]:
                        notes.append(f"ours/{other} = {ours / results[other]['min']:.2f}")
                print("   " + ", ".join(notes))
            print()
        if not args.no_filter_study:
            for name in ("24MP JPEG", "2MP JPEG"):
                print(f"== filter study on the {name} (ours: decode and pixels; best CPU time; PSNR vs full-decode "
                      "LANCZOS)")
                study_dir = Path(tmp) / f"filters-{name.split()[0]}"
                study_dir.mkdir()
                for line in filter_study(files[name], study_dir, args.rounds * args.repeats):
                    print(line)
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
