"""Variants: bytes of an image in, bytes of its sg/md/lg variants out. No I/O, no AWS.

How it stays fast and small (numbers in bench/resize_bench.py):
- decode once; a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that is still at
  least as large as the largest variant (`draft`, libjpeg's shrink-on-load);
- make the largest variant first, then each smaller one from the previous (cascade): the
  full-size pixels are dropped as soon as `lg` exists;
- `resize(..., reducing_gap=...)` lets Pillow box-reduce by an integer factor first and run the
  expensive filter on the rest only; the filter was picked by measuring PSNR against a
  full-decode LANCZOS reference (see docs/imaging.md);
- EXIF orientation is applied to the (small) largest variant, not to the full-size image.

Behaviour: never enlarge; fit within the longest-side size keeping the aspect ratio; keep the
original's format (JPEG quality estimated from its quantization tables, its chroma subsampling
and ICC profile kept); animated GIF/WebP: the variants are still images of the first frame.

Bytes (measured on flat icons, palette PNGs, photo-like PNGs, GIFs, JPEG and WebP photos): PNG
variants of a palette original are palette images, as are those of a truecolour PNG with at most
256 colours when the palette scores >= 40 dB (`to_palette`), and so are an opaque GIF's (undithered);
palette variants up to 1 MP are written
with optimize=True; a variant the size of a metadata-free still PNG or GIF is the original's own
bytes when those are not larger (`reusable_original`). Variants carry no EXIF, XMP, text or comment.
"""

from __future__ import annotations

import io
import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageStat, JpegImagePlugin

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
# Palette PNG variants up to this many pixels (sg and md at the default sizes) are written with
# optimize=True (zlib level 9 and the fewest bits per pixel the palette needs): measured 20-45 %
# smaller for a few ms. Truecolour variants stay at level 4: optimize saved 0-4 % there (an RGBA
# photo's md even grew) for 1.3-4x the encoding time, and a 1600 px palette lg saved 1 % for 3x.
PNG_OPTIMIZE_MAX_PIXELS = 1_000_000
# PNG variants of a palette original are palette images again; so are those of a truecolour original
# with at most 256 colours (flat icons, diagrams) when the palette costs little. FASTOCTREE, no
# dithering, to four times the original's colour count (64 to 256): measured >= 45.8 dB PSNR against
# the unquantized resize on flat images (256 colours: ~49 dB but 15-25 % more bytes; 32: 40 dB;
# MEDIANCUT: similar PSNR, 10-20 % larger, 5x slower, no alpha). A truecolour original's variant
# below PALETTE_MIN_PSNR stays truecolour; a palette original's never does (a photo-like one scores
# about 28 dB, about what its own palette costs it, at a quarter of the truecolour bytes).
PALETTE_MIN_COLOURS = 64
ALPHA_SNAP = 8  # palette alpha this close to opaque or clear is made exactly opaque or clear
PALETTE_MIN_PSNR = 40.0

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
    # Variants carry no metadata but the ICC profile: Pillow's JPEG and GIF writers would copy the
    # original's comment (kept in `info` through every convert and resize) unless told otherwise.
    options: dict = {"comment": b""} if fmt in ("JPEG", "GIF") else {}
    if hints.get("icc_profile") and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = hints["icc_profile"]
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
        options.update(_jpeg_options(hints))
    elif fmt == "PNG":
        if im.mode == "I":
            im = im.convert("I;16")
        if im.mode == "P" and im.width * im.height <= PNG_OPTIMIZE_MAX_PIXELS:
            options["optimize"] = True
        else:
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


