"""Variants: bytes of an image in, bytes of its sg/md/lg variants out. No I/O, no AWS.

How it stays fast and small (numbers in bench/resize_bench.py):
- decode once; a JPEG is decoded at the smallest DCT scale (1/2, 3/8, 1/4, 1/8) that is still at
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

Modules, one job each: `pipeline` (decode, cascade, render_variants), `resample` (fitted size, shrink-on-load,
the SIMD convolution), `orient` (EXIF orientation), `encode` (writers, JPEG quality), `palette` (palette variants),
`containers` (byte-level PNG/GIF reading), `errors`.
"""

from .containers import reusable_original
from .encode import encode, estimate_jpeg_quality
from .errors import ConversionError, UndecodableImage
from .orient import TIFF_OPENS_TURNED, orientation_of
from .palette import palette_plan, psnr, to_palette
from .pipeline import Rendition, Variant, decode, make_variant_images, render_variants
from .resample import PREMULTIPLY_STRIP_PIXELS, REDUCING_GAP, RESAMPLE, fit_within, resize

__all__ = [
    "PREMULTIPLY_STRIP_PIXELS", "REDUCING_GAP", "RESAMPLE", "TIFF_OPENS_TURNED", "ConversionError",
    "Rendition", "UndecodableImage", "Variant", "decode", "encode",
    "estimate_jpeg_quality", "fit_within", "make_variant_images", "orientation_of", "palette_plan", "psnr",
    "render_variants", "resize", "reusable_original", "to_palette",
]
