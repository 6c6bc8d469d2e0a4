"""The pipeline: decode once, resize in cascade, encode; bytes in, variants out."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin

from .. import heif, svg  # noqa: F401 -- heif: importing it registers the HEIC/HEIF opener
from ..formats import ALLOWED_PILLOW_FORMATS, PILLOW_ALIASES, variant_format
from ..validation import DEFAULT_MAX_PIXELS
from . import resample
from .colour import working_mode
from .containers import reusable_original, webp_lossless
from .encode import encode, estimate_jpeg_quality
from .errors import ConversionError, UndecodableImage
from .orient import _SWAPS, _TRANSPOSE, orientation_of
from .palette import palette_plan, to_palette
from .resample import fit_within
from .vector import rasterize


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
    format: str  # the original's format: Pillow's name (an MPO is JPEG) or SVG
    width: int  # the original as displayed (after EXIF orientation)
    height: int
    variants: dict[str, Variant]
    variant_format: str  # the variants' format (formats.variant_format): JPEG, PNG, GIF, WEBP or AVIF


def is_transparent(im: Image.Image) -> bool:
    """Whether some pixel of `im` (in working mode) is not fully opaque."""
    return "A" in im.getbands() and im.getchannel("A").getextrema()[0] < 255  # type: ignore[operator]


def decode(data: bytes, largest: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image.Image, str, dict]:
    """Open, shrink-on-load a JPEG to the smallest scale >= `largest`, decode the first frame once.

    Returns the decoded image, the format name, and the encoder hints of the original.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit is `max_pixels`, below
        im = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_PILLOW_FORMATS))
        if im.width * im.height > max_pixels:
            raise ConversionError(f"{im.width}x{im.height} is over the limit of {max_pixels} pixels")
        fmt = PILLOW_ALIASES.get(im.format or "", im.format or "")  # an MPO's first picture is a JPEG
        hints: dict = {"icc_profile": im.info.get("icc_profile"), "orientation": orientation_of(im),
                       "source_size": im.size}
        if fmt == "JPEG":
            hints["quality"] = estimate_jpeg_quality(getattr(im, "quantization", None))
            hints["subsampling"] = JpegImagePlugin.get_sampling(im)
            resample.shrink_on_load(im, fit_within(im.width, im.height, largest))
        elif fmt == "WEBP":
            hints["lossless"] = webp_lossless(data)
        im.load()
    return im, fmt, hints


def make_variant_images(im: Image.Image, sizes: dict[str, int], orientation: int = 1,
                        source_size: tuple[int, int] | None = None) -> dict[str, Image.Image]:
    """Largest first, each smaller one from the previous; oriented as displayed.

    Every target size is computed from the original's size (`source_size`, before any draft), so
    the cascade never drifts from the original's aspect ratio by rounding twice.
    """
    im = working_mode(im)
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
            resized = resample.resize(source, target)
        if source is im and transpose is not None:
            resized = resized.transpose(transpose)
        out[kind] = resized
        source = resized
    return out


def render_variants(data: bytes, sizes: dict[str, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> Rendition:
    """The whole pipeline: decode once, resize in cascade, encode in the original's format.

    Raises UndecodableImage when the bytes cannot be decoded (a damaged or truncated file: the
    request's fault) and ConversionError when making or encoding the variants failed.
    """
    if svg.looks_like_svg(data):
        return render_drawing(data, sizes, max_pixels)
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
        out_fmt = variant_format(fmt, is_transparent(images[max(sizes, key=lambda k: sizes[k])]))
        reuse = out_fmt == fmt and reusable_original(data, fmt, hints["orientation"])
        encoded: dict[int, bytes] = {}  # variants of the same size share one image: encode it once
        variants = {}
        for kind in sizes:
            vim = images[kind]
            if id(vim) not in encoded:
                if exact is not None and vim.size == exact.size:
                    out = encode(exact, out_fmt, hints)
                else:
                    out = encode(to_palette(vim, plan) if plan else vim, out_fmt, hints)
                if reuse and vim.size == hints["source_size"] and len(data) <= len(out):
                    out = data  # never larger than the original: its bytes carry nothing to strip
                encoded[id(vim)] = out
            variants[kind] = Variant(encoded[id(vim)], vim.width, vim.height)
    except ConversionError:
        raise
    except (*errors, MemoryError) as exc:
        raise ConversionError(f"could not make the variants: {exc}") from exc
    return Rendition(fmt, width, height, variants, out_fmt)


def render_drawing(data: bytes, sizes: dict[str, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> Rendition:
    """An SVG's variants: PNG, each drawn at its own size (imaging.vector), palette PNGs where a flat
    drawing's palette scores as a flat PNG's would. An unsafe SVG is UndecodableImage (an invalid image)."""
    try:
        drawing = svg.inspect(data, max_pixels)
    except svg.UnsafeSvg as exc:
        raise UndecodableImage(str(exc)) from None
    drawn: dict[int, Variant] = {}
    try:
        for longest in sorted(set(sizes.values()), reverse=True):
            im = rasterize(drawing, longest)
            plan = palette_plan(im, "PNG")
            drawn[longest] = Variant(encode(to_palette(im, plan) if plan else im, "PNG", {}), im.width, im.height)
    except Exception as exc:  # noqa: BLE001 -- resvg's errors have no documented type; any is a failed render
        raise ConversionError(f"could not draw the SVG: {exc}") from exc
    return Rendition("SVG", drawing.width, drawing.height, {k: drawn[v] for k, v in sizes.items()}, "PNG")
