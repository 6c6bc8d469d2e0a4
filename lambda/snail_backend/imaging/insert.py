"""The insert path as one function: the header check, one decode, the encode.

The backend's insert handler (app.py, through the registry) and `snail-images variants` both call
`insert_variants`, so the command writes byte for byte what the backend stores, in the same time,
and bench/variants_bench.py times exactly this function, encode included.

The backend runs the header check (`check_header`) first, before touching the catalog, and passes
its `Header` on, so a PUT checks the header once; the command lets `insert_variants` check it.
The header check is `validate_image(..., load=False)`: the format matches the extension, the size
is under the pixel limit, nothing is decoded (an SVG is parsed and checked safe, never handed to
Pillow). The pixels are decoded once, by `render_variants` (a JPEG or MPO at the smallest DCT scale
still >= the largest variant; an SVG drawn at each variant's size), and a damaged or truncated file
fails there as `UndecodableImage`, before anything is stored. Every accepted format -- JPEG and MPO,
PNG, GIF, BMP, WebP, AVIF, TIFF, HEIC/HEIF, SVG -- takes this one path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from ..formats import ALLOWED_PILLOW_FORMATS
from ..validation import DEFAULT_MAX_PIXELS, ImageInfo, validate_image
from .memory import keep_freed_pixel_memory
from .orient import orientation_of
from .pipeline import Rendition, render_variants

# The processes that import the insert path exist to run it (the insert function's container, the
# variants command, serve): their freed pixel buffers stay for the next image (imaging/memory.py).
KEEPS_FREED_MEMORY = keep_freed_pixel_memory()

# The formats whose files carry an EXIF orientation still to apply (an MPO's format is JPEG here). HEIF
# is not among them: libheif applies the file's rotation, and pi-heif reports the size as displayed.
# An SVG has no orientation.
ORIENTED_FORMATS = frozenset({"JPEG", "TIFF", "WEBP", "PNG", "AVIF"})


@dataclass(frozen=True)
class Header:
    """What the header check learnt: the validated format and size, and the size as displayed."""

    info: ImageInfo
    width: int  # after EXIF orientation
    height: int


@dataclass(frozen=True)
class Inserted:
    header: Header
    rendition: Rendition


def check_header(data: bytes, filename: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header:
    """The header check alone (raises InvalidImage): the backend refuses a bad request with it before
    touching the catalog. Reading the header costs well under a millisecond (nothing is decoded)."""
    info = validate_image(data, filename, max_pixels=max_pixels, load=False)
    width, height = info.width, info.height
    if info.format in ORIENTED_FORMATS:
        with Image.open(io.BytesIO(data), formats=sorted(ALLOWED_PILLOW_FORMATS)) as im:
            if orientation_of(im) in (5, 6, 7, 8):
                width, height = height, width
    return Header(info, width, height)


def insert_variants(data: bytes, filename: str, sizes: dict[str, int],
                    max_pixels: int = DEFAULT_MAX_PIXELS, header: Header | None = None) -> Inserted:
    """The whole insert path for the image `data` named `filename`: the header check (InvalidImage),
    one decode (UndecodableImage when damaged or truncated) and the encode of every variant
    (ConversionError when that fails). `header`: what `check_header` already answered for these
    bytes and this name (the backend checks before touching the catalog), so it is not checked twice."""
    if header is None:
        header = check_header(data, filename, max_pixels)
    return Inserted(header, render_variants(data, sizes, max_pixels))
