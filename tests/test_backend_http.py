"""Every response code of the HTTP API, through Backend.handle on moto."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from urllib.parse import unquote

import pytest
import requests
from moto import mock_aws

from backend_support import (
    BUCKET,
    TABLE,
    TYPES,
    Hooked,
    World,
    call,
    item_event,
    list_event,
    put_event,
    s3_event,
    uploads_event,
)
from helpers import image_bytes
from snail_backend.http import MAX_DIRECT_BODY
from snail_backend.imaging import ConversionError, render_variants

PNG = image_bytes("PNG", (120, 60), "RGBA", seed=1)
JPEG = image_bytes("JPEG", (90, 150), seed=2)


@pytest.fixture
def world():
    with mock_aws():
        yield World()


def test_put_registers_original_and_variants(world: World) -> None:
    status, body = world.put("photos/Ünïcode name.png", PNG)
    assert status == 200
    digest = hashlib.sha256(PNG).hexdigest()
    name = f"{digest[:20]}.png"
    assert (body["registered_file"], body["hash"], body["status"]) == ("photos/Ünïcode name.png", digest, "completed")
    assert (body["duplicate"], body["unchanged"]) == (False, False)
    assert body["images"]["raw"] == {"key": f"images/raw/{name}", "width": 120, "height": 60, "size": len(PNG),
                                     "content_type": "image/png"}
    assert [(body["images"][t]["width"], body["images"][t]["height"]) for t in ("sg", "md", "lg")] == [
        (32, 16), (64, 32), (96, 48)]
    assert world.object_keys() == {f"images/{t}/{name}" for t in ("raw", "sg", "md", "lg")}
    lg = world.s3.get_object(Bucket=BUCKET, Key=f"images/lg/{name}")
    assert lg["ContentLength"] == body["images"]["lg"]["size"] and lg["ContentType"] == "image/png"
    rows = {i["ImageId"]: i for i in world.items() if i["ImageType"] in ("raw", "sg", "md", "lg")}
    row = rows[f"sg/photos/Ünïcode name.png/{name}"]
    assert row["RegisteredFile"] == "photos/Ünïcode name.png" and row["Status"] == "completed"
    assert row["StoredKey"] == f"images/sg/{name}" and row["Resolution"] == "32x16"
    assert row["ContentHash"] == digest and row["ContentType"] == "image/png"
    assert row["UploadDate"].endswith("Z") and row["UploadDate"][10] == "T"
    world.check_invariants()


def test_put_of_unchanged_content_changes_nothing(world: World) -> None:
    world.put("a.png", PNG)
    before = world.items()
    status, body = world.put("a.png", PNG)
    assert (status, body["unchanged"], body["status"]) == (200, True, "completed")
    assert world.items() == before


def test_identical_content_under_two_paths_shares_one_set_of_objects(world: World) -> None:
    world.put("a.png", PNG)
    status, body = world.put("copy/b.png", PNG)
    assert (status, body["duplicate"]) == (200, True)
    assert len(world.object_keys()) == 4
    assert world.delete("a.png")[1] == {"registered_file": "a.png", "deleted": 4, "objects_removed": 0}
    assert len(world.object_keys()) == 4
    assert world.delete("copy/b.png")[1] == {"registered_file": "copy/b.png", "deleted": 4, "objects_removed": 4}
    assert world.object_keys() == set()
    world.check_invariants()


def test_put_of_new_content_supersedes_the_old_registration(world: World) -> None:
    world.put("a.jpg", JPEG)
    other = image_bytes("JPEG", (90, 150), seed=9)
    status, body = world.put("a.jpg", other)
    assert status == 200 and body["hash"] == hashlib.sha256(other).hexdigest()
    old_name = hashlib.sha256(JPEG).hexdigest()[:20] + ".jpg"
    old_rows = [i for i in world.items() if i["ImageId"].endswith(old_name) and i["ImageType"] in TYPES]
    assert len(old_rows) == 4 and {r["Status"] for r in old_rows} == {"deleted"}
    assert not any(old_name in k for k in world.object_keys())
    world.check_invariants()


def test_invalid_image_is_400_and_stores_nothing(world: World) -> None:
    status, body = world.put("broken.png", b"\x89PNG\r\n\x1a\n not really")
    assert (status, body["error"]) == (400, "invalid_image")
    assert "broken.png" in body["message"]
    assert world.object_keys() == set() and world.items() == []


def test_truncated_image_is_400_invalid_image_and_stores_nothing(world: World) -> None:
    # The header is fine; only decoding the pixels (once, for the variants) finds the damage.
    data = image_bytes("JPEG", (400, 300), seed=3)
    status, body = world.put("cut.jpg", data[: len(data) // 2])
    assert (status, body["error"]) == (400, "invalid_image")
    assert "truncated" in body["message"]
    assert world.object_keys() == set() and world.items() == []


@pytest.mark.parametrize("case", ["no_body", "no_filename", "no_digest", "not_image_path", "bad_path"])
def test_bad_requests_are_400_bad_request(world: World, case: str) -> None:
    digest = hashlib.sha256(PNG).hexdigest()
    if case == "no_body":
        event = item_event("PUT", "a.png", headers={"filename": "a.png", "x-content-sha256": digest})
    elif case == "no_filename":
        event = put_event("a.png", PNG, headers={"x-content-sha256": digest})
    elif case == "no_digest":
        event = put_event("a.png", PNG, headers={"filename": "a.png"})
    elif case == "not_image_path":
        event = put_event("notes.txt", PNG)
    else:
        event = put_event("../a.png", PNG)
    status, body = call(world.backend, event)
    assert (status, body["error"]) == (400, "bad_request")
    assert world.object_keys() == set()


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_a_path_too_long_for_the_catalog_is_400_not_500(world: World, method: str) -> None:
    path = "é" * 600 + ".png"  # 1204 bytes of UTF-8: no DynamoDB sort key holds it
    event = put_event(path, PNG) if method == "PUT" else item_event(method, path)
    status, body = call(world.backend, event)
    assert (status, body["error"]) == (400, "bad_request") and "shorten" in body["message"]
    assert len(body["message"]) < 400


def test_the_longest_path_fits_under_either_key_scheme(world: World) -> None:
    from snail_backend.app import MAX_PATH_BYTES

    path = "d/" + "x" * (MAX_PATH_BYTES - len("d/.jpeg")) + ".jpeg"
    assert len(path.encode()) == MAX_PATH_BYTES
    ts = world.make_backend(config=dataclasses.replace(world.config, key_scheme="timestamp"))
    assert world.put(path, JPEG, backend=ts)[1]["status"] == "completed"
    assert world.delete(path, backend=ts)[1]["deleted"] == 4
    assert world.put(path + "x", JPEG)[0] == 400


def test_a_path_that_is_not_utf8_is_400(world: World) -> None:
    event = item_event("GET", "a.png")
    event["pathParameters"]["proxy"] = "a\udcff.png"  # what a lenient decoder makes of %FF
    assert call(world.backend, event)[1]["error"] == "bad_request"


@pytest.mark.parametrize("header", ["%ZZ.png", "..%2Fa.png", "%2Fa.png", "a%00.png", "x" * 5000 + ".png"])
def test_filename_headers_that_do_not_decode_to_the_url_path_are_refused(world: World, header: str) -> None:
    status, body = world.put("a.png", PNG, filename=header)
    assert status == 400 and body["error"] == "path_mismatch" and len(body["message"]) < 600
    assert world.object_keys() == set() and world.items() == []


def test_filename_header_that_is_not_utf8_is_bad_request(world: World) -> None:
    assert world.put("a.png", PNG, filename="%C3%28.png")[1]["error"] == "bad_request"


def test_headers_in_any_case_and_multi_value_headers_are_read(world: World) -> None:
    digest = hashlib.sha256(PNG).hexdigest()
    event = put_event("a.png", PNG, headers={"FILENAME": "a.png", "X-Content-Sha256": digest.upper()})
    assert call(world.backend, event)[0] == 200
    event = put_event("b.png", PNG)
    event["headers"] = None
    event["multiValueHeaders"] = {"FileName": ["b.png"], "x-content-sha256": [digest]}
    assert call(world.backend, event)[1]["status"] == "completed"


def test_the_stored_content_type_is_the_validated_formats_not_the_headers(world: World) -> None:
    status, body = world.put("a.png", PNG, content_type="image/jpeg")
    assert (status, body["content_type"]) == (200, "image/png")
    name = hashlib.sha256(PNG).hexdigest()[:20] + ".png"
    assert world.s3.head_object(Bucket=BUCKET, Key=f"images/md/{name}")["ContentType"] == "image/png"


def test_filename_header_naming_another_file_is_path_mismatch(world: World) -> None:
    status, body = world.put("dir/a.png", PNG, filename="dir/b.png")
    assert (status, body["error"]) == (400, "path_mismatch")


def test_percent_encoded_filename_header_matches_decoded_path(world: World) -> None:
    status, _ = world.put("d ir/ä+b%.png", PNG, filename="d%20ir/%C3%A4%2Bb%25.png")
    assert status == 200


def test_digest_header_that_does_not_match_the_body_is_digest_mismatch(world: World) -> None:
    status, body = world.put("a.png", PNG, sha256="0" * 64)
    assert (status, body["error"]) == (400, "digest_mismatch")
    assert world.object_keys() == set()


def test_body_over_the_direct_limit_is_413(world: World) -> None:
    big = os.urandom(MAX_DIRECT_BODY + 1)
    status, body = world.put("big.png", big)
    assert (status, body["error"]) == (413, "too_large")
    assert "POST /uploads" in body["message"]


def test_conversion_failing_three_times_is_500_and_a_retry_repairs(world: World) -> None:
    calls = []

    def broken(data: bytes):
        calls.append(1)
        raise ConversionError("simulated encoder crash")

    failing = world.make_backend(render=broken)
    status, body = world.put("a.png", PNG, backend=failing)
    assert (status, body["error"], len(calls)) == (500, "processing_failed", 3)
    raw = [i for i in world.items() if i["ImageType"] == "raw"][0]
    assert raw["Status"] == "failed" and "simulated encoder crash" in raw["ErrorMessage"]
    assert world.get("a.png")[1]["status"] == "failed"
    world.check_invariants()
    status, body = world.put("a.png", PNG)
    assert (status, body["status"]) == (200, "completed")
    assert all("ErrorMessage" not in i for i in world.items())
    world.check_invariants()


def test_delete_of_unknown_path_is_200_with_nothing_deleted(world: World) -> None:
    assert world.delete("never/was.png") == (200, {"registered_file": "never/was.png", "deleted": 0,
                                                   "objects_removed": 0})


def test_get_returns_the_registration_or_404(world: World) -> None:
    assert world.get("a.png")[0] == 404
    assert world.get("a.png")[1]["error"] == "not_found"
    world.put("a.png", PNG)
    status, body = world.get("a.png")
    assert status == 200 and {"registered_file", "status", "hash", "images"} <= set(body)
    world.delete("a.png")
    assert world.get("a.png")[0] == 404


def test_list_pages_through_the_live_catalog_with_an_opaque_cursor(world: World) -> None:
    paths = [f"dir/{i:02d}.png" for i in range(7)]
    for i, path in enumerate(paths):
        world.put(path, image_bytes("PNG", (20, 20), seed=i))
    world.delete(paths[3])
    seen, cursor, pages = [], None, 0
    while True:
        event = list_event(cursor)
        event["queryStringParameters"] = dict(event["queryStringParameters"] or {}, limit="2")
        status, body = call(world.backend, event)
        assert status == 200
        seen.extend(body["files"])
        pages += 1
        cursor = body["cursor"]
        if cursor is None:
            break
    assert [f["registered_file"] for f in seen] == [p for p in paths if p != paths[3]]
    assert all(f["status"] == "completed" and len(f["hash"]) == 64 for f in seen)
    assert pages >= 3


def test_list_refuses_a_cursor_it_did_not_make(world: World) -> None:
    status, body = call(world.backend, list_event("not-a-cursor!"))
    assert (status, body["error"]) == (400, "bad_request")


def test_unknown_route_is_404_and_wrong_method_is_405(world: World) -> None:
    assert call(world.backend, dict(list_event(), resource="/other", path="/other"))[0] == 404
    assert call(world.backend, dict(list_event(), httpMethod="DELETE"))[0] == 405


def test_presigned_upload_then_s3_event_registers_the_file(world: World) -> None:
    data = image_bytes("JPEG", (300, 200), seed=4)
    digest = hashlib.sha256(data).hexdigest()
    status, body = call(world.backend, uploads_event({"filename": "big/ph oto.jpg", "content_type": "image/jpeg",
                                                      "size": len(data), "sha256": digest}))
    assert status == 200 and body["method"] == "PUT"
    assert body["headers"]["x-amz-meta-sha256"] == digest
    assert body["headers"]["Content-Type"] == "image/jpeg"
    assert "big" not in body["url"].split("?")[0]  # the user's path is not the key
    uploaded = requests.put(body["url"], data=data, headers=body["headers"], timeout=10)
    assert uploaded.status_code == 200
    incoming = [k for k in world.object_keys() if k.startswith("images/incoming/")]
    assert len(incoming) == 1
    result = world.backend.handle_s3_event(s3_event(incoming[0]))
    assert result["results"][0]["outcome"] == "registered"
    status, reg = world.get("big/ph oto.jpg")
    assert (status, reg["status"], reg["hash"]) == (200, "completed", digest)
    assert not any(k.startswith("images/incoming/") for k in world.object_keys())
    # a duplicate delivery of the same event finds the upload gone and changes nothing
    assert world.backend.handle_s3_event(s3_event(incoming[0]))["results"][0]["outcome"] == "gone"
    world.check_invariants()


def _incoming(world: World, key: str, data: bytes, path: str, issued: int, sha: str | None = None) -> None:
    """An upload as POST /uploads records it (its token the path's latest intent), and its object."""
    sha = sha or hashlib.sha256(data).hexdigest()
    token = world.backend.registry.uploads.open(unquote(path), sha, issued)
    world.s3.put_object(Bucket=BUCKET, Key=key, Body=data, Metadata={
        "filename": path, "sha256": sha, "issued": str(issued), "token": token})


def test_s3_event_out_of_order_keeps_the_newer_registration(world: World) -> None:
    old, new = image_bytes("PNG", (40, 40), seed=1), image_bytes("PNG", (40, 40), seed=2)
    _incoming(world, "images/incoming/old.png", old, "a.png", issued=1000)
    _incoming(world, "images/incoming/new.png", new, "a.png", issued=2000)
    world.backend.handle_s3_event(s3_event("images/incoming/new.png"))
    world.backend.handle_s3_event(s3_event("images/incoming/old.png"))
    assert world.get("a.png")[1]["hash"] == hashlib.sha256(new).hexdigest()
    assert not any(k.startswith("images/incoming/") for k in world.object_keys())
    world.check_invariants()


def test_s3_event_with_a_wrong_digest_registers_nothing_and_get_says_failed(world: World) -> None:
    _incoming(world, "images/incoming/x.png", PNG, "a.png", issued=1, sha="1" * 64)
    out = world.backend.handle_s3_event(s3_event("images/incoming/x.png"))
    assert out["results"][0]["outcome"] == "digest_mismatch"
    assert world.object_keys() == set()
    # What the uploading client polls for (its announced digest) answers `failed` with the reason.
    status, body = world.get("a.png")
    assert (status, body["hash"], body["status"], body["error"]) == (200, "1" * 64, "failed", "digest_mismatch")
    assert "upload the file again" in body["error_message"] and body["images"] == {}
    assert call(world.backend, list_event())[1]["files"] == []  # nothing is registered
    world.check_invariants()
    assert world.put("a.png", PNG)[1]["status"] == "completed"  # a good upload replaces the refusal
    assert world.get("a.png")[1]["hash"] == hashlib.sha256(PNG).hexdigest()
    assert world.delete("a.png")[1]["deleted"] == 4 and world.get("a.png")[0] == 404


@pytest.mark.slow
def test_s3_event_refusal_is_shown_over_an_older_registration_until_deleted(world: World) -> None:
    world.put("a.png", PNG)  # issued now: a refusal must be newer to show
    text = b"not an image at all"
    _incoming(world, "images/incoming/y.png", text, "a.png", issued=2**52)
    assert world.backend.handle_s3_event(s3_event("images/incoming/y.png"))["results"][0]["outcome"] == "invalid_image"
    status, body = world.get("a.png")
    assert (status, body["status"], body["hash"]) == (200, "failed", hashlib.sha256(text).hexdigest())
    assert call(world.backend, list_event())[1]["files"][0]["hash"] == hashlib.sha256(PNG).hexdigest()
    assert len(world.object_keys()) == 4  # the older registration stays live and stored
    # an older refusal delivered late does not replace the newer one
    _incoming(world, "images/incoming/z.png", text + b"!", "a.png", issued=5)
    world.backend.handle_s3_event(s3_event("images/incoming/z.png"))
    assert world.get("a.png")[1]["hash"] == hashlib.sha256(text).hexdigest()
    assert world.delete("a.png")[1]["deleted"] == 4
    assert world.get("a.png")[0] == 404 and world.object_keys() == set()
    world.check_invariants()


def test_s3_event_keys_are_url_decoded_with_plus_for_space(world: World) -> None:
    _incoming(world, "images/incoming/a b+c.png", PNG, "d/%C3%A4%20b.png", issued=1)
    event = s3_event("x")
    event["Records"][0]["s3"]["object"]["key"] = "images/incoming/a+b%2Bc.png"  # as S3 sends it
    out = world.backend.handle_s3_event(event)["results"][0]
    assert (out["key"], out["outcome"]) == ("images/incoming/a b+c.png", "registered")
    assert world.get("d/ä b.png")[1]["status"] == "completed"


def test_s3_event_with_unreadable_issued_metadata_still_registers(world: World) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="images/incoming/q.png", Body=PNG, Metadata={
        "filename": "q.png", "sha256": hashlib.sha256(PNG).hexdigest(), "issued": "soon",
        "token": world.backend.registry.uploads.open("q.png", hashlib.sha256(PNG).hexdigest(), 0)})
    assert world.backend.handle_s3_event(s3_event("images/incoming/q.png"))["results"][0]["outcome"] == "registered"
    assert world.object_keys() == {f"images/{t}/{hashlib.sha256(PNG).hexdigest()[:20]}.png"
                                   for t in ("raw", "sg", "md", "lg")}


