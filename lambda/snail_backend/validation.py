"""Image validation, shared by `snail-images check` and the insert handler.

Pillow is asked to open only the allowed formats, with a decompression-bomb limit, and the
whole image is decoded so that a truncated file is refused here rather than later. An SVG is
never handed to Pillow: snail_backend.svg parses it (defusedxml) and checks it is safe to serve.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from . import heif, svg  # noqa: F401 -- heif: importing it registers the HEIC/HEIF opener
from .formats import ALLOWED_PILLOW_FORMATS, PILLOW_ALIASES, format_for_path, not_supported

# Pillow's own default warning threshold (about 89.5 MP); above it we refuse outright.
DEFAULT_MAX_PIXELS = 89_478_485
# Image.open itself refuses images over twice Pillow's threshold (DecompressionBombError), so a
# configured limit cannot usefully go higher.
HIGHEST_MAX_PIXELS = 2 * DEFAULT_MAX_PIXELS
LFS_POINTER_REASON = "Git LFS pointer, not the image: check out with LFS (actions/checkout `lfs: true`)"


class InvalidImage(ValueError):
    """The content is not an acceptable image; the message says why, for a person."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name (PNG, JPEG, GIF, BMP, WEBP, AVIF, TIFF, HEIF; an MPO is JPEG) or SVG
    content_type: str
    width: int
    height: int
    mode: str
    frames: int  # 0 when not counted (header-only checks)


def validate_image(data: bytes, filename: str, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                   load: bool = True) -> ImageInfo:
    """Check `data` as the image named `filename`; raise InvalidImage with the reason.

    `load=False` checks the header only (format, size, limit): the backend then decodes the pixels
    once, for the variants, and treats a decoding failure there as an invalid image.
    """
    expected = format_for_path(filename)
    if expected is None:
        raise InvalidImage(not_supported(filename))
    if not data:
        raise InvalidImage("empty file")
    if data.startswith(b"version https://git-lfs.github.com/spec/"):
        raise InvalidImage(LFS_POINTER_REASON)
    if expected.pillow == "SVG":
        try:
            drawing = svg.inspect(data, max_pixels)
        except svg.UnsafeSvg as exc:
            raise InvalidImage(str(exc)) from None
        return ImageInfo("SVG", expected.content_type, drawing.width, drawing.height, "RGBA", 1 if load else 0)
    try:
        with warnings.catch_warnings():
            # Our limit (checked below, from the header) is the one that counts; Pillow's own
            # warning at its default would refuse what a raised MAX_IMAGE_PIXELS allows.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=sorted(ALLOWED_PILLOW_FORMATS)) as im:
                fmt = PILLOW_ALIASES.get(im.format or "", im.format or "")  # an MPO is a JPEG
                width, height = im.size
                if width * height > max_pixels:
                    raise InvalidImage(
                        f"{width}x{height} is over the decompression bomb limit of {max_pixels} pixels"
                    )
                if fmt != expected.pillow:
                    raise InvalidImage(
                        f"content is {fmt} but the extension says {expected.pillow}: rename the file or re-export it"
                    )
                # Counting frames walks every frame (a TIFF of a million tiny pages takes minutes):
                # only the full check does; the backend's header check has no use for the count.
                frames = getattr(im, "n_frames", 1) if load else 0
                mode = im.mode
                if load:
                    im.load()  # decodes the first frame fully: a truncated file fails here
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"over the decompression bomb limit: {exc}") from exc
    except UnidentifiedImageError as exc:
        if svg.looks_like_svg(data):
            raise InvalidImage(f"content is SVG but the extension says {expected.pillow}: rename the file") from exc
        raise InvalidImage(f"not a readable {expected.pillow} image (nor one of PNG, JPEG, GIF, BMP, WebP, AVIF, "
                           "TIFF, HEIC/HEIF)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"damaged or truncated image: {exc}") from exc
    return ImageInfo(fmt, expected.content_type, width, height, mode, frames)
