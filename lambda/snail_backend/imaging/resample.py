"""Resizing: the fitted size, and one resize run in horizontal strips on several cores when large.

The filter and reducing gaps were chosen by measurement (bench/resize_bench.py, filter study).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

# Chosen by measurement (bench/resize_bench.py, filter study): against a full-decode LANCZOS
# reference, BICUBIC after the JPEG draft scores as well as LANCZOS (the DCT scaling dominates the
# error) at two thirds of the cost; the smaller variants may box-reduce first (reducing_gap 1.5)
# and stay above 40 dB PSNR.
RESAMPLE = Image.Resampling.BICUBIC
REDUCING_GAP = 2.0  # for the largest variant, from the decoded image
CASCADE_REDUCING_GAP = 1.5  # for each smaller variant, from the previous one

# Pillow releases the GIL while resampling, so horizontal strips of one large resize run on
# several cores at once (resize with `box` reads the filter's support beyond the strip, so the
# strips join seamlessly). Worth it from about a quarter megapixel of output; needs >= 2 vCPUs
# (Lambda gives 2 from 1769 MB of memory), and costs nothing measurable with one.
PARALLEL_MIN_PIXELS = 250_000
# Alpha images are resized premultiplied; above this many pixels (16 MB of RGBA) that happens strip by
# strip, so the peak stays near the decoded image's own size (measured: 89 MP RGBA PNG, 809 -> ~430 MB).
PREMULTIPLY_STRIP_PIXELS = 4_000_000
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def fit_within(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size that fits `longest` on the longest side, keeping the aspect ratio; never larger."""
    side = max(width, height)
    if side <= longest:
        return width, height
    scale = longest / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(im: Image.Image, size: tuple[int, int], gap: float | None) -> Image.Image:
    """`im.resize(size, RESAMPLE, reducing_gap=gap)`, in horizontal strips on several cores when large."""
    strips = min(_WORKERS, size[1] // 64)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(im.mode)
    if premultiplied and im.width * im.height > PREMULTIPLY_STRIP_PIXELS:
        # Image.resize would premultiply a full-size copy (358 MB more at the pixel limit): premultiply
        # (and box-reduce) strip by strip instead, a few at a time.
        return _premultiplied_resize(im, size, gap, premultiplied)
    if strips < 2 or size[0] * size[1] < PARALLEL_MIN_PIXELS:
        return im.resize(size, RESAMPLE, reducing_gap=gap)
    if premultiplied:  # what Image.resize does itself, done once here rather than once per strip
        return resize(im.convert(premultiplied), size, gap).convert(im.mode)
    return _strips(im, size, gap, strips)


def _strips(im: Image.Image, size: tuple[int, int], gap: float | None, count: int) -> Image.Image:
    """Resize in `count` horizontal strips: `resize` with `box` reads the filter's support beyond
    the strip, so the strips join seamlessly."""
    width, height = im.size
    scale = height / size[1]
    bounds = [round(size[1] * i / count) for i in range(count + 1)]
    jobs = [_executor().submit(im.resize, (size[0], y1 - y0), RESAMPLE, (0, y0 * scale, width, y1 * scale), gap)
            for y0, y1 in zip(bounds, bounds[1:], strict=False)]
    out = Image.new(im.mode, size)
    for y0, job in zip(bounds, jobs, strict=False):
        out.paste(job.result(), (0, y0))
    return out


def _premultiplied_resize(im: Image.Image, size: tuple[int, int], gap: float | None, mode: str) -> Image.Image:
    """What `im.resize(size, RESAMPLE, reducing_gap=gap)` computes for an image with alpha, without a
    premultiplied copy of the whole image: each output band premultiplies (and box-reduces) only the
    source rows its filter reads, a few bands at a time."""
    width, height = im.size
    fx = fy = 1
    if gap is not None:  # Image.resize's own choice: box-reduce by (fx, fy) first, then filter
        fx, fy = int(width / size[0] / gap) or 1, int(height / size[1] / gap) or 1
    reduced_height = -(-height // fy)
    scale = reduced_height and height / fy / size[1]  # output row -> row of the reduced image
    margin = math.ceil(2 * scale) + 4  # beyond the filter's support (2 output pixels each way)
    count = max(2, -(-width * height // PREMULTIPLY_STRIP_PIXELS))
    bounds = sorted({round(size[1] * i / count) for i in range(count + 1)})

    def band(y0: int, y1: int) -> Image.Image:
        # Reduced rows r0..r1 come from whole reduction blocks of source rows, as in the whole image.
        r0, r1 = max(0, math.floor(y0 * scale) - margin), min(reduced_height, math.ceil(y1 * scale) + margin)
        part = im.crop((0, r0 * fy, width, min(height, r1 * fy))).convert(mode)
        if fx > 1 or fy > 1:
            part = part.reduce((fx, fy))
        return part.resize((size[0], y1 - y0), RESAMPLE, (0, y0 * scale - r0, width / fx, y1 * scale - r0))

    out = Image.new(mode, size)
    pairs = list(zip(bounds, bounds[1:], strict=False))
    for first in range(0, len(pairs), _WORKERS):  # a few bands at a time: each is pasted, then dropped
        batch = [(y0, _executor().submit(band, y0, y1)) for y0, y1 in pairs[first:first + _WORKERS]]
        for y0, job in batch:
            out.paste(job.result(), (0, y0))
        del batch
    return out.convert(im.mode)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="resize")
        return _pool