def test_s3_event_outside_incoming_is_ignored(world: World) -> None:
    assert world.backend.handle_s3_event(s3_event("images/raw/x.png"))["results"][0]["outcome"] == "ignored"


@pytest.mark.parametrize(("body", "status"), [
    ({"filename": "a.png", "content_type": "image/png", "size": 10, "sha256": "xyz"}, 400),
    ({"filename": "a.txt", "content_type": "text/plain", "size": 10, "sha256": "a" * 64}, 400),
    ({"filename": "a.png", "content_type": "image/png", "size": 10**12, "sha256": "a" * 64}, 413),
])
def test_presign_refuses_bad_requests(world: World, body: dict, status: int) -> None:
    assert call(world.backend, uploads_event(body))[0] == status


@pytest.mark.slow
def test_name_being_collected_makes_a_put_wait_then_take_over_after_the_lease(world: World) -> None:
    now = [1000.0]
    backend = world.make_backend(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                                 lease_seconds=30, wait_seconds=5)
    name = hashlib.sha256(PNG).hexdigest()[:20] + ".png"
    world.dynamodb.put_item(TableName=TABLE, Item={
        "ImageType": {"S": "ref"}, "ImageId": {"S": name}, "Refs": {"N": "0"}, "Phase": {"S": "collecting"},
        "Token": {"S": "dead-collector"}, "LeaseUntil": {"N": "1020"}})
    world.s3.put_object(Bucket=BUCKET, Key=f"images/md/{name}", Body=b"left over")
    status, body = world.put("a.png", PNG, backend=backend)
    assert (status, body["error"]) == (503, "busy")
    now[0] = 1100.0  # the collector's lease has run out: the next put finishes its work, then stores
    status, body = world.put("a.png", PNG, backend=backend)
    assert (status, body["status"]) == (200, "completed")
    world.check_invariants()


