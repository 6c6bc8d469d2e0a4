"""Encoding a variant in its format, and the JPEG quality estimate that the JPEG variants keep."""

from __future__ import annotations

import io

from PIL import Image

from .colour import profile_fits
from .errors import ConversionError

QUALITY_RANGE = (50, 95)  # JPEG quality of the variants: the original's estimate, clamped
DEFAULT_JPEG_QUALITY = 85
WEBP_QUALITY = 90
AVIF_QUALITY = 75  # Pillow's default for AVIF
LOSSLESS_WEBP_EFFORT = 80  # `quality` of a lossless WebP is its compression effort (Pillow's default)
PNG_COMPRESS_LEVEL = 4  # measured: the size of level 6 (Pillow's default) in less than half the time
# Palette PNG variants up to this many pixels (sg and md at the default sizes) are written with
# optimize=True (zlib level 9 and the fewest bits per pixel the palette needs): measured 20-45 %
# smaller for a few ms. Truecolour variants stay at level 4: optimize saved 0-4 % there (an RGBA
# photo's md even grew) for 1.3-4x the encoding time, and a 1600 px palette lg saved 1 % for 3x.
PNG_OPTIMIZE_MAX_PIXELS = 1_000_000

# libjpeg's standard luminance table (natural order), which nearly every encoder scales.
_STD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


def _scaled_table(quality: int) -> tuple[int, ...]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (std * scale + 50) // 100)) for std in _STD_LUMINANCE)


_SCALED_TABLES = [(q, _scaled_table(q)) for q in range(1, 101)]
# A table that is exactly a scaled standard one (libjpeg, libjpeg-turbo, Pillow, most cameras' software)
# answers by lookup (0.5 us) instead of the search below (0.2 ms per image; cProfile had shown it as
# 1.4 ms, its per-call overhead inflating the 6,400 comparisons). The lowest quality wins where two
# scale alike, as in the search.
_EXACT_QUALITY: dict[tuple[int, ...], int] = {}
for _quality, _table in _SCALED_TABLES:
    _EXACT_QUALITY.setdefault(_table, _quality)


def estimate_jpeg_quality(qtables: dict[int, object] | None) -> int | None:
    """The libjpeg quality whose scaled standard table is nearest the luminance table, or None."""
    if not qtables or 0 not in qtables:
        return None
    table = list(qtables[0])  # type: ignore[call-overload]
    if len(table) != 64:
        return None
    exact = _EXACT_QUALITY.get(tuple(table))
    if exact is not None:
        return exact
    best, best_err = None, None
    for quality, scaled in _SCALED_TABLES:
        err = sum(abs(a - b) for a, b in zip(scaled, table, strict=True))
        if best_err is None or err < best_err:
            best, best_err = quality, err
    return best


def _jpeg_options(hints: dict) -> dict:
    quality = hints.get("quality") or DEFAULT_JPEG_QUALITY
    low, high = QUALITY_RANGE
    options = {"quality": min(high, max(low, quality))}
    if hints.get("subsampling") in (0, 1, 2):
        options["subsampling"] = hints["subsampling"]
    return options


def encode(im: Image.Image, fmt: str, hints: dict) -> bytes:
    """Encode a variant in `fmt` (formats.variant_format), adapting the mode only where the format needs
    it. Variants carry no metadata but an ICC profile that fits their pixels (colour.profile_fits)."""
    # Pillow's JPEG and GIF writers would copy the original's comment (kept in `info` through every
    # convert and resize) unless told otherwise.
    options: dict = {"comment": b""} if fmt in ("JPEG", "GIF") else {}
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L"):
            im = im.convert("L" if im.mode == "LA" else "RGB")  # only an opaque image gets JPEG variants
        options.update(_jpeg_options(hints))
    elif fmt == "PNG":
        if im.mode == "P" and im.width * im.height <= PNG_OPTIMIZE_MAX_PIXELS:
            options["optimize"] = True
        else:
            options["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt in ("WEBP", "AVIF"):
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
        options.update(quality=WEBP_QUALITY if fmt == "WEBP" else AVIF_QUALITY)
    elif fmt == "GIF":
        if im.mode not in ("P", "L", "RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
    else:
        raise ConversionError(f"cannot write format {fmt!r}")
    icc = hints.get("icc_profile")
    if icc and fmt != "GIF" and profile_fits(icc, im.mode):
        options["icc_profile"] = icc
    lossy = _save(im, fmt, options)
    if fmt == "WEBP" and hints.get("lossless"):
        # A lossless original's variants stay lossless unless that is larger than the lossy encoding.
        lossless = _save(im, fmt, dict(options, lossless=True, quality=LOSSLESS_WEBP_EFFORT))
        return lossless if len(lossless) <= len(lossy) else lossy
    return lossy


def _save(im: Image.Image, fmt: str, options: dict) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()
