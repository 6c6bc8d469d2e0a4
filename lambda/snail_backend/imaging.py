"""Variants: bytes of an image in, bytes of its sg/md/lg variants out. No I/O, no AWS.

How it stays fast and small (numbers in bench/resize_bench.py):
- decode once; a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that is still at
  least as large as the largest variant (`draft`, libjpeg's shrink-on-load);
- make the largest variant first, then each smaller one from the previous (cascade): the
  full-size pixels are dropped as soon as `lg` exists;
- `resize(..., reducing_gap=...)` lets Pillow box-reduce by an integer factor first and run the
  expensive filter on the rest only; the filter was picked by measuring PSNR against a
  full-decode LANCZOS reference (see the README's image section);
- EXIF orientation is applied to the (small) largest variant, not to the full-size image.

Behaviour: never enlarge; fit within the longest-side size keeping the aspect ratio; keep the
original's format (JPEG quality estimated from its quantization tables, its chroma subsampling
and ICC profile kept); animated GIF/WebP: the variants are still images of the first frame.
"""

from __future__ import annotations

import io
import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin

from .validation import DEFAULT_MAX_PIXELS

# Chosen by measurement (bench/resize_bench.py, filter study): against a full-decode LANCZOS
# reference, BICUBIC after the JPEG draft scores as well as LANCZOS (the DCT scaling dominates the
# error) at two thirds of the cost; the smaller variants may box-reduce first (reducing_gap 1.5)
# and stay above 40 dB PSNR.
RESAMPLE = Image.Resampling.BICUBIC
REDUCING_GAP = 2.0  # for the largest variant, from the decoded image
CASCADE_REDUCING_GAP = 1.5  # for each smaller variant, from the previous one
QUALITY_RANGE = (50, 95)  # JPEG quality of the variants: the original's estimate, clamped
DEFAULT_JPEG_QUALITY = 85
WEBP_QUALITY = 90
PNG_COMPRESS_LEVEL = 4  # measured: the size of level 6 (Pillow's default) in less than half the time

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

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# libjpeg's standard luminance table (natural order), which nearly every encoder scales.
_STD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


_SWAPS = (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90)


class ConversionError(RuntimeError):
    """The image validated but its variants could not be made."""


class UndecodableImage(ConversionError):
    """The pixels cannot be decoded (damaged or truncated): an invalid image, not a failure."""


@dataclass(frozen=True)
class Variant:
    data: bytes
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Rendition:
    format: str  # Pillow's format name, the same for the original and the variants
    width: int  # the original as displayed (after EXIF orientation)
    height: int
    variants: dict[str, Variant]


def fit_within(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size that fits `longest` on the longest side, keeping the aspect ratio; never larger."""
    side = max(width, height)
    if side <= longest:
        return width, height
    scale = longest / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _scaled_table(quality: int) -> tuple[int, ...]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (std * scale + 50) // 100)) for std in _STD_LUMINANCE)


_SCALED_TABLES = [(q, _scaled_table(q)) for q in range(1, 101)]


def estimate_jpeg_quality(qtables: dict[int, object] | None) -> int | None:
    """The libjpeg quality whose scaled standard table is nearest the luminance table, or None."""
    if not qtables or 0 not in qtables:
        return None
    table = list(qtables[0])  # type: ignore[call-overload]
    if len(table) != 64:
        return None
    best, best_err = None, None
    for quality, scaled in _SCALED_TABLES:
        err = sum(abs(a - b) for a, b in zip(scaled, table, strict=True))
        if best_err is None or err < best_err:
            best, best_err = quality, err
    return best


def _tiff_opens_turned() -> bool:
    """Whether this Pillow applies a TIFF's orientation itself (recent versions report the turned
    size on open and transpose on load): then turning it again would be wrong."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("L", (2, 1)).save(buf, "TIFF", exif=exif)
    with Image.open(buf) as im:
        return im.size == (1, 2)


TIFF_OPENS_TURNED = _tiff_opens_turned()


def orientation_of(im: Image.Image) -> int:
    """The EXIF orientation still to apply to `im`'s pixels (1: none)."""
    if im.format == "TIFF" and TIFF_OPENS_TURNED:
        return 1
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 -- a broken EXIF block must not cost the image its variants
        return 1
    return value if value in _TRANSPOSE else 1


