from __future__ import annotations

import io
import struct
import zlib

import pytest

from helpers import image_bytes
from snail_backend.validation import HIGHEST_MAX_PIXELS, InvalidImage, validate_image


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


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` (its pixels are never needed for a header check)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_the_configured_pixel_limit_is_the_one_that_counts_above_pillows_default() -> None:
    data = _png_header(10_000, 10_000)  # 100 MP: over Pillow's warning threshold, under twice it
    with pytest.raises(InvalidImage, match="decompression bomb limit of 89478485"):
        validate_image(data, "big.png", load=False)
    assert validate_image(data, "big.png", max_pixels=HIGHEST_MAX_PIXELS, load=False).width == 10_000


@pytest.mark.parametrize(("fmt", "size"), [("PNG", (60_000, 60_000)), ("JPEG", (60_000, 60_000))])
def test_headers_claiming_billions_of_pixels_are_refused_before_decoding(fmt: str, size: tuple[int, int]) -> None:
    data = _png_header(*size) if fmt == "PNG" else _jpeg_claiming(*size)
    with pytest.raises(InvalidImage, match="decompression bomb"):
        validate_image(data, "x.png" if fmt == "PNG" else "x.jpg", max_pixels=HIGHEST_MAX_PIXELS)


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP", b"iTXt"])
def test_png_text_and_profile_chunk_bombs_are_refused(kind: bytes) -> None:
    bomb = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)  # 64 MB from about 64 KB
    head = {b"zTXt": b"k\0\0", b"iCCP": b"p\0\0", b"iTXt": b"k\0\1\0\0\0"}[kind]
    png = image_bytes("PNG", (8, 8))
    at = png.index(b"IDAT") - 4
    chunk = struct.pack(">I", len(head + bomb)) + kind + head + bomb + struct.pack(">I", zlib.crc32(kind + head + bomb))
    with pytest.raises(InvalidImage, match="too large"):
        validate_image(png[:at] + chunk + png[at:], "bomb.png")


def test_header_checks_do_not_walk_every_frame() -> None:
    from PIL import Image

    pages = [Image.new("L", (4, 4), i) for i in range(50)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    assert validate_image(buf.getvalue(), "pages.tif").frames == 50
    assert validate_image(buf.getvalue(), "pages.tif", load=False).frames == 0  # not counted
