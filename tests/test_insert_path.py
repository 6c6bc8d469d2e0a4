"""`snail-images variants` runs the backend's insert path: the same header check, one decode, the same bytes,
for every accepted format (phone MPOs, HEIC/HEIF, AVIF and SVG included), under the same names and types."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
import requests
from PIL import Image, ImageFile, ImageFilter

from backend_support import World
from devices import SAFE_SVG, avif_export, heic_with_alpha, iphone_heic, phone_mpo, score, svg_reference
from helpers import image_bytes
from snail_action import variants_cmd
from snail_action.cli import main
from snail_backend import app
from snail_backend.imaging.insert import check_header, insert_variants


def _photo(size: tuple[int, int], orientation: int = 1) -> bytes:
    """A JPEG with texture everywhere (a gradient under soft noise) and, optionally, an EXIF turn."""
    im = Image.merge("RGB", [Image.effect_noise(size, 40 + 10 * i).filter(ImageFilter.BoxBlur(3)) for i in range(3)])
    im = Image.blend(im, Image.linear_gradient("L").convert("RGB").resize(size), 0.5)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88, exif=exif)
    return buf.getvalue()


DEVICES = {  # repository path -> (bytes, the picture as displayed), made as the devices write them
    "DCIM/IMG_0412.JPEG": phone_mpo(orientation=8),  # Pillow says MPO; orientation 8 turns it
    "DCIM/IMG_0413.HEIC": iphone_heic(orientation=6),  # JPEG variants, stored as <name>.jpg
    "stickers/cut.heif": heic_with_alpha(),  # transparent: PNG variants
    "export/pic.avif": avif_export(orientation=6),  # AVIF variants, turned by EXIF
}
FILES = {  # repository path -> bytes: each kind of path through the pipeline
    "photos/big.jpg": _photo((3300, 2200)),  # draft (shrink-on-load) at 1/2 for the 1600 lg
    "photos/turned.jpeg": _photo((1200, 900), orientation=6),  # EXIF orientation applied
    "icons/flat.png": image_bytes("PNG", (900, 300), mode="P"),  # palette variants
    "icons/alpha.png": image_bytes("PNG", (700, 500), mode="RGBA"),
    "anim/still.gif": image_bytes("GIF", (400, 400)),
    "scans/page.tif": image_bytes("TIFF", (500, 700), compression="tiff_lzw"),
    "web/pic.webp": image_bytes("WEBP", (1000, 800)),
    **{path: data for path, (data, _) in DEVICES.items()},
    "icons/logo.svg": SAFE_SVG,  # drawn at each size, PNG variants
    "scans/page.bmp": image_bytes("BMP", (300, 200)),  # JPEG variants
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`snail-images serve` as a process, with its ready info."""
    folder = tmp_path_factory.mktemp("serve")
    ready = folder / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "snail_action", "serve", "--ready-file", str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"serve did not get ready: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    try:
        yield json.loads(ready.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def _put(info: dict, path: str, data: bytes) -> requests.Response:
    headers = {"x-api-key": info["api_key"], "filename": quote(path, safe="/"),
               "Content-Type": "application/octet-stream", "x-content-sha256": hashlib.sha256(data).hexdigest()}
    return requests.put(f"{info['api_url']}/images/{quote(path, safe='/')}", data=data, headers=headers, timeout=120)


def test_the_commands_variants_are_byte_for_byte_what_serve_stores(served, tmp_path, capsys) -> None:
    s3 = boto3.client("s3", endpoint_url=served["aws_endpoint_url"], region_name=served["region"],
                      aws_access_key_id="x", aws_secret_access_key="y")
    local = []
    for path, data in FILES.items():
        target = tmp_path / "src" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        local.append(str(target))
    assert main(["variants", *local, "--out", str(tmp_path / "out"), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == len(FILES)
    for record, (path, data) in zip(records, FILES.items(), strict=True):
        response = _put(served, path, data)
        assert response.status_code == 200, response.text
        stored = response.json()
        assert (stored["images"]["raw"]["width"], stored["images"]["raw"]["height"]) == \
            (record["width"], record["height"]), path
        assert set(record["variants"]) == {"sg", "md", "lg"}
        for kind, made in record["variants"].items():
            key = stored["images"][kind]["key"]
            got = s3.get_object(Bucket=served["bucket"], Key=key)
            assert Path(made["path"]).read_bytes() == got["Body"].read(), f"{path} {kind}"
            # Under its own name and type: `<name>.jpg` for a HEIC's JPEG variant, image/png for an SVG's.
            assert key.rsplit("/", 1)[-1] == Path(made["path"]).name, f"{path} {kind}"
            assert got["ContentType"] == made["content_type"], f"{path} {kind}"
            assert (made["width"], made["height"]) == (stored["images"][kind]["width"],
                                                        stored["images"][kind]["height"])
    # The turned photo is reported as displayed, by both.
    shown = {path: (r["width"], r["height"]) for path, r in zip(FILES, records, strict=True)}
    assert shown["photos/turned.jpeg"] == (900, 1200)
    for path, (_, picture) in DEVICES.items():  # turned MPO, HEIC (by libheif) and AVIF: as displayed
        assert shown[path] == picture.size, path
    assert shown["DCIM/IMG_0412.JPEG"][0] < shown["DCIM/IMG_0412.JPEG"][1]  # stored landscape, shown portrait
    types = {path: {v["content_type"] for v in r["variants"].values()} for path, r in zip(FILES, records, strict=True)}
    assert types["DCIM/IMG_0412.JPEG"] == types["DCIM/IMG_0413.HEIC"] == types["scans/page.bmp"] == {"image/jpeg"}
    assert types["stickers/cut.heif"] == types["icons/logo.svg"] == {"image/png"}
    assert types["export/pic.avif"] == {"image/avif"}
    names = {path: Path(r["variants"]["lg"]["path"]).name for path, r in zip(FILES, records, strict=True)}
    assert names["DCIM/IMG_0413.HEIC"] == records[list(FILES).index("DCIM/IMG_0413.HEIC")]["name"] + ".jpg"
    assert names["icons/logo.svg"].endswith(".svg.png") and names["export/pic.avif"].endswith(".avif")


@pytest.mark.parametrize("name", ["cut.jpg", "cut.png", "cut.webp"])
def test_a_truncated_file_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, name) -> None:
    whole = {"cut.jpg": FILES["photos/big.jpg"], "cut.png": FILES["icons/alpha.png"],
             "cut.webp": FILES["web/pic.webp"]}[name]
    src = tmp_path / name
    src.write_bytes(whole[: len(whole) * 2 // 3])
    assert main(["variants", str(src), "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"{src}: ") and "fix or remove the file" in captured.err
    assert "truncated" in captured.err or "damaged" in captured.err
    assert not (tmp_path / "out").exists()


def test_a_truncated_file_is_refused_by_serve_too(served) -> None:
    data = FILES["photos/big.jpg"]
    cut = data[: len(data) // 2]
    response = _put(served, "photos/cut.jpg", cut)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_image" and "truncated" in response.json()["message"]


def test_the_command_decodes_the_pixels_once(monkeypatch, tmp_path) -> None:
    # The command used to decode twice (a full validate_image, then the draft for the variants).
    loads = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self):
        if self.tile:  # a pending decode, not a no-op on pixels already there
            loads.append((self.format, self.size))
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    src = tmp_path / "big.jpg"
    src.write_bytes(FILES["photos/big.jpg"])
    assert main(["variants", str(src), "--out", str(tmp_path / "out")]) == 0
    assert loads == [("JPEG", (1650, 1100))]  # one decode, at the 1/2 DCT scale
    loads.clear()
    inserted = insert_variants(FILES["photos/big.jpg"], "big.jpg", {"sg": 320, "md": 800, "lg": 1600})
    assert loads == [("JPEG", (1650, 1100))] and inserted.rendition.variants["lg"].width == 1600


@pytest.mark.parametrize("mode,options", [("RGB", {}), ("RGB", {"progressive": True}), ("L", {}), ("CMYK", {}),
                                          ("RGB", {"subsampling": 0})])
def test_a_jpeg_decoded_at_three_eighths_is_the_whole_picture(mode, options) -> None:
    # 1100x733 for a 400 px lg: draft would decode at 1/2 (550x367); 3/8 (413x275) is still >= 400x267.
    data = _photo((1100, 733))
    if mode != "RGB" or options:
        buf = io.BytesIO()
        Image.open(io.BytesIO(data)).convert(mode).save(buf, "JPEG", quality=90, **options)
        data = buf.getvalue()
    sizes = {"sg": 100, "md": 200, "lg": 400}
    from snail_backend.imaging import decode, psnr

    im, _, _ = decode(data, 400)
    assert im.size == (413, 275)
    full = Image.open(io.BytesIO(data))
    full.load()
    made = insert_variants(data, "p.jpg", sizes).rendition.variants
    for kind, variant in made.items():
        got = Image.open(io.BytesIO(variant.data))
        assert got.size == (variant.width, variant.height) == {"sg": (100, 67), "md": (200, 133),
                                                               "lg": (400, 267)}[kind]
        reference = full.resize(got.size, Image.Resampling.LANCZOS)
        assert psnr(got.convert(reference.mode), reference) > 30, kind  # a crop or a shifted picture scores < 20


def test_a_truncated_jpeg_decoded_at_three_eighths_is_refused(tmp_path, capsys) -> None:
    data = _photo((1100, 733))
    src = tmp_path / "cut.jpg"
    src.write_bytes(data[: len(data) // 2])
    assert main(["variants", str(src), "--out", str(tmp_path / "out"), "--sizes", "sg=100,md=200,lg=400"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "truncated" in err and str(src) in err


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("size", [(800, 600), (800, 599), (320, 240)])
def test_a_shrink_stays_faithful_to_a_full_lanczos_resize(mode, size) -> None:
    from snail_backend.imaging import psnr, resize

    photo = Image.open(io.BytesIO(_photo((1600, 1200)))).convert(mode)
    shrunk = resize(photo, size)
    assert shrunk.mode == mode and shrunk.size == size
    assert psnr(shrunk, photo.resize(size, Image.Resampling.LANCZOS)) >= 40


def test_a_turned_jpeg_decoded_at_three_eighths_keeps_its_displayed_shape() -> None:
    data = _photo((1100, 733), orientation=6)  # displayed 733x1100
    inserted = insert_variants(data, "turned.jpg", {"sg": 100, "md": 200, "lg": 400})
    assert (inserted.header.width, inserted.header.height) == (733, 1100)
    assert (inserted.rendition.width, inserted.rendition.height) == (733, 1100)
    upright = Image.open(io.BytesIO(data)).transpose(Image.Transpose.ROTATE_270)
    from snail_backend.imaging import psnr

    for kind, size in {"sg": (67, 100), "md": (133, 200), "lg": (267, 400)}.items():
        got = Image.open(io.BytesIO(inserted.rendition.variants[kind].data))
        assert got.size == size
        assert psnr(got, upright.resize(size, Image.Resampling.LANCZOS)) > 30, kind


@pytest.mark.parametrize("name,make", [
    ("IMG_0412.JPEG", lambda: phone_mpo(orientation=8)),
    ("IMG_3.HEIC", lambda: iphone_heic(orientation=3)),
    ("IMG_6.HEIC", lambda: iphone_heic(orientation=6)),
    ("IMG_8.HEIC", lambda: iphone_heic(orientation=8)),
    ("sticker.heif", heic_with_alpha),
    ("export.avif", lambda: avif_export(orientation=6)),
    ("logo.svg", lambda: (SAFE_SVG, svg_reference(1600))),
])
def test_the_header_check_gives_the_displayed_size_of_every_format(name, make) -> None:
    """The backend registers the header check's size (before decoding): it is the picture as displayed,
    the size the variants are made at, for HEIF (turned by libheif), AVIF, MPO and SVG too."""
    data, picture = make()
    header = check_header(data, name)
    inserted = insert_variants(data, name, {"sg": 320, "md": 800, "lg": 1600})
    assert (header.width, header.height) == (inserted.header.width, inserted.header.height)
    assert (header.width, header.height) == (inserted.rendition.width, inserted.rendition.height)
    if name.endswith(".svg"):
        assert (header.width, header.height) == (header.info.width, header.info.height)  # no orientation
        return
    assert (header.width, header.height) == picture.size
    assert score(inserted.rendition.variants["lg"].data, picture) >= 30


def test_a_phone_mpo_decodes_at_three_eighths_too() -> None:
    """An MPO's first picture is a plain JPEG stream: it is decoded at 3/8 like any JPEG, turned, whole."""
    from snail_backend.imaging import decode

    data, picture = phone_mpo(orientation=8)  # stored 1200x900, displayed 900x1200
    im, fmt, _ = decode(data, 400)
    assert (fmt, im.format, im.size) == ("JPEG", "MPO", (450, 338))  # draft would stop at 1/2, 600x450
    made = insert_variants(data, "IMG_0412.JPEG", {"sg": 100, "md": 200, "lg": 400}).rendition
    assert (made.width, made.height) == (900, 1200)
    for kind, variant in made.variants.items():
        assert (variant.width, variant.height) == {"sg": (75, 100), "md": (150, 200), "lg": (300, 400)}[kind]
        assert score(variant.data, picture) >= 30, kind  # a crop, a shift or a wrong turn scores below 15


@pytest.mark.parametrize("path,make", [
    ("DCIM/IMG_0412.JPEG", lambda: phone_mpo(orientation=8)[0]),
    ("DCIM/IMG_0413.HEIC", lambda: iphone_heic(orientation=6)[0]),
    ("export/pic.avif", lambda: avif_export(orientation=6)[0]),
    ("icons/logo.svg", lambda: SAFE_SVG),
    ("icons/flat.png", lambda: FILES["icons/flat.png"]),
])
def test_the_backend_and_the_command_both_call_the_one_insert_function(monkeypatch, tmp_path, capsys,
                                                                      path, make) -> None:
    """Not a parallel implementation per format: both run `insert_variants` (real, only recorded here)."""
    from moto import mock_aws

    calls: list[str] = []

    def recorded(data, filename, *args, **kwargs):
        calls.append(filename)
        return insert_variants(data, filename, *args, **kwargs)

    monkeypatch.setattr(app, "insert_variants", recorded)
    monkeypatch.setattr(variants_cmd, "insert_variants", recorded)
    data = make()
    with mock_aws():
        status, body = World(sizes="sg=100,md=200,lg=400").put(path, data)
    assert status == 200, body
    assert calls == [path]
    src = tmp_path / path.rsplit("/", 1)[-1]
    src.write_bytes(data)
    assert main(["variants", str(src), "--out", str(tmp_path / "out"), "--sizes", "sg=100,md=200,lg=400"]) == 0
    assert calls == [path, src.name]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("path,make", [
    ("photos/big.jpg", lambda: FILES["photos/big.jpg"]),
    ("DCIM/IMG_0413.HEIC", lambda: iphone_heic(orientation=6)[0]),
    ("icons/logo.svg", lambda: SAFE_SVG),
])
def test_a_put_checks_the_header_once_and_so_does_the_command(monkeypatch, tmp_path, path, make) -> None:
    """The backend checks the header before touching the catalog and passes the answer on to the insert
    path, which does not check it again: one header check per PUT, and an SVG parsed twice (the check,
    then the drawing), as the command does it. The real functions run, only counted here."""
    from moto import mock_aws

    from snail_backend import svg
    from snail_backend.imaging import insert

    checks: list[str] = []
    parses: list[int] = []
    real_validate, real_inspect = insert.validate_image, svg.inspect

    def counted_validate(data, filename, **kwargs):
        checks.append(filename)
        return real_validate(data, filename, **kwargs)

    def counted_inspect(data, max_pixels):
        parses.append(len(data))
        return real_inspect(data, max_pixels)

    monkeypatch.setattr(insert, "validate_image", counted_validate)
    monkeypatch.setattr(svg, "inspect", counted_inspect)
    data = make()
    with mock_aws():
        world = World(sizes="sg=100,md=200,lg=400")
        status, body = world.put(path, data)
        assert status == 200, body
        assert body["images"]["lg"]["width"] > 0
        assert checks == [path]
        assert len(parses) == (2 if path.endswith(".svg") else 0)
        checks.clear()
        parses.clear()
        # A second copy under another path: stored again from the same bytes, still one check.
        status, body = world.put("copy/" + path, data)
        assert status == 200 and body["duplicate"], body
        assert checks == ["copy/" + path]
    checks.clear()
    parses.clear()
    src = tmp_path / path.rsplit("/", 1)[-1]
    src.write_bytes(data)
    assert main(["variants", str(src), "--out", str(tmp_path / "out"), "--sizes", "sg=100,md=200,lg=400"]) == 0
    assert checks == [src.name]
    assert len(parses) == (2 if path.endswith(".svg") else 0)
