"""Colour and depth: the working mode of the pixels, CMYK to sRGB, 16 bits to 8, and which ICC
profile a variant may carry.

The ICC decision: a variant keeps the original's embedded profile when the profile describes the
variant's own colour space (an RGB profile on RGB pixels, a grey one on grey): browsers colour-manage
JPEG, PNG, WebP and AVIF, so a Display P3 photo stays P3 and nothing is lost to a conversion. When
the pixels change colour space (a CMYK or YCCK JPEG, whose variants are RGB), they are converted to
sRGB, through the embedded CMYK profile when there is one (LittleCMS, built into Pillow), and the
variant carries no profile (sRGB is what a browser assumes).
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms

_PROFILE_SPACES = {b"RGB ": ("RGB", "RGBA", "P"), b"GRAY": ("L", "LA")}


def profile_fits(icc: bytes | None, mode: str) -> bool:
    """Whether an ICC profile (its header's colour space, bytes 16-19) describes pixels of `mode`."""
    return icc is not None and len(icc) >= 20 and mode in _PROFILE_SPACES.get(bytes(icc[16:20]), ())


def cmyk_to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """A CMYK image (a YCCK JPEG decodes to CMYK too) as sRGB: through its own profile when it has
    a usable CMYK one, else Pillow's plain conversion."""
    if icc and bytes(icc[16:20]) == b"CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a damaged profile: the plain conversion still gives the picture
    return im.convert("RGB")


def to_eight_bits(im: Image.Image) -> Image.Image:
    """16- and 32-bit integer grey as 8-bit grey, scaled (Pillow's own convert clips at 255)."""
    if im.mode != "I":
        im = im.convert("I")
    return im.point(lambda v: v / 257).convert("L")


def working_mode(im: Image.Image) -> Image.Image:
    """A mode every filter and every variant writer handles: palettes and 1-bit become full colour or
    grey, 16-bit grey 8-bit grey, CMYK and the other spaces RGB."""
    mode = im.mode
    if mode == "P":
        has_alpha = "transparency" in im.info or im.palette is not None and im.palette.mode == "RGBA"
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "PA":
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")  # grey variants of a 1-bit image read better than re-dithered ones
    if mode == "CMYK":
        return cmyk_to_srgb(im, im.info.get("icc_profile"))
    if mode in ("RGBX", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB")
    if mode.startswith("I;16") or mode == "I":
        return to_eight_bits(im)
    if mode == "F":
        return im.convert("L")
    return im
