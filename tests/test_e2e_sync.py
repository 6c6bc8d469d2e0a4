"""End to end over real HTTP: pushes of a real repository synced with `snail-images sync` into the
embedded backend (the real handlers over moto), then the catalog and the bucket read back with boto3
and compared with the repository after every push."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
import requests

from helpers import GitRepo, image_bytes
from snail_action import cli
from snail_action.embedded.server import EmbeddedBackend
from snail_backend.formats import format_for_path, variant_names

KINDS = ("raw", "sg", "md", "lg")
GITHUB_VARS = ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
               "GITHUB_REPOSITORY", "GITHUB_REF")  # (the last two key the sync marker: CI's own must not leak in)


def images_at(repo: GitRepo, rev: str) -> dict[str, bytes]:
    """Every image path at `rev` with its content, straight from git."""
    names = repo.git("ls-tree", "-r", "-z", "--name-only", rev).split("\0")
    out = {}
    for name in names:
        if name and format_for_path(name):
            out[name] = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=repo.path, check=True,
                                       capture_output=True).stdout
    return out


def catalog_items(dynamodb, table: str) -> list[dict]:
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items += [{k: next(iter(v.values())) for k, v in item.items()} for item in page["Items"]]
    return [i for i in items if i.get("ImageType") in KINDS]  # other item types are the backend's own


def bucket_keys(s3, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="images/")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def assert_backend_matches(repo: GitRepo, rev: str, s3, dynamodb, bucket: str, table: str) -> dict[str, dict]:
    """The catalog and the bucket hold exactly what the repository at `rev` says; returns path -> kind -> item."""
    files = images_at(repo, rev)
    live: dict[str, dict[str, dict]] = {}
    for item in catalog_items(dynamodb, table):
        if item["Status"] != "deleted":
            assert item["ImageType"] not in live.get(item["RegisteredFile"], {}), f"two live {item}"
            live.setdefault(item["RegisteredFile"], {})[item["ImageType"]] = item
    assert set(live) == set(files), "registered files differ from the images in the repository"
    for path, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        kinds = live[path]
        assert set(kinds) == set(KINDS), f"{path}: {sorted(kinds)}"
        assert {i["Status"] for i in kinds.values()} == {"completed"}, path
        raw = kinds["raw"]
        assert raw["ContentHash"] == digest, path
        ext = path.rsplit(".", 1)[1].lower()
        assert raw["StoredKey"] == f"images/raw/{digest[:20]}.{ext}", path
        name = f"{digest[:20]}.{ext}"
        assert {t: i["StoredKey"].rsplit("/", 1)[0] for t, i in kinds.items()} == {k: f"images/{k}" for k in KINDS}
        # a variant is stored under the original's name, or that with its own format's extension added
        assert {i["StoredKey"].rsplit("/", 1)[1] for t, i in kinds.items() if t != "raw"} <= set(variant_names(name))
        assert s3.get_object(Bucket=bucket, Key=raw["StoredKey"])["Body"].read() == data, path
    stored = {k for k in bucket_keys(s3, bucket) if not k.startswith("images/incoming/")}
    referenced = {i["StoredKey"] for kinds in live.values() for i in kinds.values()}
    assert stored == referenced, f"orphans {stored - referenced}, missing {referenced - stored}"
    return live


@pytest.mark.slow
def test_pushes_synced_with_the_cli_leave_catalog_and_bucket_equal_to_the_repository(git_repo: GitRepo, clean_env,
                                                                                     tmp_path):
    big = image_bytes("WEBP", size=(300, 200), seed=7, lossless=True)
    limit = str(len(big) - 1)  # only big.webp is above it: it goes through POST /uploads and S3
    with EmbeddedBackend() as eb:
        clean_env.setenv("SNAIL_API_KEY", eb.api_key)

        def push(before: str, after: str) -> dict:
            results = tmp_path / f"results-{after[:7]}.json"
            code = cli.main(["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--before", before,
                             "--after", after, "--direct-upload-limit", limit, "--results", str(results)])
            data = json.loads(results.read_text())
            assert code == 0, data
            return {r["path"]: r["outcome"] for r in data["results"]}

        shared = image_bytes("PNG", size=(90, 60), seed=3)
        git_repo.write("a.png", image_bytes("PNG", size=(400, 300), seed=1))
        git_repo.write("photos/b.jpg", image_bytes("JPEG", size=(1000, 700), seed=2))
        git_repo.write("with space/\u00fc \u00f1+%.gif", image_bytes("GIF", size=(120, 80), seed=4))
        git_repo.write("dup/one.png", shared)
        git_repo.write("dup/two.png", shared)
        git_repo.write("big.webp", big)
        git_repo.write("README.md", "not sent\n")
        first = git_repo.commit("first")
        assert push("0" * 40, first) == dict.fromkeys(
            ["a.png", "photos/b.jpg", "with space/\u00fc \u00f1+%.gif", "dup/one.png", "dup/two.png", "big.webp"],
            "completed")
        live = assert_backend_matches(git_repo, first, eb.s3, eb.dynamodb, eb.bucket, eb.table)
        assert live["dup/one.png"]["raw"]["StoredKey"] == live["dup/two.png"]["raw"]["StoredKey"]
        assert live["photos/b.jpg"]["lg"]["Resolution"] == "1000x700"  # never enlarged
        assert live["photos/b.jpg"]["sg"]["Resolution"] == "320x224"

        git_repo.move("a.png", "moved/a.png")
        git_repo.write("photos/b.jpg", image_bytes("JPEG", size=(640, 480), seed=20))
        git_repo.remove("dup/one.png")
        second = git_repo.commit("rename, edit, delete one duplicate")
        assert push(first, second) == {"a.png": "deleted", "moved/a.png": "completed",
                                       "photos/b.jpg": "completed", "dup/one.png": "deleted"}
        assert_backend_matches(git_repo, second, eb.s3, eb.dynamodb, eb.bucket, eb.table)

        git_repo.remove("dup/two.png")
        git_repo.write("c.bmp", image_bytes("BMP", size=(50, 50), seed=5))
        third = git_repo.commit("delete the last duplicate, add a bitmap")
        git_repo.remove("big.webp")
        fourth = git_repo.commit("delete the big one")
        assert push(second, fourth) == {"dup/two.png": "deleted", "c.bmp": "completed", "big.webp": "deleted"}
        assert third != fourth
        assert_backend_matches(git_repo, fourth, eb.s3, eb.dynamodb, eb.bucket, eb.table)
        assert not [k for k in bucket_keys(eb.s3, eb.bucket) if k.startswith("images/incoming/")]


@pytest.mark.slow
def test_direct_put_over_the_lambda_event_limit_is_refused_by_the_gateway(clean_env):
    body = image_bytes("PNG", size=(8, 8)) + b"\0" * (5 * 1024 * 1024)  # base64 of it exceeds 6 MiB
    with EmbeddedBackend() as eb:
        r = requests.put(f"{eb.api_url}/images/huge.png", data=body, timeout=60,
                         headers={"x-api-key": eb.api_key, "Content-Type": "image/png", "filename": "huge.png",
                                  "x-content-sha256": hashlib.sha256(body).hexdigest()})
        assert r.status_code == 413
        assert r.json()["message"] == "Request Too Long"
        assert catalog_items(eb.dynamodb, eb.table) == []
        assert bucket_keys(eb.s3, eb.bucket) == set()


@pytest.mark.slow
def test_sync_as_a_process_into_serve_as_a_process(git_repo: GitRepo, tmp_path):
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if k not in GITHUB_VARS}
    serve = subprocess.Popen([sys.executable, "-m", "snail_action", "serve", "--ready-file", str(ready)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert serve.poll() is None and time.monotonic() < deadline, "serve did not get ready"
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        git_repo.write("x/one.png", image_bytes("PNG", seed=1))
        git_repo.write("x/two.jpg", image_bytes("JPEG", seed=2))
        git_repo.write("x/notes.txt", "not an image\n")
        head = git_repo.commit()
        sync = subprocess.run([sys.executable, "-m", "snail_action", "sync", "--path", str(git_repo.path),
                               "--api-url", info["api_url"], "--all"], capture_output=True, text=True,
                              env={**env, "SNAIL_API_KEY": info["api_key"]}, timeout=120)
        assert sync.returncode == 1, sync.stdout + sync.stderr  # notes.txt is rejected, the images still go
        assert info["api_key"] not in sync.stdout + sync.stderr
        kw = dict(endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                  aws_access_key_id="anything", aws_secret_access_key="anything")
        git_repo.remove("x/notes.txt")
        assert_backend_matches(git_repo, git_repo.commit(), boto3.client("s3", **kw), boto3.client("dynamodb", **kw),
                               info["bucket"], info["table"])
        assert head
    finally:
        serve.send_signal(signal.SIGTERM)
        _, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err


@pytest.mark.slow
def test_concurrent_puts_and_deletes_of_shared_content_keep_the_invariants(git_repo: GitRepo, clean_env):
    # 24 paths over 4 distinct images, sent 16 at a time: the registrations race for the same objects.
    contents = [image_bytes("PNG", size=(40, 30), seed=s) for s in range(4)]
    for i in range(24):
        git_repo.write(f"copies/{i:02d}.png", contents[i % 4])
    first = git_repo.commit("many copies")
    with EmbeddedBackend() as eb:
        clean_env.setenv("SNAIL_API_KEY", eb.api_key)
        base = ["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--concurrency", "16"]
        assert cli.main([*base, "--before", "0" * 40, "--after", first]) == 0
        live = assert_backend_matches(git_repo, first, eb.s3, eb.dynamodb, eb.bucket, eb.table)
        assert len({kinds["raw"]["StoredKey"] for kinds in live.values()}) == 4

        for i in range(0, 24, 4):  # every copy of contents[0] goes, and half of the others
            git_repo.remove(f"copies/{i:02d}.png")
        for i in range(1, 24, 2):
            git_repo.remove(f"copies/{i:02d}.png")
        second = git_repo.commit("remove many")
        assert cli.main([*base, "--before", first, "--after", second]) == 0
        live = assert_backend_matches(git_repo, second, eb.s3, eb.dynamodb, eb.bucket, eb.table)
        assert len({kinds["raw"]["StoredKey"] for kinds in live.values()}) == 1


@pytest.mark.slow
def test_a_file_over_the_gateways_10_mib_goes_through_the_presigned_path_with_the_default_limit(
        git_repo: GitRepo, clean_env, tmp_path):
    import io
    import random

    from PIL import Image

    w, h = 2000, 1800  # noise does not compress: a real PNG above what any single API request may carry
    noise = Image.frombytes("RGB", (w, h), random.Random(11).randbytes(w * h * 3))
    buf = io.BytesIO()
    noise.save(buf, format="PNG", compress_level=0)
    big = buf.getvalue()
    assert len(big) > 10 * 1024 * 1024
    git_repo.write("scans/huge.png", big)
    git_repo.write("small.png", image_bytes("PNG", size=(30, 20), seed=1))
    head = git_repo.commit()
    with EmbeddedBackend() as eb:
        clean_env.setenv("SNAIL_API_KEY", eb.api_key)
        results = tmp_path / "results.json"
        code = cli.main(["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--all",
                         "--results", str(results)])
        outcomes = {r["path"]: (r["outcome"], r["http_status"]) for r in json.loads(results.read_text())["results"]}
        assert code == 0, outcomes
        assert outcomes["scans/huge.png"][0] == "completed"
        assert eb.s3_events_delivered() >= 1  # it arrived through images/incoming/ and the S3 event handler
        live = assert_backend_matches(git_repo, head, eb.s3, eb.dynamodb, eb.bucket, eb.table)
        assert live["scans/huge.png"]["raw"]["Resolution"] == "2000x1800"
