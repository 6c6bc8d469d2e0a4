"""The demo's phone, HEIC and SVG samples are what they say: Pillow reports the phone photo as MPO with
orientation 8, the HEIC decodes (pi-heif) to the sunset turned upright, the SVG is a safe drawing."""

from __future__ import annotations

import io

from PIL import Image

from devices import score
from snail_action.demo.demo_samples import iphone_heic, phone_photo_mpo, snail_svg
from snail_action.demo.sample_repo import sunset
from snail_backend.imaging import render_variants
from snail_backend.validation import validate_image


def test_the_phone_photo_is_an_mpo_with_a_depth_map_and_orientation_8() -> None:
    data = phone_photo_mpo()
    im = Image.open(io.BytesIO(data))
    assert im.format == "MPO" and im.n_frames == 2 and im.getexif()[0x0112] == 8
    assert validate_image(data, "photos/IMG_0412.JPEG").format == "JPEG"
    assert render_variants(data, {"sg": 320, "md": 800, "lg": 1600}).width == 1200  # shown upright, landscape


def test_the_heic_photo_decodes_upright_as_the_sunset() -> None:
    data = iphone_heic()
    info = validate_image(data, "photos/IMG_0413.HEIC")
    assert (info.format, info.width, info.height) == ("HEIF", 480, 300)
    md = render_variants(data, {"sg": 320, "md": 800, "lg": 1600}).variants["md"].data
    assert score(md, Image.open(io.BytesIO(sunset((480, 300)))).convert("RGB")) >= 30


def test_the_svg_icon_is_safe_and_drawn() -> None:
    assert validate_image(snail_svg(), "icons/snail.svg").width == 64
    lg = render_variants(snail_svg(), {"sg": 320, "md": 800, "lg": 1600}).variants["lg"]
    assert (lg.width, lg.height) == (1600, 1600)
