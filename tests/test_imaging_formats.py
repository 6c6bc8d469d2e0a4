"""Real photo libraries: phone MPOs, camera MPF previews, HEIC, AVIF, SVG, CMYK, ICC, 16-bit, lossless WebP
and every TIFF compression, made in code as devices write them; variants compared with a reference picture."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, TiffImagePlugin

from devices import (
    HOSTILE_SVGS,
    SAFE_SVG,
    avif_export,
    camera_mpf_preview,
    cmyk_jpeg,
    fax_scan,
    heic_with_alpha,
    iphone_heic,
    lossless_webp,
    phone_mpo,
    rgb_profile,
    scene,
    score,
    screenshot,
    svg_reference,
    with_profile,
)
from snail_backend.formats import EXTENSIONS, VARIANT_TYPES, variant_format, variant_name, variant_names
from snail_backend.imaging import UndecodableImage, fit_within, render_variants
from snail_backend.imaging.containers import webp_lossless
from snail_backend.validation import InvalidImage, validate_image

SIZES = {"sg": 320, "md": 800, "lg": 1600}
MIN_DB = 30.0  # a turned, flipped or wrongly coloured variant of these scenes scores below 15 dB


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _assert_matches(result, picture: Image.Image, fmt: str) -> None:
    assert (result.width, result.height) == picture.size
    for kind, side in SIZES.items():
        v = result.variants[kind]
        im = _open(v.data)
        assert im.format == fmt, kind
        assert im.size == (v.width, v.height) == fit_within(*picture.size, side), kind
        assert 0x0112 not in im.getexif()  # turned pixels, no tag to turn them again
        assert score(v.data, picture) >= MIN_DB, kind


def test_a_phone_mpo_with_a_second_picture_and_orientation_8_is_a_jpeg() -> None:
    data, picture = phone_mpo(orientation=8)
    assert Image.open(io.BytesIO(data)).format == "MPO"  # what Pillow calls it
    info = validate_image(data, "DCIM/IMG_0412.JPEG")
    assert (info.format, info.content_type, info.frames) == ("JPEG", "image/jpeg", 2)
    result = render_variants(data, SIZES)
    assert (result.format, result.variant_format) == ("JPEG", "JPEG")
    assert picture.size == (900, 1200)  # orientation 8 turns the stored 1200x900
    _assert_matches(result, picture, "JPEG")


def test_a_wrong_orientation_would_fail_the_comparison() -> None:
    """The reference comparison can fail: the same variants against the unturned picture score low."""
    data, picture = phone_mpo(orientation=3)  # 180 degrees: the same size either way
    lg = render_variants(data, SIZES).variants["lg"].data
    assert score(lg, picture) >= MIN_DB
    assert score(lg, picture.transpose(Image.Transpose.ROTATE_180)) < 15


def test_a_camera_jpeg_with_an_mpf_preview_gives_variants_of_the_main_picture() -> None:
    data, picture = camera_mpf_preview()
    assert validate_image(data, "DSC01234.JPG").format == "JPEG"
    result = render_variants(data, SIZES)
    _assert_matches(result, picture, "JPEG")
    assert result.variants["lg"].width == 1600  # from the 1800 px main picture, not the 640 px preview


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_an_iphone_heic_is_turned_as_the_camera_said_and_gives_jpeg_variants(orientation: int) -> None:
    data, picture = iphone_heic(orientation)
    info = validate_image(data, f"IMG_{orientation}.HEIC")
    assert (info.format, info.content_type, (info.width, info.height)) == ("HEIF", "image/heic", picture.size)
    result = render_variants(data, SIZES)
    assert (result.format, result.variant_format) == ("HEIF", "JPEG")
    _assert_matches(result, picture, "JPEG")


def test_a_heic_with_transparency_gives_png_variants_that_keep_it() -> None:
    data, picture = heic_with_alpha()
    assert validate_image(data, "sticker.heif").content_type == "image/heif"
    result = render_variants(data, SIZES)
    assert result.variant_format == "PNG"
    _assert_matches(result, picture, "PNG")
    sg = _open(result.variants["sg"].data).convert("RGBA")
    assert sg.getpixel((10, 10))[3] == 0 and sg.getpixel((300, 200))[3] == 255


@pytest.mark.parametrize("orientation", [1, 6])
def test_avif_gives_avif_variants(orientation: int) -> None:
    data, picture = avif_export(orientation)
    assert validate_image(data, "export.avif").content_type == "image/avif"
    result = render_variants(data, SIZES)
    assert (result.format, result.variant_format) == ("AVIF", "AVIF")
    _assert_matches(result, picture, "AVIF")


def test_a_cmyk_jpeg_gives_rgb_variants_of_the_same_colours() -> None:
    data, picture = cmyk_jpeg()
    assert _open(data).mode == "CMYK"
    result = render_variants(data, SIZES)
    for v in result.variants.values():
        assert _open(v.data).mode == "RGB"
    _assert_matches(result, picture, "JPEG")


def test_a_ycck_jpeg_gives_rgb_variants_of_what_libjpeg_decodes() -> None:
    """Photoshop's YCCK: Pillow cannot write one, so the CMYK file's Adobe marker is set to transform 2
    (YCCK); libjpeg then decodes the same scans as YCCK to CMYK, and the variants are RGB of that."""
    cmyk, _ = cmyk_jpeg()
    at = cmyk.index(b"\xff\xee") + 15  # APP14: marker, length, "Adobe", version, flags0, flags1, transform
    assert cmyk[at - 11:at - 6] == b"Adobe" and cmyk[at] == 0
    ycck = cmyk[:at] + b"\x02" + cmyk[at + 1:]
    decoded = _open(ycck)
    assert (decoded.mode, decoded.info["adobe_transform"]) == ("CMYK", 2)
    result = render_variants(ycck, SIZES)
    for v in result.variants.values():
        assert _open(v.data).mode == "RGB" and score(v.data, decoded.convert("RGB")) >= MIN_DB


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "AVIF", "TIFF"])
def test_an_rgb_icc_profile_stays_attached_to_the_variants(fmt: str) -> None:
    icc = rgb_profile()
    data = with_profile(scene((700, 500)), fmt, icc)
    result = render_variants(data, SIZES)
    for v in result.variants.values():
        assert _open(v.data).info.get("icc_profile") == icc


def test_an_iphone_heic_s_colour_profile_stays_attached_to_its_jpeg_variants() -> None:
    icc = rgb_profile()  # an iPhone's is Display P3: any RGB profile travels the same way
    data, picture = iphone_heic(6, icc=icc)
    result = render_variants(data, SIZES)
    for v in result.variants.values():
        assert _open(v.data).info.get("icc_profile") == icc
    _assert_matches(result, picture, "JPEG")


def test_a_cmyk_profile_is_not_carried_onto_rgb_variants() -> None:
    from snail_backend.imaging.colour import profile_fits

    cmyk_header = bytes(16) + b"CMYK" + bytes(108)
    assert not profile_fits(cmyk_header, "RGB") and not profile_fits(rgb_profile(), "L")
    assert profile_fits(rgb_profile(), "RGB") and profile_fits(rgb_profile(), "P")


def test_a_lossless_webp_gives_lossless_variants() -> None:
    data, picture = lossless_webp()
    assert webp_lossless(data)
    result = render_variants(data, SIZES)
    for kind, v in result.variants.items():
        assert webp_lossless(v.data), kind
        assert score(v.data, picture) >= 40, kind  # only the resize differs


@pytest.mark.parametrize("picture", [scene((800, 533)), screenshot((800, 533))], ids=["photo-like", "flat"])
def test_a_lossless_webp_variant_is_lossy_only_where_that_is_smaller(picture: Image.Image) -> None:
    from snail_backend.imaging import encode

    lossless, lossy = io.BytesIO(), io.BytesIO()
    picture.save(lossless, "WEBP", lossless=True, quality=80)
    picture.save(lossy, "WEBP", quality=90)
    got = encode(picture, "WEBP", {"lossless": True})
    assert got == min(lossless.getvalue(), lossy.getvalue(), key=len)
    assert webp_lossless(got) is (len(lossless.getvalue()) <= len(lossy.getvalue()))


def test_a_lossy_webp_stays_lossy() -> None:
    buf = io.BytesIO()
    scene((900, 600)).save(buf, "WEBP", quality=80)
    assert not webp_lossless(buf.getvalue())
    assert not any(webp_lossless(v.data) for v in render_variants(buf.getvalue(), SIZES).variants.values())


# Every compression Pillow's TIFF reader knows. The ones Pillow cannot write are listed with why:
# a test file for them cannot be made here.
UNWRITABLE = {
    "tiff_sgilog": "LogLuv needs float data Pillow has no mode for",
    "tiff_sgilog24": "LogLuv needs float data Pillow has no mode for",
    "tiff_thunderscan": "libtiff has no ThunderScan encoder",
    "webp": "Pillow's libtiff is built without WebP-in-TIFF",
}
ONE_BIT = {"group3", "group4", "tiff_ccitt", "tiff_raw_16"}  # fax codings: 1-bit only


def test_the_compressions_tested_are_all_that_pillow_reads() -> None:
    tested = {c for c, _ in TIFF_CASES}
    assert tested | set(UNWRITABLE) == set(TiffImagePlugin.COMPRESSION_INFO.values())


TIFF_CASES = [(c, "1") for c in sorted(ONE_BIT | {"packbits", "raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate",
                                                   "lzma", "zstd"})] + [
    (c, mode) for c in ("jpeg", "tiff_jpeg", "packbits", "raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate",
                        "lzma", "zstd") for mode in ("L", "RGB")]


@pytest.mark.parametrize(("compression", "mode"), TIFF_CASES)
def test_every_tiff_compression_gives_variants(compression: str, mode: str) -> None:
    if mode == "1":
        data, picture = fax_scan(compression, (960, 640))
    else:
        picture = scene((960, 640)).convert(mode)
        buf = io.BytesIO()
        picture.save(buf, "TIFF", compression=compression)
        data = buf.getvalue()
    assert validate_image(data, "scan.tif").format == "TIFF"
    result = render_variants(data, SIZES)  # the fax coding once reached the variant's encoder: error -2
    assert result.variant_format == "JPEG"
    _assert_matches(result, picture, "JPEG")


def test_a_safe_svg_gives_png_variants_drawn_at_each_size() -> None:
    info = validate_image(SAFE_SVG, "icons/logo.SVG")
    assert (info.format, info.content_type, info.width, info.height) == ("SVG", "image/svg+xml", 48, 24)
    result = render_variants(SAFE_SVG, SIZES)
    assert (result.format, result.variant_format, result.width, result.height) == ("SVG", "PNG", 48, 24)
    for kind, side in SIZES.items():
        v = result.variants[kind]
        im = _open(v.data)
        assert im.format == "PNG" and im.size == (v.width, v.height) == (side, side // 2), kind  # never "not enlarged"
        assert score(v.data, svg_reference(side)) >= MIN_DB, kind
        assert im.convert("RGBA").getpixel((side - 1, 0))[3] == 0  # the drawing's clear background stays clear


@pytest.mark.parametrize(("svg", "units", "want"), [
    ('width="2in" height="1in"', "", (192, 96)),
    ('width="100%" height="100%" viewBox="0 0 300 150"', "", (300, 150)),
    ('viewBox="0,0,64,32"', "", (64, 32)),
    ('width="50" viewBox="0 0 100 25"', "", (50, 12)),
])
def test_the_catalog_size_of_an_svg_is_its_own(svg: str, units: str, want: tuple[int, int]) -> None:
    data = f'<svg xmlns="http://www.w3.org/2000/svg" {svg}><rect width="5" height="5"/></svg>'.encode()
    info = validate_image(data, "a.svg")
    assert (info.width, info.height) == want


@pytest.mark.parametrize(("data", "reason"), HOSTILE_SVGS)
def test_a_hostile_svg_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidImage, match=None) as refused:
        validate_image(data, "evil.svg")
    assert reason in str(refused.value)
    with pytest.raises(UndecodableImage) as again:  # the backend's render refuses it on its own too
        render_variants(data, SIZES)
    assert reason in str(again.value)


def test_an_svg_declared_over_the_pixel_limit_is_refused() -> None:
    data = b'<svg xmlns="http://www.w3.org/2000/svg" width="10000" height="10000"/>'
    with pytest.raises(InvalidImage, match="10000x10000 px, over the limit of 1000000 pixels"):
        validate_image(data, "huge.svg", max_pixels=1_000_000)


@pytest.mark.parametrize(("original", "transparent", "want"), [
    ("JPEG", False, "JPEG"), ("MPO", False, "JPEG"), ("PNG", True, "PNG"), ("GIF", True, "GIF"),
    ("WEBP", True, "WEBP"), ("AVIF", False, "AVIF"), ("TIFF", False, "JPEG"), ("TIFF", True, "PNG"),
    ("BMP", False, "JPEG"), ("BMP", True, "PNG"), ("HEIF", False, "JPEG"), ("HEIF", True, "PNG"),
    ("SVG", False, "PNG"),
])
def test_variant_format_table(original: str, transparent: bool, want: str) -> None:
    assert variant_format(original, transparent) == want


def test_a_converted_variant_is_named_with_its_own_extension() -> None:
    assert variant_name("0123.png", "PNG") == "0123.png" and variant_name("0123.jpeg", "JPEG") == "0123.jpeg"
    assert variant_name("0123.heic", "JPEG") == "0123.heic.jpg" and variant_name("0123.svg", "PNG") == "0123.svg.png"
    # .tif and .tiff of the same bytes are two stored names: their variants never share a key
    assert variant_name("0123.tif", "JPEG") != variant_name("0123.tiff", "JPEG")
    assert variant_names("0123.tif") == ("0123.tif.jpg", "0123.tif.png") and variant_names("0123.gif") == ("0123.gif",)
    for fmt, (ext, content_type) in VARIANT_TYPES.items():
        assert EXTENSIONS[ext].content_type == content_type and EXTENSIONS[ext].pillow == fmt


@pytest.mark.parametrize("name", ["notes.txt", "design.psd", "Makefile", "clip.mov"])
def test_an_unsupported_extension_is_named_with_the_supported_list(name: str) -> None:
    with pytest.raises(InvalidImage) as refused:
        validate_image(b"anything", name)
    ext = name.rsplit(".", 1)[1] if "." in name else None
    message = str(refused.value)
    assert message.startswith(f".{ext} is not a supported image extension (" if ext else "no extension is not")
    assert "png, jpg, jpeg, gif, bmp, webp, avif, tif, tiff, heic, heif, svg)" in message


def test_an_mpo_is_never_told_to_rename() -> None:
    data, _ = phone_mpo()
    for name in ("IMG_0412.JPEG", "img.jpg", "IMG.JPG"):
        assert validate_image(data, name).format == "JPEG"
    with pytest.raises(InvalidImage, match="content is JPEG but the extension says PNG"):
        validate_image(data, "img.png")


def test_the_variants_command_writes_converted_variants_under_their_own_extension(tmp_path, capsys) -> None:
    import json

    from snail_action.cli import main

    heic, picture = iphone_heic(6)
    (tmp_path / "IMG_0413.HEIC").write_bytes(heic)
    (tmp_path / "logo.svg").write_bytes(SAFE_SVG)
    assert main(["variants", str(tmp_path / "IMG_0413.HEIC"), str(tmp_path / "logo.svg"), "--out",
                 str(tmp_path / "out"), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    for record, (ext, fmt, content_type) in zip(records, [("jpg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png")],
                                                strict=True):
        for v in record["variants"].values():
            assert v["path"].endswith(f"{record['name']}.{ext}") and v["content_type"] == content_type
            assert Image.open(v["path"]).format == fmt
    assert score(Path(records[0]["variants"]["md"]["path"]).read_bytes(), picture) >= MIN_DB


def test_an_svg_nested_up_to_the_limit_is_drawn() -> None:
    from snail_backend.svg import MAX_SVG_DEPTH

    levels = MAX_SVG_DEPTH - 2  # the <svg> and the <rect> are levels too
    data = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' + b"<g>" * levels
            + b'<rect width="10" height="10" fill="#00f"/>' + b"</g>" * levels + b"</svg>")
    sg = _open(render_variants(data, SIZES).variants["sg"].data).convert("RGBA")
    assert sg.getpixel((160, 160)) == (0, 0, 255, 255)
    with pytest.raises(InvalidImage, match="nests deeper"):
        validate_image(data.replace(b"<g>", b"<g><g>", 1).replace(b"</g>", b"</g></g>", 1), "deeper.svg")
