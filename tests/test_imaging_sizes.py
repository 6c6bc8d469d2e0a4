"""Variant byte sizes: a "small" variant is small, never needlessly larger than the original."""

from __future__ import annotations

import io
import math
import random

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat, PngImagePlugin

from helpers import image_bytes
from snail_backend.imaging import render_variants

SIZES = {"sg": 320, "md": 800, "lg": 1600}


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def psnr(a: Image.Image, b: Image.Image) -> float:
    """PSNR of `a` against `b` over all of `b`'s bands (the test's own, not the code's)."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert(b.mode), b))
    mse = sum(stat.sum2) / (b.width * b.height * len(stat.sum2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _flat(size: tuple[int, int], mode: str, seed: int = 1) -> Image.Image:
    """A flat-colour drawing (an icon or diagram): a few colours, hard edges."""
    rng = random.Random(seed)
    im = Image.new(mode, size, (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    draw = ImageDraw.Draw(im)
    w, h = size
    colours = [tuple(rng.randrange(256) for _ in range(3)) + ((255,) if mode == "RGBA" else ()) for _ in range(6)]
    for i in range(20):  # inside a clear margin, so that the corners show the background
        x0, y0 = rng.randrange(w // 10, w * 7 // 10), rng.randrange(h // 10, h * 7 // 10)
        x1, y1 = rng.randrange(x0 + 1, w * 9 // 10), rng.randrange(y0 + 1, h * 9 // 10)
        (draw.ellipse if i % 2 else draw.rectangle)((x0, y0, x1, y1), fill=colours[i % 6])
    return im


def _png(im: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True, **save)
    return buf.getvalue()


def _palette_with_transparency(size: tuple[int, int]) -> bytes:
    return _png(_flat(size, "RGBA").quantize(16, method=Image.Quantize.FASTOCTREE))


def test_a_flat_palette_pngs_small_variant_is_smaller_than_the_original() -> None:
    data = _png(_flat((1024, 768), "RGB").quantize(16))
    sg = render_variants(data, SIZES).variants["sg"]
    assert (sg.width, sg.height) == (320, 240)
    assert sg.size < len(data)


def test_a_palette_original_gives_palette_variants_with_its_transparency() -> None:
    data = _palette_with_transparency((640, 480))
    original = _open(data).convert("RGBA")
    assert original.getpixel((0, 0))[3] == 0  # the drawing's background is transparent
    for kind, v in render_variants(data, SIZES).variants.items():
        im = _open(v.data)
        assert im.mode == "P" and "transparency" in im.info, kind
        rgba = im.convert("RGBA")
        assert rgba.getpixel((0, 0))[3] == 0
        reference = original.resize(im.size, Image.Resampling.BICUBIC)
        assert psnr(rgba, reference) > 30, kind  # the same picture (the resample differs slightly)


def test_a_flat_truecolour_icons_variants_become_small_faithful_palette_images() -> None:
    icon = _flat((512, 512), "RGBA")
    data = _png(icon)
    result = render_variants(data, SIZES)
    sg = _open(result.variants["sg"].data)
    assert sg.mode == "P" and sg.size == (320, 320)
    assert result.variants["sg"].size < len(data)
    # Compared premultiplied, as the picture shows: the colour of a nearly transparent edge pixel (alpha 2
    # of 255) is invisible, and the fixed-point resizers round it far apart.
    reference = icon.resize((320, 320), Image.Resampling.BICUBIC).convert("RGBa")
    assert psnr(sg.convert("RGBA").convert("RGBa"), reference) > 40


def test_a_photo_like_png_keeps_truecolour() -> None:
    data = image_bytes("PNG", (400, 300), "RGB", seed=4)  # gradients: thousands of colours
    for v in render_variants(data, {"sg": 100, "md": 400}).variants.values():
        assert _open(v.data).mode == "RGB"


def test_a_same_size_variant_of_a_metadata_free_png_is_the_original_bytes() -> None:
    data = _png(_flat((512, 512), "RGB").quantize(16))
    variants = render_variants(data, SIZES).variants
    assert variants["md"].data == variants["lg"].data
    assert len(variants["lg"].data) <= len(data)  # the original's bytes, or smaller still
    photo = image_bytes("PNG", (200, 150), "RGB", seed=2, compress_level=9)
    assert render_variants(photo, SIZES).variants["lg"].data == photo


@pytest.mark.parametrize("metadata", ["text", "exif", "time"])
def test_a_same_size_variant_of_a_png_with_metadata_is_re_encoded_without_it(metadata: str) -> None:
    im = _open(image_bytes("PNG", (200, 150), "RGB", seed=2))
    save: dict = {"compress_level": 9}
    if metadata == "text":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Someone Private")
        save["pnginfo"] = info
    elif metadata == "exif":
        exif = Image.Exif()
        exif[0x8825] = {2: (48.0, 51.0, 0.0)}  # GPS latitude
        exif[0x0110] = "Camera"
        save["exif"] = exif
    else:
        info = PngImagePlugin.PngInfo()
        info.add(b"tIME", b"\x07\xea\x01\x02\x03\x04\x05")
        save["pnginfo"] = info
    buf = io.BytesIO()
    im.save(buf, "PNG", **save)
    data = buf.getvalue()
    lg = render_variants(data, SIZES).variants["lg"].data
    assert lg != data
    out = _open(lg)
    assert not out.text and not out.getexif() and b"tIME" not in lg and b"Someone" not in lg


def test_a_same_size_gif_is_reused_only_without_comment_or_animation() -> None:
    plain = io.BytesIO()
    _flat((200, 150), "RGB").save(plain, "GIF")
    assert render_variants(plain.getvalue(), SIZES).variants["lg"].data == plain.getvalue()
    commented = io.BytesIO()
    _flat((200, 150), "RGB").save(commented, "GIF", comment=b"shot at home, 48.85N 2.35E")
    lg = render_variants(commented.getvalue(), SIZES).variants["lg"].data
    assert b"48.85N" not in lg and _open(lg).size == (200, 150)
    frames = [Image.new("RGB", (120, 80), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    lg = render_variants(animated.getvalue(), SIZES).variants["lg"].data
    assert getattr(_open(lg), "n_frames", 1) == 1


def test_an_animated_png_same_size_variant_is_a_still_image() -> None:
    frames = [Image.new("RGB", (120, 80), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    lg = render_variants(buf.getvalue(), SIZES).variants["lg"].data
    assert lg != buf.getvalue() and getattr(_open(lg), "n_frames", 1) == 1


def test_a_png_with_data_after_its_end_is_not_reused() -> None:
    data = image_bytes("PNG", (200, 150), "RGB", seed=2, compress_level=9) + b"hidden payload"
    lg = render_variants(data, SIZES).variants["lg"].data
    assert b"hidden payload" not in lg


@pytest.mark.parametrize("fmt", ["JPEG", "GIF"])
def test_variants_never_republish_the_originals_comment(fmt: str) -> None:
    buf = io.BytesIO()
    _flat((400, 300), "RGB").save(buf, fmt, comment=b"home: 48.85N 2.35E")
    for kind, v in render_variants(buf.getvalue(), {"sg": 100, "md": 400}).variants.items():
        assert b"48.85N" not in v.data and "comment" not in _open(v.data).info, kind


def test_a_palette_originals_same_size_variant_has_exactly_its_pixels() -> None:
    rng = random.Random(5)  # 256 colours scattered: a re-quantized copy would lose some of them
    im = Image.new("P", (120, 90))
    im.putpalette([rng.randrange(256) for _ in range(768)])
    im.putdata([rng.randrange(256) for _ in range(120 * 90)])
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "not to be republished")  # so the original bytes are not reused
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info, transparency=7)
    lg = _open(render_variants(buf.getvalue(), SIZES).variants["lg"].data)
    assert lg.mode == "P" and not lg.text
    assert lg.convert("RGBA").tobytes() == _open(buf.getvalue()).convert("RGBA").tobytes()


def _striped_gif(size: tuple[int, int] = (900, 300)) -> bytes:
    im = Image.new("RGB", size, (120, 30, 70))
    draw = ImageDraw.Draw(im)
    for x in range(-size[1], size[0], 24):
        draw.polygon([(x, size[1]), (x + 10, size[1]), (x + 10 + size[1], 0), (x + size[1], 0)], fill=(180, 70, 110))
    buf = io.BytesIO()
    im.save(buf, "GIF")
    return buf.getvalue()


def test_an_opaque_gifs_variants_are_quantized_without_dither_noise() -> None:
    # Left to Pillow's GIF writer, a resized banner is dithered (Floyd-Steinberg): noise that LZW
    # cannot compress, about twice the bytes of the same pixels quantized without dithering.
    data = _striped_gif()
    made = render_variants(data, SIZES)
    md = made.variants["md"]
    assert (md.width, md.height) == (800, 267)
    reference = Image.open(io.BytesIO(data)).convert("RGB").resize((800, 267), Image.Resampling.LANCZOS)
    dithered = io.BytesIO()
    reference.save(dithered, "GIF")
    assert len(md.data) < 0.6 * len(dithered.getvalue())
    im = _open(md.data)
    assert im.format == "GIF" and im.mode == "P"
    assert psnr(im.convert("RGB"), reference) >= 30
