"""A camera roll of MPO, HEIC, AVIF and SVG files (and a scanner's fax TIFF, a CMYK JPEG, a lossless
WebP): `check` passes it, a push through the CLI into `serve`'s HTTP API completes, and every variant
opens in the format its key and Content-Type say, with the pixels of the picture as displayed."""

from __future__ import annotations

import hashlib
import io
import json
from urllib.parse import quote

import pytest
import requests
from PIL import Image

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
    score,
    svg_reference,
)
from helpers import GitRepo, image_bytes
from snail_action import cli
from snail_action.embedded.server import EmbeddedBackend
from snail_backend.formats import EXTENSIONS, VARIANT_TYPES
from test_e2e_sync import assert_backend_matches, bucket_keys, catalog_items

MIN_DB = 30.0


def _roll() -> dict[str, tuple[bytes, Image.Image | None, str, str]]:
    """path -> (bytes, picture as displayed (None: the SVG), original Content-Type, variant format)."""
    mpo, mpo_pic = phone_mpo(8)
    cam, cam_pic = camera_mpf_preview()
    heic, heic_pic = iphone_heic(6)
    sticker, sticker_pic = heic_with_alpha()
    avif, avif_pic = avif_export(6)
    fax, fax_pic = fax_scan("group4", (960, 640))
    cmyk, cmyk_pic = cmyk_jpeg()
    webp, webp_pic = lossless_webp()
    return {
        "DCIM/IMG_0412.JPEG": (mpo, mpo_pic, "image/jpeg", "JPEG"),
        "DCIM/DSC01234.JPG": (cam, cam_pic, "image/jpeg", "JPEG"),
        "DCIM/IMG_0413.HEIC": (heic, heic_pic, "image/heic", "JPEG"),
        "stickers/wave.heif": (sticker, sticker_pic, "image/heif", "PNG"),
        "exports/sunset.avif": (avif, avif_pic, "image/avif", "AVIF"),
        "scans/letter.tif": (fax, fax_pic, "image/tiff", "JPEG"),
        "print/flyer.jpg": (cmyk, cmyk_pic, "image/jpeg", "JPEG"),
        "shots/screen.webp": (webp, webp_pic, "image/webp", "WEBP"),
        "icons/logo.svg": (SAFE_SVG, None, "image/svg+xml", "PNG"),
    }


@pytest.fixture(scope="module")
def backend():
    with EmbeddedBackend() as eb:
        yield eb


@pytest.mark.slow
def test_a_camera_roll_passes_check_and_a_push_into_serve_completes_with_browser_variants(
        git_repo: GitRepo, clean_env, tmp_path, capsys) -> None:
    roll = _roll()
    git_repo.write("README.md", "photos\n")
    base = git_repo.commit("base")
    for path, (data, *_) in roll.items():
        git_repo.write(path, data)
    head = git_repo.commit("camera roll")

    assert cli.main(["check", "--path", str(git_repo.path), "--before", base, "--after", head]) == 0
    out = capsys.readouterr().out
    assert f"{len(roll)} ok, 0 rejected" in out and "REJECTED" not in out

    with EmbeddedBackend() as eb:
        clean_env.setenv("SNAIL_API_KEY", eb.api_key)
        results = tmp_path / "results.json"
        code = cli.main(["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--before", base,
                         "--after", head, "--results", str(results)])
        outcomes = {r["path"]: r["outcome"] for r in json.loads(results.read_text())["results"]}
        assert code == 0 and outcomes == dict.fromkeys(roll, "completed"), outcomes
        assert_backend_matches(git_repo, head, eb.s3, eb.dynamodb, eb.bucket, eb.table)

        for path, (data, picture, content_type, variant_fmt) in roll.items():
            r = requests.get(f"{eb.api_url}/images/{quote(path)}", headers={"x-api-key": eb.api_key}, timeout=30)
            assert r.status_code == 200, path
            record = r.json()
            raw = eb.s3.get_object(Bucket=eb.bucket, Key=record["images"]["raw"]["key"])
            assert raw["Body"].read() == data and raw["ContentType"] == content_type == record["content_type"], path
            variant_type = VARIANT_TYPES[variant_fmt][1]
            for kind in ("sg", "md", "lg"):
                image = record["images"][kind]
                key_format = EXTENSIONS[image["key"].rsplit(".", 1)[1]].pillow  # .jpg, .jpeg: JPEG
                assert key_format == variant_fmt and image["content_type"] == variant_type, (path, image)
                obj = eb.s3.get_object(Bucket=eb.bucket, Key=image["key"])
                body = obj["Body"].read()
                assert obj["ContentType"] == variant_type, (path, kind)
                im = Image.open(io.BytesIO(body))
                assert im.format == variant_fmt and im.size == (image["width"], image["height"]), (path, kind)
                reference = picture if picture is not None else svg_reference(max(im.size))
                assert score(body, reference) >= MIN_DB, (path, kind)
            if picture is not None:  # the catalog's size is the picture as displayed
                assert (record["images"]["raw"]["width"], record["images"]["raw"]["height"]) == picture.size, path
        assert (record["images"]["raw"]["width"], record["images"]["raw"]["height"]) == (48, 24)  # the SVG's own
        assert record["images"]["lg"]["width"] == 1600  # a vector is drawn at the variant size

        # Deleting them removes every object, variants under their own extension included.
        for path in roll:
            git_repo.remove(path)
        gone = git_repo.commit("clear the roll")
        assert cli.main(["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--before", head,
                         "--after", gone, "--results", str(results)]) == 0
        assert bucket_keys(eb.s3, eb.bucket) == set()