def test_timestamp_scheme_names_objects_by_upload_time(world: World) -> None:
    ts = world.make_backend(config=dataclasses.replace(world.config, key_scheme="timestamp"))
    status, body = world.put("a.PNG", PNG, backend=ts)
    key = body["images"]["raw"]["key"]
    stamp, rest = key.rsplit("/", 1)[1].split("-")
    assert status == 200 and len(stamp) == 12 and stamp.isdigit()
    assert rest == hashlib.sha256(PNG).hexdigest()[:8] + ".png"
    world.delete("a.PNG", backend=ts)
    world.check_invariants()


def test_plain_body_is_accepted_when_not_base64(world: World) -> None:
    data = image_bytes("BMP", (10, 10))
    event = put_event("a.bmp", data)
    event["isBase64Encoded"] = False
    event["body"] = data.decode("utf-8", "surrogateescape")
    assert call(world.backend, event)[0] == 200


def test_render_is_the_imaging_module_by_default(world: World) -> None:
    # The variants the API stores are byte for byte those that render_variants makes.
    world.put("a.jpg", JPEG)
    made = render_variants(JPEG, world.config.variant_sizes)
    name = hashlib.sha256(JPEG).hexdigest()[:20] + ".jpg"
    stored = world.s3.get_object(Bucket=BUCKET, Key=f"images/md/{name}")["Body"].read()
    assert stored == made.variants["md"].data
    assert json.loads(world.backend.handle(item_event("GET", "a.jpg"))["body"])["images"]["md"]["size"] == len(stored)


