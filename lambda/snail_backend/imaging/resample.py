"""Resizing: the fitted size, and one resize run in horizontal strips on several cores when large.

The filter and reducing gaps were chosen by measurement (bench/resize_bench.py, filter study).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageFile, features

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
# A shrink of an opaque image by an exact integer factor (the cascade's md from lg at 4:3, 1600x1200 ->
# 800x600) is a box average (`Image.reduce`), ten times cheaper than the filter. Measured on the 12 MP
# JPEG of bench/variants_bench.py: md 12.1 -> 1.2 ms, 47.6 -> 43.7 dB against the full-decode LANCZOS
# reference, 31.97 -> 31.83 dB once encoded (the JPEG's own loss dominates). Not with alpha: on a
# transparent drawing's hard edges the box scored 43 dB composited, the filter 50.
EXACT_SHRINK_MODES = frozenset({"L", "RGB", "CMYK"})
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _scales_by_eighths() -> bool:
    """Whether Pillow's JPEG decoder is libjpeg-turbo >= 1.3, which scales by any M/8 (3/8 included);
    older libjpeg rounds 1/3 to 1/2, a larger image than the one Pillow would allocate."""
    try:
        version = features.version("libjpeg_turbo") or ""
        return tuple(int(part) for part in version.split(".")[:2]) >= (1, 3)
    except (ValueError, TypeError):
        return False


# Decoding a JPEG at 3/8 scale (libjpeg's scale_denom 3 -> its nearest M/8 at or above 1/3) where
# Pillow's draft would stop at 1/2: a 24 MP photo decodes to 2250x1500 instead of 3000x2000 for a
# 1600 px variant, 44 % fewer pixels to resize. Measured (bench/variants_bench.py): same decode time
# (the 3x3 IDCT is not SIMD but does less), lg resize 40 -> 28 ms, PSNR unchanged (47.5 -> 47.7 dB).
JPEG_3_8 = _scales_by_eighths()


def shrink_on_load(im: ImageFile.ImageFile, size: tuple[int, int]) -> None:
    """Set up a JPEG's decoding at the smallest DCT scale whose image is still at least `size`:
    `im.draft` (1/2, 1/4, 1/8), and 3/8 where draft would choose 1/2 and 3/8 is still large enough.
    An MPO (a phone JPEG with a depth or gain map after it) opens on its first picture, a plain JPEG
    stream with the same single tile, and is scaled the same way."""
    width, height = im.size
    tile = im.tile[0] if len(im.tile) == 1 else None
    scaled = -(-width * 3 // 8), -(-height * 3 // 8)  # libjpeg's jdiv_round_up(dimension * 3, 8)
    draft_scale = min(width // size[0], height // size[1])
    if (JPEG_3_8 and tile is not None and tile.extents is not None and im.format in ("JPEG", "MPO")
            and not im.decoderconfig and 2 <= draft_scale < 4 and scaled[0] >= size[0] and scaled[1] >= size[1]):
        x0, y0 = tile.extents[:2]
        extents = (x0, y0, x0 + scaled[0], y0 + scaled[1])
        # What draft itself sets (tile extents, size, decoder scale), for 3/8: the decoder writes
        # exactly `scaled` pixels per row and row count, the size Pillow allocates.
        im.tile = [tile._replace(extents=extents)]  # Pillow >= 11: a tile is a named tuple
        im._size = scaled
        im.decoderconfig = (3, 0)
        return
    im.draft(im.mode, size)


def fit_within(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size that fits `longest` on the longest side, keeping the aspect ratio; never larger."""
    side = max(width, height)
    if side <= longest:
        return width, height
    scale = longest / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(im: Image.Image, size: tuple[int, int], gap: float | None) -> Image.Image:
    """`im.resize(size, RESAMPLE, reducing_gap=gap)`, in horizontal strips on several cores when large;
    a box average (`reduce`) when `im` is exactly an integer multiple of `size`."""
    strips = min(_WORKERS, size[1] // 64)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(im.mode)
    if premultiplied and im.width * im.height > PREMULTIPLY_STRIP_PIXELS:
        # Image.resize would premultiply a full-size copy (358 MB more at the pixel limit): premultiply
        # (and box-reduce) strip by strip instead, a few at a time.
        return _premultiplied_resize(im, size, gap, premultiplied)
    factor = im.width // size[0]
    if (gap is not None and factor >= 2 and im.size == (size[0] * factor, size[1] * factor)
            and im.mode in EXACT_SHRINK_MODES):
        return im.reduce(factor)
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
