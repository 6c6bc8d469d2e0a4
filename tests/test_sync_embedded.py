"""End to end: `sync`/`status` over real HTTP against the embedded backend (the real handlers over moto)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace

import pytest
import requests

from helpers import GitRepo, image_bytes
from snail_action import cli
from snail_action.client import RetryPolicy
from snail_action.embedded.server import EmbeddedBackend
from snail_action.settings import Settings
from snail_action.sync import SyncOptions, sync

OPTS = SyncOptions(retry=RetryPolicy(attempts=3, base_delay=0.05, total_seconds=20), poll_interval=0.1,
                   poll_max_interval=0.5, poll_timeout=60)


class RecordingSession(requests.Session):
    """A real session that notes each request's method and URL, to see what went over the wire."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[str, str, dict]] = []

    def request(self, method, url, *args, **kwargs):
        self.sent.append((method, url, dict(kwargs.get("headers") or {})))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def backend():
    with EmbeddedBackend() as eb:
        yield eb


def s3_keys(eb) -> set[str]:
    pages = eb.s3.get_paginator("list_objects_v2").paginate(Bucket=eb.bucket, Prefix="images/")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def run(settings: Settings, session=None):
    return sync(settings, session=session, out=io.StringIO(), options=OPTS)


def test_first_push_then_changes_then_reconcile_sends_nothing(git_repo: GitRepo, backend):
    eb = backend
    git_repo.write("a.png", image_bytes("PNG", seed=1))
    git_repo.write("사진/b c.jpg", image_bytes("JPEG", seed=2))
    git_repo.write("gone.gif", image_bytes("GIF", seed=3))
    first = git_repo.commit()
    base = Settings(path=git_repo.path, api_url=eb.api_url, api_key=eb.api_key)

    report = run(replace(base, before="0" * 40, after=first))
    assert report.summary() == {"put": 3, "deleted": 0, "unchanged": 0, "failed": 0, "rejected": 0}
    assert all(r.stored_key.startswith("images/raw/") for r in report.results)

    git_repo.move("a.png", "renamed/a.png")
    git_repo.remove("gone.gif")
    git_repo.write("사진/b c.jpg", image_bytes("JPEG", seed=20))
    second = git_repo.commit()
    report = run(replace(base, before=first, after=second))
    outcomes = {(r.op, r.path): r.outcome for r in report.results}
    assert outcomes == {("delete", "a.png"): "deleted", ("delete", "gone.gif"): "deleted",
                        ("put", "renamed/a.png"): "completed", ("put", "사진/b c.jpg"): "completed"}
    gif_objects = [k for k in s3_keys(eb) if k.endswith(".gif")]
    assert gif_objects == []  # the last reference went, so did its objects

    session = RecordingSession()
    report = run(replace(base, mode="reconcile", after=second), session=session)
    assert {r.outcome for r in report.results} == {"unchanged"}
    assert {m for m, _, _ in session.sent} == {"GET"}


def test_reconcile_repairs_a_catalog_that_drifted(git_repo: GitRepo, backend):
    eb = backend
    git_repo.write("keep.png", image_bytes("PNG", seed=1))
    git_repo.write("later.png", image_bytes("PNG", seed=2))
    after = git_repo.commit()
    headers = {"x-api-key": eb.api_key, "Content-Type": "image/png", "filename": "orphan.png"}
    orphan = image_bytes("PNG", seed=9)
    headers["x-content-sha256"] = hashlib.sha256(orphan).hexdigest()
    assert requests.put(f"{eb.api_url}/images/orphan.png", data=orphan, headers=headers, timeout=30).status_code == 200
    settings = Settings(path=git_repo.path, api_url=eb.api_url, api_key=eb.api_key, mode="reconcile", after=after)
    report = run(settings)
    outcomes = {(r.op, r.path): r.outcome for r in report.results}
    assert outcomes == {("put", "keep.png"): "completed", ("put", "later.png"): "completed",
                        ("delete", "orphan.png"): "deleted"}
    assert requests.get(f"{eb.api_url}/images/orphan.png", headers={"x-api-key": eb.api_key},
                        timeout=30).status_code == 404


def test_large_file_goes_through_presigned_upload(git_repo: GitRepo, backend):
    eb = backend
    big = image_bytes("PNG", size=(200, 150), seed=5)
    small = image_bytes("PNG", size=(8, 8), seed=6)
    before = git_repo.commit("empty")
    git_repo.write("big.png", big)
    git_repo.write("small.png", small)
    after = git_repo.commit()
    session = RecordingSession()
    settings = Settings(path=git_repo.path, api_url=eb.api_url, api_key=eb.api_key, before=before, after=after,
                        direct_upload_limit=len(small) + 1)
    report = run(settings, session=session)
    assert {r.path: r.outcome for r in report.results} == {"big.png": "completed", "small.png": "completed"}
    storage_puts = [(u, h) for m, u, h in session.sent if m == "PUT" and not u.startswith(eb.api_url)]
    assert len(storage_puts) == 1
    url, hdrs = storage_puts[0]
    assert "x-api-key" not in {k.lower() for k in hdrs}
    assert [u for m, u, _ in session.sent if m == "POST"] == [f"{eb.api_url}/uploads"]
    big_result = next(r for r in report.results if r.path == "big.png")
    name = big_result.stored_key.rsplit("/", 1)[1]
    assert {f"images/{kind}/{name}" for kind in ("raw", "sg", "md", "lg")} <= s3_keys(eb)


def test_cli_sync_and_status(git_repo: GitRepo, backend, tmp_path, capsys, monkeypatch):
    eb = backend
    git_repo.write("photos/cat 1.png", image_bytes("PNG", seed=1))
    git_repo.write("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    git_repo.commit()
    monkeypatch.setenv("SNAIL_API_KEY", eb.api_key)
    for name in ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    results = tmp_path / "results.json"
    code = cli.main(["sync", "--path", str(git_repo.path), "--api-url", eb.api_url, "--all",
                     "--results", str(results), "--concurrency", "4"])
    out = capsys.readouterr()
    assert code == 1  # broken.png was rejected; the other file still went
    data = json.loads(results.read_text())
    assert {r["path"]: r["outcome"] for r in data["results"]} == {"photos/cat 1.png": "completed",
                                                                 "broken.png": "rejected"}
    assert eb.api_key not in out.out + out.err

    code = cli.main(["status", "--api-url", eb.api_url, "photos/cat 1.png"])
    out = capsys.readouterr()
    assert code == 0
    record = json.loads(out.out)
    assert record["registered_file"] == "photos/cat 1.png"
    assert record["status"] == "completed"
    assert set(record["images"]) == {"raw", "sg", "md", "lg"}

    code = cli.main(["status", "--api-url", eb.api_url, "never-sent.png"])
    out = capsys.readouterr()
    assert code == 1
    assert "never-sent.png: not registered" in out.err