def test_put_replaced_by_a_concurrent_delete_is_409_and_leaves_nothing_behind(world: World) -> None:
    # The delete lands between this PUT's catalog transaction and its first S3 write.
    s3 = Hooked(world.s3, "put_object", lambda: world.delete("a.png"))
    status, body = world.put("a.png", PNG, backend=world.make_backend(s3=s3))
    assert (status, body["error"]) == (409, "conflict")
    assert world.object_keys() == set()
    assert world.get("a.png")[0] == 404
    world.check_invariants()


def test_unexpected_failure_is_500_internal_error_in_the_contract_shape(world: World) -> None:
    def fail():
        raise ConnectionError("S3 is unreachable")

    status, body = world.put("a.png", PNG, backend=world.make_backend(s3=Hooked(world.s3, "put_object", fail)))
    assert (status, body["error"]) == (500, "internal_error") and body["message"]
    assert world.put("a.png", PNG)[1]["status"] == "completed"  # the retry repairs
    world.check_invariants()


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "PNG", "WEBP"])
def test_raw_size_is_as_displayed_after_exif_orientation(world: World, fmt: str) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: displayed 60 wide, 120 high
    buf = io.BytesIO()
    Image.new("RGB", (120, 60), (10, 200, 30)).save(buf, fmt, exif=exif)
    ext = {"JPEG": "jpg", "TIFF": "tif", "PNG": "png", "WEBP": "webp"}[fmt]
    status, body = world.put(f"turned.{ext}", buf.getvalue())
    assert status == 200, body
    sizes = {k: (v["width"], v["height"]) for k, v in body["images"].items()}
    assert sizes == {"raw": (60, 120), "sg": (16, 32), "md": (32, 64), "lg": (48, 96)}


