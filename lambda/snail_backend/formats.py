"""The image formats the project accepts, keyed by lower-cased file extension.

Client (planner, checks) and backend (validation, variants) both read this table, so the
two halves cannot disagree about what an image is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    pillow: str  # Image.format as Pillow reports it
    content_type: str


EXTENSIONS: dict[str, ImageFormat] = {
    "png": ImageFormat("PNG", "image/png"),
    "jpg": ImageFormat("JPEG", "image/jpeg"),
    "jpeg": ImageFormat("JPEG", "image/jpeg"),
    "gif": ImageFormat("GIF", "image/gif"),
    "bmp": ImageFormat("BMP", "image/bmp"),
    "webp": ImageFormat("WEBP", "image/webp"),
    "tif": ImageFormat("TIFF", "image/tiff"),
    "tiff": ImageFormat("TIFF", "image/tiff"),
}

ALLOWED_PILLOW_FORMATS: frozenset[str] = frozenset(f.pillow for f in EXTENSIONS.values())


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
