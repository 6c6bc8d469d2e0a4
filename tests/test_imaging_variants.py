"""Imaging on real generated files of every mode and format the backend meets."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageMath, ImageOps, ImageStat

from helpers import image_bytes
from snail_backend import imaging
from snail_backend.imaging import (
    ConversionError,
    decode,
    estimate_jpeg_quality,
    fit_within,
    render_variants,
)

SIZES = {"sg": 32, "md": 80, "lg": 160}


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(("w", "h", "side", "want"), [
    (6000, 4000, 1600, (1600, 1067)), (4000, 6000, 1600, (1067, 1600)), (100, 50, 1600, (100, 50)),
    (1600, 10, 320, (320, 2)), (3, 5000, 320, (1, 320)),
])
def test_fit_within_keeps_aspect_and_never_enlarges(w: int, h: int, side: int, want: tuple[int, int]) -> None:
    assert fit_within(w, h, side) == want


CASES = [
    ("PNG", "RGBA", "RGBA"), ("PNG", "RGB", "RGB"), ("PNG", "LA", "LA"), ("PNG", "L", "L"),
    ("PNG", "I;16", "L"), ("PNG", "1", "L"), ("PNG", "P", "P"),
    ("JPEG", "RGB", "RGB"), ("JPEG", "L", "L"), ("JPEG", "CMYK", "RGB"),
    ("GIF", "P", "P"), ("BMP", "RGB", "RGB"), ("BMP", "1", "L"),
    ("WEBP", "RGB", "RGB"), ("WEBP", "RGBA", "RGBA"),
    ("TIFF", "RGB", "RGB"), ("TIFF", "CMYK", "RGB"), ("TIFF", "I;16", "L"), ("TIFF", "LA", "LA"),
]
# Variants keep a format every browser shows (JPEG, PNG, GIF, WebP, AVIF); BMP and TIFF give JPEG,
# or PNG when the original has transparency (the LA cases have a gradient alpha).
BROWSER = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WEBP", "BMP": "JPEG", "TIFF": "JPEG"}


def _sample(fmt: str, mode: str) -> bytes:
    if "A" not in mode:
        return image_bytes(fmt, (300, 200), mode, seed=3)
    im = _open(image_bytes("PNG", (300, 200), "RGB", seed=3)).convert(mode)
    alpha = Image.linear_gradient("L").resize((300, 200))  # real transparency, kept by every encoder
    im.putalpha(alpha)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "mode", "variant_mode"), CASES)
def test_every_mode_makes_fitting_variants_in_a_format_browsers_show(fmt: str, mode: str, variant_mode: str) -> None:
    data = _sample(fmt, mode)
    result = render_variants(data, SIZES)
    want = "PNG" if "A" in mode and fmt not in ("WEBP", "PNG") else BROWSER[fmt]
    assert (result.format, result.width, result.height, result.variant_format) == (fmt, 300, 200, want)
    for kind, side in SIZES.items():
        v = result.variants[kind]
        im = _open(v.data)
        assert im.format == want
        assert im.size == (v.width, v.height) == fit_within(300, 200, side)
        assert im.mode == variant_mode
        assert v.size == len(v.data)


def test_small_images_are_never_enlarged() -> None:
    result = render_variants(image_bytes("PNG", (50, 20)), {"sg": 320, "md": 800, "lg": 1600})
    assert {(v.width, v.height) for v in result.variants.values()} == {(50, 20)}


def _quadrants(size=(80, 40)) -> Image.Image:
    """Four colours, one per quadrant: every flip and turn gives a different picture."""
    im = Image.new("RGB", size)
    w, h = size
    for x0, y0, colour in [(0, 0, (255, 0, 0)), (w // 2, 0, (0, 255, 0)), (0, h // 2, (0, 0, 255)),
                           (w // 2, h // 2, (255, 255, 0))]:
        im.paste(colour, (x0, y0, x0 + w // 2, y0 + h // 2))
    return im


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(fmt: str, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    _quadrants().save(buf, fmt, exif=exif, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    data = buf.getvalue()
    expected = ImageOps.exif_transpose(_open(data)).convert("RGB")  # Pillow's reading of the tag
    assert expected.size == ((40, 80) if orientation >= 5 else (80, 40))
    result = render_variants(data, {"sg": 20, "md": 30, "lg": 60})
    assert (result.width, result.height) == expected.size
    for kind, side in {"sg": 20, "md": 30, "lg": 60}.items():
        im = _open(result.variants[kind].data)
        assert im.size == fit_within(*expected.size, side)
        assert 0x0112 not in im.getexif()  # pixels turned; no tag to turn them again
        rgb, ref = im.convert("RGB"), expected.resize(im.size)
        for xy in [(2, 2), (im.width - 3, 2), (2, im.height - 3), (im.width - 3, im.height - 3)]:
            got, want = rgb.getpixel(xy), ref.getpixel(xy)
            assert all(abs(a - b) < 60 for a, b in zip(got, want, strict=True)), (kind, xy, got, want)


def test_palette_transparency_survives() -> None:
    im = Image.new("P", (100, 100), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (25, 25, 75, 75))
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    lg = _open(render_variants(buf.getvalue(), SIZES).variants["md"].data).convert("RGBA")
    assert lg.getpixel((0, 0))[3] == 0 and lg.getpixel((40, 40)) == (0, 255, 0, 255)


def test_gif_transparency_survives() -> None:
    im = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    im.paste((0, 200, 0, 255), (25, 25, 75, 75))
    buf = io.BytesIO()
    im.save(buf, "GIF")
    md = _open(render_variants(buf.getvalue(), SIZES).variants["md"].data)
    rgba = md.convert("RGBA")
    assert md.format == "GIF" and rgba.getpixel((0, 0))[3] == 0 and rgba.getpixel((40, 40))[3] == 255


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_grey_gives_eight_bit_variants_scaled_not_clipped(fmt: str) -> None:
    im = Image.new("I;16", (200, 100), 40000)
    im.paste(Image.new("I;16", (100, 100), 1000), (0, 0))  # (paste(1000) would fill bytes: 0xE8E8)
    buf = io.BytesIO()
    im.save(buf, fmt)
    md = _open(render_variants(buf.getvalue(), SIZES).variants["md"].data)
    assert md.mode == "L"  # 8 bits: what every browser shows
    # 40000 / 257 = 155.6 and 1000 / 257 = 3.9: scaled, where a plain convert clips both to 255
    assert abs(md.getpixel((70, 20)) - 156) <= 2 and abs(md.getpixel((5, 20)) - 4) <= 2


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_give_still_variants_of_the_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (120, 80), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert _open(buf.getvalue()).n_frames == 3
    for v in render_variants(buf.getvalue(), SIZES).variants.values():
        im = _open(v.data)
        assert getattr(im, "n_frames", 1) == 1
        r, g, b = im.convert("RGB").getpixel((5, 5))
        assert r > 200 and g < 40 and b < 40


@pytest.mark.parametrize("quality", [40, 60, 75, 92])
def test_jpeg_quality_is_estimated_from_quantization_tables(quality: int) -> None:
    im = _open(image_bytes("JPEG", (64, 64), quality=quality))
    assert estimate_jpeg_quality(im.quantization) == quality


def test_a_table_that_is_no_scaled_standard_one_gets_the_nearest_quality() -> None:
    # Some cameras write their own tables: those take the nearest-table search, not the exact lookup.
    table = list(_open(image_bytes("JPEG", (64, 64), quality=80)).quantization[0])
    table[0] += 3
    table[63] -= 2
    assert estimate_jpeg_quality({0: table}) == 80
    assert estimate_jpeg_quality({0: table[:63]}) is None


def test_jpeg_variants_keep_the_originals_quality_subsampling_and_icc_profile() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes("JPEG", (400, 300), quality=70, subsampling=0, icc_profile=icc)
    md = _open(render_variants(data, SIZES).variants["md"].data)
    from PIL import JpegImagePlugin

    assert estimate_jpeg_quality(md.quantization) == 70
    assert JpegImagePlugin.get_sampling(md) == 0
    assert md.info.get("icc_profile") == icc


@pytest.mark.slow
def test_jpeg_is_decoded_at_a_reduced_scale_still_at_least_the_largest_variant() -> None:
    data = image_bytes("JPEG", (2400, 1600))
    im, fmt, hints = decode(data, 320)
    assert fmt == "JPEG" and hints["source_size"] == (2400, 1600)
    assert 320 <= im.width < 2400 and im.height >= 213


def _noise(mode: str) -> Image.Image:
    rng = random.Random(7)  # fixed noise (Image.effect_noise differs per run): the harshest input for a filter
    noise = Image.frombytes("L", (1237, 911), rng.randbytes(1237 * 911))
    im = Image.merge("RGB", [noise, noise.rotate(90), noise.rotate(180)]).convert(mode)
    if mode in ("RGBA", "LA"):
        im.putalpha(noise.point(lambda v: 0 if v < 100 else v))
    return im


def _premultiplied(im: Image.Image) -> Image.Image:
    return im.convert({"RGBA": "RGBa", "LA": "La"}.get(im.mode, im.mode))


def test_the_simd_resizer_is_installed_wherever_the_project_asks_for_it() -> None:
    # pyproject.toml installs cykooz.resizer where it has wheels (Linux x86_64, as on Lambda, macOS,
    # Windows); there a failed import would fall back, silently, to a resize five times slower.
    from packaging.requirements import Requirement

    text = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    wanted = [Requirement(line.strip().strip('",')) for line in text.splitlines() if "cykooz.resizer" in line
              and line.strip().startswith('"')]
    assert len(wanted) == 1
    if wanted[0].marker is None or wanted[0].marker.evaluate():
        assert imaging.resample.Resizer is not None


def _float_error_db(out: Image.Image, source: Image.Image, size: tuple[int, int], gap: float) -> float:
    """PSNR of `out` against the exact result of the filter: Pillow's BICUBIC on 32-bit float bands
    (double-precision arithmetic, no rounding between the passes), premultiplied by a float alpha."""
    bands = [band.convert("F") for band in source.split()]
    if source.mode in ("RGBA", "LA"):
        alpha = bands[-1]
        colours = [ImageMath.lambda_eval(lambda v: v["c"] * v["a"] / 255, c=band, a=alpha) for band in bands[:-1]]
        bands = [*colours, alpha]
        out = out.convert("RGBa" if out.mode == "RGBA" else "La")
    squared = 0.0
    for got, band in zip(out.split(), bands, strict=True):
        exact = band.resize(size, imaging.RESAMPLE, reducing_gap=gap)
        error = ImageMath.lambda_eval(lambda v: (v["x"] - v["y"]) * (v["x"] - v["y"]), x=got.convert("F"), y=exact)
        squared += sum(error.get_flattened_data())
    return 10 * math.log10(255 ** 2 * size[0] * size[1] * len(bands) / squared)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "CMYK"])
@pytest.mark.parametrize("size", [(1000, 736), (400, 295), (97, 71)])
def test_the_simd_resize_computes_pillows_filter_as_exactly(monkeypatch, mode: str, size: tuple[int, int]) -> None:
    # Where the SIMD resizer has no wheel, Pillow's BICUBIC runs: the same Catmull-Rom filter, premultiplied
    # alpha and reducing gap. On harsh noise both land as close to the float result (within 0.3 dB); the
    # 8-bit premultiplication of nearly transparent pixels bounds both alike on the alpha images.
    im = _noise(mode)
    simd = imaging.resize(im, size)
    monkeypatch.setattr(imaging.resample, "Resizer", None)
    fallback = imaging.resize(im, size)
    assert simd.mode == fallback.mode == mode and simd.size == fallback.size == size
    simd_db = _float_error_db(simd, im, size, imaging.REDUCING_GAP)
    assert simd_db >= _float_error_db(fallback, im, size, imaging.REDUCING_GAP) - 0.3
    assert simd_db >= (35 if mode in ("RGBA", "LA") else 45)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_the_simd_resize_makes_the_same_bytes_on_every_cpu(monkeypatch, mode: str) -> None:
    # `snail-images variants` on a laptop writes what the backend stores on Lambda: the resizer picks AVX2,
    # SSE4.1 or plain code by the CPU, and each must compute the same pixels.
    if imaging.resample.Resizer is None:
        pytest.skip("no SIMD resizer on this platform")
    from cykooz_resizer import CpuExtensions

    im = _noise(mode)
    made = set()
    for extensions in CpuExtensions:
        resizer = imaging.resample.Resizer()
        try:
            resizer.cpu_extensions = extensions
        except Exception:  # noqa: BLE001 -- an extension this CPU lacks (NEON on x86, AVX2 on an old CPU)
            continue
        monkeypatch.setattr(imaging.resample._local, "resizer", resizer, raising=False)
        made.add(imaging.resize(im, (1000, 736)).tobytes())
    assert len(made) == 1


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_pixels_lend_no_colour_to_their_neighbours(mode: str) -> None:
    # Resizing premultiplied: a pixel half covered by a white shape beside fully transparent black stays
    # white and half transparent; a straight-alpha filter would darken the shape's edge to grey.
    im = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    im.paste((255, 255, 255, 255), (201, 0, 400, 300))
    im = im.convert(mode)
    out = imaging.resize(im, (150, 113)).convert("RGBA")
    edge = [out.getpixel((x, 50)) for x in range(70, 80)]
    assert any(0 < pixel[3] < 255 for pixel in edge)  # the edge is soft ...
    assert all(min(pixel[:3]) >= 254 for pixel in edge if pixel[3] > 0)  # ... and white wherever seen


def _max_difference(a: Image.Image, b: Image.Image) -> int:
    if a.mode.startswith("I"):
        return max(abs(x - y) for x, y in zip(a.get_flattened_data(), b.get_flattened_data(), strict=True))
    extrema = ImageChops.difference(a, b).getextrema()
    return max(hi for _, hi in extrema) if isinstance(extrema[0], tuple) else extrema[1]


def test_damaged_image_raises_conversion_error() -> None:
    data = image_bytes("PNG", (300, 300))
    with pytest.raises(ConversionError):
        render_variants(data[: len(data) // 2], SIZES)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize("gap", [None, imaging.REDUCING_GAP])
@pytest.mark.parametrize("size", [(400, 295), (1000, 736), (97, 71), (150, 600)])
def test_alpha_images_are_premultiplied_band_by_band_like_one_resize(monkeypatch, mode, gap, size) -> None:
    # Large alpha images never get a premultiplied full-size copy (memory at the pixel limit), yet
    # the result is what one resize of the whole image makes: equal up to rounding, in the premultiplied domain
    # (where an off-by-one of a nearly transparent pixel's colour is invisible). The bands' boxes start
    # at fractional offsets, so filter weights round differently (as for plain strips: a level or two,
    # a few on this harsh uniform noise), which going to straight alpha and back can widen a little.
    im = _noise(mode)
    premultiplied = "RGBa"  # an LA band is premultiplied as RGBA (the SIMD code has no La)
    whole = imaging.resize(im, size, gap)
    monkeypatch.setattr(imaging.resample, "PREMULTIPLY_STRIP_PIXELS", 100_000)
    converted: list[int] = []
    convert = Image.Image.convert

    def spy(self, *args, **kwargs):  # records how large each premultiplied copy is
        if args and args[0] == premultiplied:
            converted.append(self.width * self.height)
        return convert(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", spy)
    bands = imaging.resize(im, size, gap)
    monkeypatch.undo()
    assert converted and max(converted) < im.width * im.height / 4  # never the whole image at once
    assert bands.mode == mode and bands.size == size
    assert _max_difference(whole.getchannel("A"), bands.getchannel("A")) <= 4
    difference = ImageChops.difference(_premultiplied(whole), _premultiplied(bands))
    assert max(hi for _, hi in difference.getextrema()) <= 5
    assert max(ImageStat.Stat(difference).mean) < 0.5