def _cursor(after) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


@pytest.mark.parametrize("after", ["x" * 1100, "\ud800", "", 7, None])
def test_list_refuses_forged_cursors_the_catalog_cannot_take(world: World, after) -> None:
    status, body = call(world.backend, list_event(_cursor(after)))
    assert (status, body["error"]) == (400, "bad_request")


@pytest.mark.parametrize("after", ["a", "ref", "raw/a.png", "collecting", "\uffff"])
def test_a_forged_cursor_only_moves_within_the_registrations(world: World, after: str) -> None:
    for path in ("a.png", "b.png", "z/c.png"):
        world.put(path, PNG)
    world.delete("b.png")
    status, body = call(world.backend, list_event(_cursor(after)))
    assert status == 200
    live = ["a.png", "z/c.png"]
    assert [f["registered_file"] for f in body["files"]] == [p for p in live if p > after]
    assert all(set(f) == {"registered_file", "hash", "status", "images"} for f in body["files"])


def test_s3_event_for_an_upload_over_the_limit_refuses_it_unread(world: World, monkeypatch) -> None:
    import snail_backend.app as app

    monkeypatch.setattr(app, "MAX_UPLOAD_BYTES", len(PNG) - 1)  # a presigned PUT does not bound the size
    _incoming(world, "images/incoming/big.png", PNG, "big.png", issued=1)
    out = world.backend.handle_s3_event(s3_event("images/incoming/big.png"))["results"][0]
    assert out["outcome"] == "too_large"
    status, body = world.get("big.png")
    assert (status, body["status"], body["error"], body["hash"]) == (200, "failed", "too_large",
                                                                     hashlib.sha256(PNG).hexdigest())
    assert world.object_keys() == set()


def test_a_stale_upload_with_other_bytes_leaves_no_refusal_behind(world: World) -> None:
    _incoming(world, "images/incoming/x.png", PNG, "a.png", issued=1, sha="1" * 64)
    assert world.delete("a.png")[0] == 200  # the path's intent moves on before the event arrives
    out = world.backend.handle_s3_event(s3_event("images/incoming/x.png"))
    assert out["results"][0]["outcome"] == "stale"
    assert world.get("a.png")[0] == 404  # not even a `failed` record: the path is deleted
    world.check_invariants()
