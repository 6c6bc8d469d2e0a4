from __future__ import annotations

import pytest

from helpers import image_bytes
from snail_backend.validation import InvalidImage, validate_image


@pytest.mark.parametrize(
    ("fmt", "name", "mode"),
    [("PNG", "a.png", "RGBA"), ("JPEG", "IMG_1296.JPEG", "RGB"), ("GIF", "x.Gif", "P"),
     ("BMP", "b.bmp", "RGB"), ("WEBP", "w.webp", "RGB"), ("TIFF", "t.TIF", "RGB")],
)
def test_accepts_each_allowed_format_case_insensitively(fmt: str, name: str, mode: str) -> None:
    info = validate_image(image_bytes(fmt, mode=mode), name)
    assert (info.format, info.width, info.height) == (fmt, 64, 48)


def test_refuses_format_that_does_not_match_extension() -> None:
    with pytest.raises(InvalidImage, match="content is PNG but the extension says JPEG"):
        validate_image(image_bytes("PNG"), "photo.jpg")


def test_refuses_truncated_file() -> None:
    data = image_bytes("JPEG", size=(256, 256))
    with pytest.raises(InvalidImage, match="truncated"):
        validate_image(data[: len(data) // 2], "cut.jpg")


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty"), (b"not an image at all", "not a readable")])
def test_refuses_empty_and_garbage(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidImage, match=reason):
        validate_image(data, "x.png")


def test_refuses_lfs_pointer() -> None:
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"
    with pytest.raises(InvalidImage, match="LFS"):
        validate_image(pointer, "big.png")


def test_refuses_images_over_the_pixel_limit() -> None:
    with pytest.raises(InvalidImage, match="decompression bomb"):
        validate_image(image_bytes("PNG", size=(200, 200)), "big.png", max_pixels=10_000)