def _working_mode(im: Image.Image) -> Image.Image:
    """A mode every filter handles well: palettes and 1-bit become full colour or grey."""
    mode = im.mode
    if mode == "P":
        has_alpha = "transparency" in im.info or im.palette is not None and im.palette.mode == "RGBA"
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "PA":
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")  # grey variants of a 1-bit image read better than re-dithered ones
    if mode in ("RGBX", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB")
    if mode in ("I;16L", "I;16B", "I;16N"):
        return im.convert("I;16")
    return im


def decode(data: bytes, largest: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image.Image, str, dict]:
    """Open, shrink-on-load a JPEG to the smallest scale >= `largest`, decode the first frame once.

    Returns the decoded image, the format name, and the encoder hints of the original.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit is `max_pixels`, below
        im = Image.open(io.BytesIO(data))
        if im.width * im.height > max_pixels:
            raise ConversionError(f"{im.width}x{im.height} is over the limit of {max_pixels} pixels")
        fmt = im.format or ""
        hints: dict = {"icc_profile": im.info.get("icc_profile"), "orientation": orientation_of(im),
                       "source_size": im.size}
        if fmt == "JPEG":
            hints["quality"] = estimate_jpeg_quality(getattr(im, "quantization", None))
            hints["subsampling"] = JpegImagePlugin.get_sampling(im)
            im.draft(im.mode, fit_within(im.width, im.height, largest))
        elif fmt == "TIFF":
            hints["compression"] = im.info.get("compression")
        im.load()
    return im, fmt, hints


def make_variant_images(im: Image.Image, sizes: dict[str, int], orientation: int = 1,
                        source_size: tuple[int, int] | None = None) -> dict[str, Image.Image]:
    """Largest first, each smaller one from the previous; oriented as displayed.

    Every target size is computed from the original's size (`source_size`, before any draft), so
    the cascade never drifts from the original's aspect ratio by rounding twice.
    """
    im = _working_mode(im)
    width, height = source_size or im.size
    order = sorted(sizes, key=lambda t: sizes[t], reverse=True)
    transpose = _TRANSPOSE.get(orientation)
    out: dict[str, Image.Image] = {}
    source = im
    for kind in order:
        # Fitting the longest side is the same before and after a 90-degree turn.
        target = fit_within(width, height, sizes[kind])
        if source is not im and transpose in _SWAPS:
            target = target[1], target[0]  # `source` is already turned
        if target == source.size:
            resized = source.copy() if source is im else source
        else:
            gap = REDUCING_GAP if source is im else CASCADE_REDUCING_GAP
            resized = resize(source, target, gap)
        if source is im and transpose is not None:
            resized = resized.transpose(transpose)
        out[kind] = resized
        source = resized
    return out


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


def _jpeg_options(hints: dict) -> dict:
    quality = hints.get("quality") or DEFAULT_JPEG_QUALITY
    low, high = QUALITY_RANGE
    options = {"quality": min(high, max(low, quality))}
    if hints.get("subsampling") in (0, 1, 2):
        options["subsampling"] = hints["subsampling"]
    return options


def encode(im: Image.Image, fmt: str, hints: dict) -> bytes:
    """Encode in the original's format, adapting the mode only where the format needs it."""
    options: dict = {}
    if hints.get("icc_profile") and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = hints["icc_profile"]
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
        options.update(_jpeg_options(hints))
    elif fmt == "PNG":
        if im.mode == "I":
            im = im.convert("I;16")
        options["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "WEBP":
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        options.update(quality=WEBP_QUALITY)
    elif fmt == "GIF":
        if im.mode not in ("P", "L", "RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
    elif fmt == "BMP":
        if im.mode not in ("1", "L", "P", "RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
    elif fmt == "TIFF":
        if hints.get("compression") in ("raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits"):
            options["compression"] = hints["compression"]
    else:
        raise ConversionError(f"cannot write format {fmt!r}")
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def render_variants(data: bytes, sizes: dict[str, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> Rendition:
    """The whole pipeline: decode once, resize in cascade, encode in the original's format.

    Raises UndecodableImage when the bytes cannot be decoded (a damaged or truncated file: the
    request's fault) and ConversionError when making or encoding the variants failed.
    """
    errors = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
              Image.DecompressionBombWarning)
    try:
        im, fmt, hints = decode(data, max(sizes.values()), max_pixels)
    except ConversionError:
        raise
    except errors as exc:
        raise UndecodableImage(f"damaged or truncated image: {exc}") from exc
    try:
        width, height = hints["source_size"]
        if hints["orientation"] in (5, 6, 7, 8):
            width, height = height, width
        images = make_variant_images(im, sizes, hints["orientation"], hints["source_size"])
        del im
        variants = {}
        for kind in sizes:
            vim = images[kind]
            variants[kind] = Variant(encode(vim, fmt, hints), vim.width, vim.height)
    except ConversionError:
        raise
    except (*errors, MemoryError) as exc:
        raise ConversionError(f"could not make the variants: {exc}") from exc
    return Rendition(fmt, width, height, variants)
