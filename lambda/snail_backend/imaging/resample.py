"""Resizing: the fitted size, and the convolution, by fast_image_resize's SIMD code where installed.

The filter is the Catmull-Rom cubic (Pillow's BICUBIC), chosen by measurement (bench/resize_bench.py,
filter study): against a full-decode LANCZOS reference it scores as well as LANCZOS after the JPEG
draft (the DCT scaling dominates the error). The convolution runs in `cykooz.resizer`, the Python
binding of the Rust crate fast_image_resize: the same separable convolution as Pillow's, with AVX2,
SSE4.1 or NEON code, measured at a fifth of Pillow's CPU time for the same filter (2 MP JPEG to 1600 px:
3.4 against 18.6 ms; 24 MP at 3/8 scale: 3.6 against 25.5 ms; docs/performance-variants.md). It has
wheels for Linux x86_64 (Lambda), macOS and Windows; elsewhere (Linux on ARM) the package is not
installed and Pillow's own BICUBIC, the same filter, runs instead.
"""

from __future__ import annotations

import math
import threading

from PIL import Image, ImageFile, features

try:
    from cykooz_resizer import CropBox, FilterType, ResizeAlg, ResizeOptions, Resizer
except ImportError:  # no wheel for this platform: Pillow's resampler, the same filter
    Resizer = None

RESAMPLE = Image.Resampling.BICUBIC  # Pillow's name for the filter; the fallback's resampler
FILTER = "catmull_rom"  # the same filter's name in cykooz.resizer (FilterType)
# A shrink by more than twice this factor first box-averages by the whole factor that leaves at least
# this much to the filter (Pillow's `reducing_gap`, which the filter study measured as indistinguishable
# at 2.0): the convolution's cost grows with the factor, the box average's does not.
REDUCING_GAP = 2.0
# The modes the SIMD convolution takes as they are ("RGBa": premultiplied alpha, for the bands below).
SIMD_MODES = frozenset({"L", "RGB", "RGBA", "RGBa", "CMYK"})
# Alpha images are resized premultiplied; above this many pixels (16 MB of RGBA) that happens strip by
# strip, so the peak stays near the decoded image's own size (measured: 89 MP RGBA PNG, 809 -> ~385 MB).
PREMULTIPLY_STRIP_PIXELS = 4_000_000
_local = threading.local()  # a Resizer keeps scratch buffers: one per thread (serve runs handlers in threads)


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


def resize(im: Image.Image, size: tuple[int, int], gap: float | None = REDUCING_GAP) -> Image.Image:
    """`im` resized to `size` with the filter, premultiplied when it has alpha: a box average first when
    the shrink is over `gap` times twice (see REDUCING_GAP), then the convolution."""
    if im.mode in ("RGBA", "LA") and im.width * im.height > PREMULTIPLY_STRIP_PIXELS:
        # A premultiplied full-size copy would cost 358 MB more at the pixel limit: premultiply (and
        # box-reduce) strip by strip instead.
        return _premultiplied_resize(im, size, gap)
    if im.mode == "LA":  # grey with alpha: resized as RGBA (R = G = B), which the SIMD code takes
        return resize(im.convert("RGBA"), size, gap).convert("LA")
    fx, fy = _reduction(im.size, size, gap)
    box = None
    if fx > 1 or fy > 1:  # what Image.resize does with reducing_gap: the box keeps the exact geometry
        box = (0.0, 0.0, im.width / fx, im.height / fy)
        im = im.reduce((fx, fy))
    return convolve(im, size, box)


def _reduction(source: tuple[int, int], size: tuple[int, int], gap: float | None) -> tuple[int, int]:
    if gap is None:
        return 1, 1
    return int(source[0] / size[0] / gap) or 1, int(source[1] / size[1] / gap) or 1


def convolve(im: Image.Image, size: tuple[int, int],
             box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """The `box` part of `im` (all of it by default) convolved to `size` with the filter: the SIMD code
    for the modes it takes (an RGBA image premultiplied on the way, as Pillow does), Pillow otherwise."""
    if Resizer is None or im.mode not in SIMD_MODES:
        return im.resize(size, RESAMPLE, box=box)
    out = Image.new(im.mode, size, None)  # not cleared: the resizer writes every pixel
    options = ResizeOptions(resize_alg=ResizeAlg.convolution(FilterType[FILTER]))
    if box is not None:
        options.crop_box = CropBox(box[0], box[1], box[2] - box[0], box[3] - box[1])
    resizer = getattr(_local, "resizer", None)
    if resizer is None:
        resizer = _local.resizer = Resizer()
    resizer.resize_pil(im, out, options)
    return out


def _premultiplied_resize(im: Image.Image, size: tuple[int, int], gap: float | None) -> Image.Image:
    """What `resize` computes for an RGBA or LA image, without a premultiplied copy of the whole image: each
    output band premultiplies (and box-reduces) only the source rows its filter reads."""
    width, height = im.size
    fx, fy = _reduction(im.size, size, gap)
    reduced_height = -(-height // fy)
    scale = reduced_height and height / fy / size[1]  # output row -> row of the reduced image
    margin = math.ceil(2 * scale) + 4  # beyond the filter's support (2 output pixels each way)
    count = max(2, -(-width * height // PREMULTIPLY_STRIP_PIXELS))
    bounds = sorted({round(size[1] * i / count) for i in range(count + 1)})
    out = Image.new("RGBa", size)
    for y0, y1 in zip(bounds, bounds[1:], strict=False):  # each band is pasted, then dropped
        # Reduced rows r0..r1 come from whole reduction blocks of source rows, as in the whole image.
        r0, r1 = max(0, math.floor(y0 * scale) - margin), min(reduced_height, math.ceil(y1 * scale) + margin)
        part = im.crop((0, r0 * fy, width, min(height, r1 * fy)))
        part = (part.convert("RGBA") if part.mode == "LA" else part).convert("RGBa")
        if fx > 1 or fy > 1:
            part = part.reduce((fx, fy))
        out.paste(convolve(part, (size[0], y1 - y0), (0, y0 * scale - r0, width / fx, y1 * scale - r0)), (0, y0))
        del part
    return out.convert("RGBA").convert(im.mode)
