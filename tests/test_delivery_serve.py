"""Delivery URLs through the embedded backend (`serve`'s EmbeddedBackend, real HTTP over loopback):
the URLs in the API's answers fetch the right bytes with the right Content-Type and Cache-Control, a
by-path URL follows a new commit and answers 404 after a delete, and images/incoming/ is not served."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from helpers import GitRepo, image_bytes
from snail_action.client import RetryPolicy
from snail_action.embedded.server import EmbeddedBackend
from snail_action.settings import Settings
from snail_action.sync import SyncOptions, sync
from snail_backend.delivery import PATH_MAX_AGE
from snail_backend.storage import IMMUTABLE

OPTS = SyncOptions(retry=RetryPolicy(attempts=3, base_delay=0.05, total_seconds=20), poll_interval=0.1,
                   poll_max_interval=0.5, poll_timeout=60)
KINDS = ("raw", "sg", "md", "lg")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


@pytest.fixture(scope="module")
def eb():
    with EmbeddedBackend() as backend:
        yield backend


def api(eb, method, path, **kw):
    headers = {"x-api-key": eb.api_key, **kw.pop("headers", {})}
    return requests.request(method, f"{eb.api_url}/images{path}", headers=headers, timeout=30, **kw)


def put(eb, path, data, content_type):
    return api(eb, "PUT", "/" + quote(path), data=data,
               headers={"Content-Type": content_type, "filename": quote(path, safe="/"),
                        "x-content-sha256": hashlib.sha256(data).hexdigest()})


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_urls_in_the_answer_fetch_the_stored_bytes_with_type_and_immutable_cache(eb, fmt):
    data = image_bytes(fmt, size=(900, 500), seed=len(fmt))
    path = f"fmt/photo {fmt}.{fmt.lower()}"
    answer = put(eb, path, data, CONTENT_TYPES[fmt])
    assert answer.status_code == 200, answer.text
    images = answer.json()["images"]
    assert set(images) == set(KINDS)
    for kind in KINDS:
        url = images[kind]["url"]
        assert url == f"{eb.delivery_url}/{images[kind]['key']}"
        got = requests.get(url, timeout=30)
        assert got.status_code == 200
        assert got.headers["Content-Type"] == CONTENT_TYPES[fmt]
        assert got.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        stored = eb.s3.get_object(Bucket=eb.bucket, Key=images[kind]["key"])["Body"].read()
        assert got.content == stored
        with Image.open(io.BytesIO(got.content)) as im:
            assert (im.width, im.height) == (images[kind]["width"], images[kind]["height"])
    assert requests.get(images["raw"]["url"], timeout=30).content == data


def test_get_and_listing_carry_the_same_urls(eb):
    data = image_bytes("PNG", seed=40)
    put_answer = put(eb, "list/one.png", data, "image/png").json()
    got = api(eb, "GET", "/list/one.png").json()
    assert {k: v["url"] for k, v in got["images"].items()} == {k: v["url"] for k, v in put_answer["images"].items()}
    listed = [f for f in api(eb, "GET", "", params={"limit": 1000}).json()["files"]
              if f["registered_file"] == "list/one.png"]
    assert [{k: v["url"] for k, v in f["images"].items()} for f in listed] == [
        {k: v["url"] for k, v in got["images"].items()}]


def test_a_by_path_url_follows_a_new_commit_and_answers_404_after_a_delete(git_repo: GitRepo, eb):
    first_bytes, second_bytes = image_bytes("JPEG", size=(1000, 700), seed=7), image_bytes("JPEG", size=(700, 1000),
                                                                                              seed=8)
    git_repo.write("photos/cat.jpg", first_bytes)
    one = git_repo.commit()
    settings = Settings(path=git_repo.path, api_url=eb.api_url, api_key=eb.api_key)
    assert sync(replace(settings, before="0" * 40, after=one), out=io.StringIO(), options=OPTS).ok
    by_path = f"{eb.delivery_url}/lg/photos/cat.jpg"
    assert api(eb, "GET", "/photos/cat.jpg").json()["images"]["lg"]["path_url"] == by_path

    hop = requests.get(by_path, allow_redirects=False, timeout=30)
    assert hop.status_code == 302 and hop.headers["Cache-Control"] == f"public, max-age={PATH_MAX_AGE}"
    first_lg = requests.get(by_path, timeout=30)
    assert first_lg.status_code == 200 and first_lg.headers["Cache-Control"] == IMMUTABLE
    with Image.open(io.BytesIO(first_lg.content)) as im:
        assert im.width > im.height
    assert requests.get(f"{eb.delivery_url}/raw/photos/cat.jpg", timeout=30).content == first_bytes

    git_repo.write("photos/cat.jpg", second_bytes)
    two = git_repo.commit()
    assert sync(replace(settings, before=one, after=two), out=io.StringIO(), options=OPTS).ok
    assert requests.get(f"{eb.delivery_url}/raw/photos/cat.jpg", timeout=30).content == second_bytes
    with Image.open(io.BytesIO(requests.get(by_path, timeout=30).content)) as im:
        assert im.height > im.width  # the new picture
    old_object = hop.headers["Location"]
    assert requests.get(old_object, timeout=30).status_code == 403  # collected; S3 via OAC says 403

    git_repo.remove("photos/cat.jpg")
    three = git_repo.commit()
    assert sync(replace(settings, before=two, after=three), out=io.StringIO(), options=OPTS).ok
    gone = requests.get(by_path, allow_redirects=False, timeout=30)
    assert gone.status_code == 404 and "not registered" in gone.json()["message"]


def test_incoming_and_unknown_paths_are_not_served(eb):
    eb.s3.put_object(Bucket=eb.bucket, Key="images/incoming/secret.png", Body=b"not for you")
    try:
        for path in ("/images/incoming/secret.png", "/images/incoming/", "/incoming/secret.png",
                     "/images/raw/../incoming/secret.png", "/images/raw/%2e%2e/incoming/secret.png", "/", "/images",
                     "/xl/photos/cat.jpg"):
            got = requests.get(f"{eb.delivery_url}{path}", allow_redirects=False, timeout=30)
            assert got.status_code == 404, path
            assert b"not for you" not in got.content
        assert requests.put(f"{eb.delivery_url}/images/raw/a.png", data=b"x", timeout=30).status_code == 405
    finally:
        eb.wait_incoming(timeout=30)


def test_a_path_that_is_not_a_repository_path_is_404_not_an_error(eb):
    for path in ("/raw/a/../b.png", "/md//x.png"):
        got = requests.get(f"{eb.delivery_url}{path}", allow_redirects=False, timeout=30)
        assert got.status_code == 404, path


def test_a_sync_writes_the_urls_file_results_urls_and_a_summary_with_links(git_repo: GitRepo, eb, tmp_path):
    import json
    import re

    from snail_action.sync_cmd import run_sync

    pics = {"gallery/a b.png": image_bytes("PNG", seed=51), "gallery/c.jpg": image_bytes("JPEG", seed=52)}
    for path, data in pics.items():
        git_repo.write(path, data)
    after = git_repo.commit()
    out, summary, results = tmp_path / "out", tmp_path / "summary.md", tmp_path / "results.json"
    settings = Settings(path=git_repo.path, api_url=eb.api_url, api_key=eb.api_key, before="0" * 40, after=after,
                        results=results)
    assert run_sync(None, settings, env={"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)},
                    options=OPTS) == 0
    outputs = {m[0]: m[2] for m in re.findall(r"^(\w+)<<(\S+)\n(.*?)\n\2$", out.read_text(), re.M | re.S)}
    urls = json.loads(open(outputs["urls"], encoding="utf-8").read())
    assert set(urls) == set(pics)
    for path, data in pics.items():
        assert set(urls[path]) == set(KINDS)
        assert requests.get(urls[path]["raw"]["url"], timeout=30).content == data
        assert requests.get(urls[path]["raw"]["path_url"], timeout=30).content == data
    by_path = {r["path"]: r.get("urls") for r in json.loads(results.read_text())["results"]}
    assert by_path == urls
    md = summary.read_text()
    assert "#### Images" in md
    assert f"| [raw]({urls['gallery/c.jpg']['raw']['url']}) |" in md
    assert "<img" not in md  # thumbnails only for https URLs, which GitHub can show; the local port is http


def test_the_api_port_answers_the_open_by_path_route_without_a_key_and_nothing_else(eb):
    put(eb, "open/k.png", image_bytes("PNG", seed=60), "image/png")
    by_path = requests.get(f"{eb.api_url}/files/md/open/k.png", allow_redirects=False, timeout=30)
    assert by_path.status_code == 302 and by_path.headers["Location"].startswith(f"{eb.delivery_url}/images/md/")
    assert requests.get(f"{eb.api_url}/images/open/k.png", timeout=30).status_code == 403  # still needs the key
