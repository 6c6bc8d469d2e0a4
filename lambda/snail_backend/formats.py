"""The image formats the project accepts, keyed by lower-cased file extension, and the format of
their variants.

Client (planner, checks) and backend (validation, variants) both read these tables, so the
two halves cannot disagree about what an image is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    pillow: str  # Image.format as Pillow reports it ("SVG": not a Pillow format, parsed by snail_backend.svg)
    content_type: str


EXTENSIONS: dict[str, ImageFormat] = {
    "png": ImageFormat("PNG", "image/png"),
    "jpg": ImageFormat("JPEG", "image/jpeg"),
    "jpeg": ImageFormat("JPEG", "image/jpeg"),
    "gif": ImageFormat("GIF", "image/gif"),
    "bmp": ImageFormat("BMP", "image/bmp"),
    "webp": ImageFormat("WEBP", "image/webp"),
    "avif": ImageFormat("AVIF", "image/avif"),
    "tif": ImageFormat("TIFF", "image/tiff"),
    "tiff": ImageFormat("TIFF", "image/tiff"),
    "heic": ImageFormat("HEIF", "image/heic"),
    "heif": ImageFormat("HEIF", "image/heif"),
    "svg": ImageFormat("SVG", "image/svg+xml"),
}

# What Pillow may report for each accepted format: a JPEG with a second picture (a phone's depth or
# gain map, a camera's MPF preview) opens as MPO, and is a JPEG all the same.
PILLOW_ALIASES: dict[str, str] = {"MPO": "JPEG"}
# Formats Pillow is allowed to open (Image.open's `formats`; JPEG's opener also gives MPO). SVG is
# never handed to Pillow.
ALLOWED_PILLOW_FORMATS: frozenset[str] = frozenset(f.pillow for f in EXTENSIONS.values() if f.pillow != "SVG")

# Every current browser shows these: their variants keep the original's format.
BROWSER_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "GIF", "WEBP", "AVIF"})
# The stored variant's format -> (extension, Content-Type).
VARIANT_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"), "AVIF": ("avif", "image/avif"),
}
SUPPORTED_LIST = ", ".join(EXTENSIONS)  # for messages: "png, jpg, jpeg, ..."


def variant_format(original: str, transparent: bool) -> str:
    """The format of an original's variants: its own when every browser shows it; otherwise JPEG,
    or PNG when the original has transparency (always PNG for an SVG: a drawing's background is clear)."""
    original = PILLOW_ALIASES.get(original, original)
    if original in BROWSER_FORMATS:
        return original
    return "PNG" if transparent or original == "SVG" else "JPEG"


def variant_name(name: str, fmt: str) -> str:
    """The stored name of a variant: the original's name when the variant keeps its format, else the
    name with the variant's extension added (`abc.tiff.jpg`), so the key's extension is the bytes' format
    and two originals that differ only by extension (`.tif`/`.tiff`) never share a variant."""
    ext = VARIANT_TYPES[fmt][0]
    own = EXTENSIONS.get(name.rsplit(".", 1)[-1].lower())
    if own is not None and PILLOW_ALIASES.get(own.pillow, own.pillow) == fmt:
        return name
    return f"{name}.{ext}"


def variant_names(name: str) -> tuple[str, ...]:
    """Every name a variant of the stored `name` can have (for removal, which knows only the name)."""
    own = EXTENSIONS.get(name.rsplit(".", 1)[-1].lower())
    if own is not None and PILLOW_ALIASES.get(own.pillow, own.pillow) in BROWSER_FORMATS:
        return (name,)
    return variant_name(name, "JPEG"), variant_name(name, "PNG")


def extension_of(path: str) -> str:
    """Lower-cased extension without the dot; '' when the last segment has none."""
    name = path.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return ""
    return name.rsplit(".", 1)[-1].lower()


def format_for_path(path: str) -> ImageFormat | None:
    """The accepted format for a repository path, by extension, case-insensitively."""
    return EXTENSIONS.get(extension_of(path))


def content_type_for_path(path: str) -> str | None:
    fmt = format_for_path(path)
    return fmt.content_type if fmt else None


def not_supported(path: str) -> str:
    """The one-line refusal of a path whose extension is not an image's."""
    ext = extension_of(path)
    shown = f".{ext}" if ext else "no extension"
    return f"{shown} is not a supported image extension ({SUPPORTED_LIST})"