def _put(eb: EmbeddedBackend, path: str, data: bytes, content_type: str) -> requests.Response:
    return requests.put(f"{eb.api_url}/images/{quote(path)}", data=data, timeout=30,
                        headers={"x-api-key": eb.api_key, "Content-Type": content_type, "filename": quote(path),
                                 "x-content-sha256": hashlib.sha256(data).hexdigest()})


def test_hostile_svgs_are_refused_by_check_and_by_serve_with_their_reason(git_repo: GitRepo, capsys, backend) -> None:
    git_repo.write("README.md", "icons\n")
    base = git_repo.commit("base")
    for i, (data, _) in enumerate(HOSTILE_SVGS):
        git_repo.write(f"icons/evil{i}.svg", data)
    git_repo.write("icons/fine.svg", SAFE_SVG)
    head = git_repo.commit("icons")
    assert cli.main(["check", "--path", str(git_repo.path), "--before", base, "--after", head]) == 1
    out = capsys.readouterr().out
    for i, (_, reason) in enumerate(HOSTILE_SVGS):
        (line,) = [x for x in out.splitlines() if x.startswith(f"REJECTED icons/evil{i}.svg: ")]
        assert reason in line
    assert "fine.svg" not in "".join(x for x in out.splitlines() if x.startswith("REJECTED"))

    eb = backend
    stored = bucket_keys(eb.s3, eb.bucket)
    for i, (data, reason) in enumerate(HOSTILE_SVGS):
        r = _put(eb, f"icons/evil{i}.svg", data, "image/svg+xml")
        assert r.status_code == 400 and r.json()["error"] == "invalid_image", (i, r.text)
        assert reason in r.json()["message"] and f"icons/evil{i}.svg" in r.json()["message"]
    assert not [i for i in catalog_items(eb.dynamodb, eb.table) if "evil" in i["RegisteredFile"]]
    assert bucket_keys(eb.s3, eb.bucket) == stored  # nothing stored for them
    r = _put(eb, "icons/fine.svg", SAFE_SVG, "image/svg+xml")
    assert r.status_code == 200 and r.json()["status"] == "completed"


@pytest.mark.parametrize("path", ["design.psd", "clip.MOV", "notes"])
def test_serve_names_the_supported_extensions_for_any_other(path: str, backend) -> None:
    r = _put(backend, path, image_bytes("PNG"), "image/png")
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    message = r.json()["message"]
    assert "is not a supported image extension (png, jpg, jpeg, gif, bmp, webp, avif, tif, tiff, heic, heif, svg)" \
        in message and message.startswith(path)


def test_an_mpo_put_over_http_is_stored_as_the_jpeg_it_is(backend) -> None:
    data, picture = phone_mpo(8)
    r = _put(backend, "IMG_0412.JPEG", data, "image/jpeg")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["content_type"] == "image/jpeg" and body["status"] == "completed"
    assert (body["images"]["raw"]["width"], body["images"]["raw"]["height"]) == (900, 1200)
    sg = backend.s3.get_object(Bucket=backend.bucket, Key=body["images"]["sg"]["key"])["Body"].read()
    assert score(sg, picture) >= MIN_DB
