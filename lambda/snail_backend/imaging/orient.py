"""EXIF orientation: which turn an image still needs, and the transposes that apply it."""

from __future__ import annotations

import io

from PIL import Image

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_SWAPS = (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90)


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