def palette_plan(im: Image.Image, fmt: str) -> tuple[int, bool] | None:
    """Whether the PNG variants of `im` should be palette images, and with how many colours at most:
    (colours, always) -- `always` for a palette original (its family), else only when the palette
    scores PALETTE_MIN_PSNR -- or None. A truecolour original qualifies with at most 256 colours
    (`getcolors` stops counting at 257: a photo is rejected at once)."""
    if fmt not in ("PNG", "GIF"):
        return None  # other formats have no palette
    if im.mode not in ("P", "PA", "RGB", "RGBA"):
        return None
    if fmt == "GIF" and (im.mode in ("PA", "RGBA") or im.info.get("transparency") is not None):
        return None  # GIF keeps one transparent index, not an alpha palette: its writer handles those
    # An opaque GIF is quantized here without dithering, not by its writer, whose default
    # Floyd-Steinberg dither made a flat banner's 800-pixel variant twice the original's bytes.
    always = im.mode in ("P", "PA") or fmt == "GIF"
    colours = im.getcolors(256)
    if colours is None and not always:
        return None
    return min(256, max(PALETTE_MIN_COLOURS, 4 * len(colours or range(256)))), always


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of `a` against `b` (same size), in dB over all of `b`'s bands."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert(b.mode), b))
    mse = sum(stat.sum2) / (b.width * b.height * len(stat.sum2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def to_palette(im: Image.Image, plan: tuple[int, bool]) -> Image.Image:
    """`im` (a variant in working mode) as a palette image (transparency kept), per `palette_plan`:
    the fewest colours, from the plan's count doubling up to 256, that score PALETTE_MIN_PSNR against
    `im`; with none, 256 colours for a palette original and `im` itself (truecolour) for another.

    Not the original's own count: a resize makes new edge colours, and quantizing them back to, say,
    the original's 7 measured only 26-29 dB (jagged edges). An image that still has the original's
    colours (a variant at the original's size) maps exactly at the first try.
    """
    colours, always = plan
    if im.mode not in ("RGB", "RGBA"):
        return im
    while True:
        quantized = _quantize(im, colours)
        if colours >= 256 or psnr(quantized, im) >= PALETTE_MIN_PSNR:
            break
        colours = min(256, colours * 2)
    if not always and colours >= 256 and psnr(quantized, im) < PALETTE_MIN_PSNR:
        return im
    return quantized


def _quantize(im: Image.Image, colours: int) -> Image.Image:
    quantized = im.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    if im.mode == "RGBA":
        # The octree averages alpha per bucket: opaque pixels sharing one with an anti-aliased edge's
        # nearly opaque ones came out 254. Entries within ALPHA_SNAP of opaque or clear become exactly that.
        entries = quantized.getpalette("RGBA") or []
        for i in range(3, len(entries), 4):
            alpha = entries[i]
            entries[i] = 255 if alpha >= 255 - ALPHA_SNAP else 0 if alpha <= ALPHA_SNAP else alpha
        quantized.putpalette(entries, "RGBA")
    return quantized


# PNG chunks that describe pixels or colour, never the picture's author, place, time or camera: an
# original with only these (and nothing after IEND) carries nothing the variants would strip.
_PLAIN_PNG_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB",
                               b"iCCP", b"sBIT", b"bKGD", b"pHYs"})


def _plain_png(data: bytes) -> bool:
    """A still PNG with no text, EXIF, XMP, time, animation or private chunk, nor anything after IEND."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if kind not in _PLAIN_PNG_CHUNKS:
            return False
        pos += 12 + length
        if kind == b"IEND":
            return pos == len(data)
    return False


def _skip_gif_sub_blocks(data: bytes, pos: int) -> int:
    while pos < len(data):
        count = data[pos]
        pos += 1 + count
        if count == 0:
            return pos
    return len(data) + 1  # truncated


def _plain_gif(data: bytes) -> bool:
    """A GIF of exactly one image whose only extension is the graphic control (transparency): no
    comment, no application block (XMP, looping), nothing after the trailer."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return False
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            return images == 1 and pos + 1 == len(data)
        if block == 0x21 and pos + 1 < len(data) and data[pos + 1] == 0xF9:  # graphic control extension
            pos = _skip_gif_sub_blocks(data, pos + 2)
        elif block == 0x2C and images == 0 and pos + 10 <= len(data):  # the image descriptor
            images += 1
            flags = data[pos + 9]
            pos = _skip_gif_sub_blocks(data, pos + 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0))
        else:
            return False
    return False


def reusable_original(data: bytes, fmt: str, orientation: int) -> bool:
    """Whether the original's own bytes may serve as a variant of the same size: variants never carry
    EXIF, XMP, text or comments (only the ICC profile is kept), so only an original with none of those,
    a single frame and no orientation to apply qualifies. PNG and GIF only: a JPEG, WebP or TIFF of the
    same size is re-encoded (not checked for metadata here)."""
    if orientation != 1:
        return False
    if fmt == "PNG":
        return _plain_png(data)
    if fmt == "GIF":
        return _plain_gif(data)
    return False


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
        plan = palette_plan(im, fmt)
        # A palette original's same-size variant is its own palette pixels, exactly (re-quantizing the
        # full-colour copy measured 45 dB on a photo-like one); kept only when small enough to have one.
        exact = im if (plan and im.mode == "P" and hints["orientation"] == 1
                       and max(im.size) <= max(sizes.values())) else None
        images = make_variant_images(im, sizes, hints["orientation"], hints["source_size"])
        del im
        reuse = reusable_original(data, fmt, hints["orientation"])
        encoded: dict[int, bytes] = {}  # variants of the same size share one image: encode it once
        variants = {}
        for kind in sizes:
            vim = images[kind]
            if id(vim) not in encoded:
                if exact is not None and vim.size == exact.size:
                    out = encode(exact, fmt, hints)
                else:
                    out = encode(to_palette(vim, plan) if plan else vim, fmt, hints)
                if reuse and vim.size == hints["source_size"] and len(data) <= len(out):
                    out = data  # never larger than the original: its bytes carry nothing to strip
                encoded[id(vim)] = out
            variants[kind] = Variant(encoded[id(vim)], vim.width, vim.height)
    except ConversionError:
        raise
    except (*errors, MemoryError) as exc:
        raise ConversionError(f"could not make the variants: {exc}") from exc
    return Rendition(fmt, width, height, variants)
