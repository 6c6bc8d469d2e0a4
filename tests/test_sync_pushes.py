"""Every kind of push through `sync` into the embedded backend (real handlers, moto, loopback HTTP);
after each one the live catalog must equal the images of the tree at `after`, by path and SHA-256."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import replace

import pytest

from helpers import GitRepo, image_bytes
from snail_action.client import ApiClient, RetryPolicy
from snail_action.embedded.server import EmbeddedBackend
from snail_action.settings import Settings
from snail_action.sync import SyncOptions, sync

OPTS = SyncOptions(retry=RetryPolicy(attempts=3, base_delay=0.05, total_seconds=20), poll_interval=0.05,
                   poll_max_interval=0.2, poll_timeout=60)
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


@pytest.fixture(scope="module")
def backend():
    with EmbeddedBackend() as eb:
        yield eb


def catalog(eb) -> dict[str, str]:
    """The live catalog as {path: hash}, read over the API as reconcile reads it; every entry completed."""
    with ApiClient(eb.api_url, api_key=eb.api_key) as c:
        files = list(c.list_images())
    assert {f["status"] for f in files} <= {"completed"}, files
    return {f["registered_file"]: f["hash"] for f in files}


def tree_images(repo: GitRepo, rev: str, prefix: str) -> dict[str, str]:
    """Regular image files of the tree at `rev` under `prefix` as {path: sha256}, straight from git."""
    import subprocess

    out = subprocess.run(["git", "ls-tree", "-r", "-z", "--full-tree", rev], cwd=repo.path, check=True,
                         capture_output=True).stdout
    images = {}
    for rec in filter(None, out.split(b"\0")):
        info, _, raw = rec.partition(b"\t")
        mode, _, blob = info.decode().split(" ")
        path = raw.decode()
        if mode.startswith("100") and path.lower().endswith(IMAGE_EXT) and path.startswith(prefix):
            data = subprocess.run(["git", "cat-file", "blob", blob], cwd=repo.path, check=True,
                                  capture_output=True).stdout
            images[path] = hashlib.sha256(data).hexdigest()
    return images


class Pusher:
    """One repository whose pushes are synced into the shared backend under its own folder."""

    def __init__(self, repo: GitRepo, eb, prefix: str):
        self.repo, self.eb, self.prefix = repo, eb, prefix
        self.base = Settings(path=repo.path, api_url=eb.api_url, api_key=eb.api_key,
                             include=(f"{prefix}/**",))
        self.synced = "0" * 40

    def push(self, after: str | None = None, before: str | None = None, **kw):
        after = after or self.repo.head()
        report = sync(replace(self.base, before=before or self.synced, after=after, **kw), out=io.StringIO(),
                      options=OPTS)
        assert report.ok, [r for r in report.results if r.is_failure]
        self.synced = after
        self.assert_mirrors(after)
        return report

    def assert_mirrors(self, rev: str) -> None:
        mine = {p: h for p, h in catalog(self.eb).items() if p.startswith(self.prefix + "/")}
        assert mine == tree_images(self.repo, rev, self.prefix + "/")


@pytest.fixture
def pusher(git_repo: GitRepo, backend, request) -> Pusher:
    return Pusher(git_repo, backend, request.node.name.replace("[", "_").replace("]", "_"))


@pytest.mark.slow
def test_multi_commit_push_and_renames_copies_and_type_changes(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    r.write(f"{p}/a.png", image_bytes("PNG", seed=1))
    r.write(f"{p}/b.jpg", image_bytes("JPEG", seed=2))
    r.write(f"{p}/c.gif", image_bytes("GIF", seed=3))
    r.write(f"{p}/notes.md.png", image_bytes("PNG", seed=4))
    r.commit()
    pusher.push()
    # several commits in one push: rename with edit, copy, delete, then an image becomes a symlink
    r.move(f"{p}/a.png", f"{p}/moved/a2.png")
    r.write(f"{p}/moved/a2.png", image_bytes("PNG", seed=1, size=(64, 49)))
    r.commit()
    r.write(f"{p}/copy of b.jpg", image_bytes("JPEG", seed=2))
    r.remove(f"{p}/c.gif")
    r.commit()
    os.remove(r.path / p / "b.jpg")
    os.symlink("copy of b.jpg", r.path / p / "b.jpg")
    r.commit()
    report = pusher.push()
    assert {(x.op, x.path) for x in report.results} >= {("delete", f"{p}/a.png"), ("delete", f"{p}/b.jpg")}
    # and back: the symlink becomes an image again
    os.remove(r.path / p / "b.jpg")
    r.write(f"{p}/b.jpg", image_bytes("JPEG", seed=22))
    r.commit()
    pusher.push()


def test_rename_image_to_non_image_and_back(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    r.write(f"{p}/x.png", image_bytes("PNG", seed=5))
    r.commit()
    pusher.push()
    r.move(f"{p}/x.png", f"{p}/x.png.bak")
    r.commit()
    pusher.push(on_non_image="ignore")
    r.move(f"{p}/x.png.bak", f"{p}/x.png")
    r.commit()
    pusher.push()


@pytest.mark.slow
def test_case_only_rename_and_same_content_at_two_paths(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    data = image_bytes("PNG", seed=6)
    r.write(f"{p}/a.PNG", data)
    r.write(f"{p}/twin.png", data)
    r.commit()
    pusher.push()
    r.git("mv", f"{p}/a.PNG", f"{p}/A.png")
    r.commit()
    pusher.push()
    r.remove(f"{p}/twin.png")
    r.commit()
    pusher.push()
    keys = {o["Key"] for o in pusher.eb.s3.list_objects_v2(Bucket=pusher.eb.bucket, Prefix="images/raw/")
            .get("Contents", [])}
    name = hashlib.sha256(data).hexdigest()[:20] + ".png"
    assert f"images/raw/{name}" in keys  # A.png still refers to the shared content


@pytest.mark.slow
def test_force_push_and_merge(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    r.write(f"{p}/base.png", image_bytes("PNG", seed=7))
    base = r.commit()
    r.write(f"{p}/doomed.png", image_bytes("PNG", seed=8))
    pusher.push()
    doomed = r.commit()
    pusher.push(after=doomed)
    r.git("reset", "-q", "--hard", base)
    r.write(f"{p}/instead.webp", image_bytes("WEBP", seed=9))
    rewritten = r.commit()
    pusher.push(after=rewritten)  # before = the old tip, which no branch holds any more
    r.git("checkout", "-q", "-b", "side")
    r.write(f"{p}/side.bmp", image_bytes("BMP", seed=10))
    r.commit()
    r.git("checkout", "-q", "main")
    r.write(f"{p}/main.tiff", image_bytes("TIFF", seed=11))
    r.commit()
    r.git("merge", "-q", "--no-edit", "side")
    pusher.push()


NAMES = ["with space.png", "quote\"s'.png", "100%.png", "hash#tag.png", "what?.png", "plus+sign.png",
         "사진/고양이.png", "emoji 🐌.png", "-leading-dash.png", "--double.png", "new\nline.png",
         "back\\slash.png", "semi;colon,comma=eq&amp.png", "tab\tname.png",
         "long/" + "n" * 200 + ".png", "deep/" + "/".join(["d" * 40] * 8) + "/x.png"]


@pytest.mark.slow
def test_unusual_names_add_rename_delete(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    for i, n in enumerate(NAMES):
        r.write(f"{p}/{n}", image_bytes("PNG", size=(8, 8), seed=i))
    r.commit()
    report = pusher.push()
    assert report.summary()["put"] == len(NAMES)
    for n in NAMES[:8]:
        r.move(f"{p}/{n}", f"{p}/renamed/{n}")
    for n in NAMES[8:]:
        r.remove(f"{p}/{n}")
    r.commit()
    pusher.push()


@pytest.mark.slow
def test_failure_half_way_then_rerun_of_the_same_range_converges(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    r.write(f"{p}/old.png", image_bytes("PNG", seed=1))
    r.write(f"{p}/edit.png", image_bytes("PNG", seed=2))
    r.commit()
    pusher.push()
    before = pusher.synced
    r.move(f"{p}/old.png", f"{p}/new.png")
    r.write(f"{p}/edit.png", image_bytes("PNG", seed=3))
    r.write(f"{p}/added.png", image_bytes("PNG", seed=4))
    after = r.commit()
    # The first run reaches the API for deletes only (puts sent to a dead URL fail), as if the job died.
    dead = Settings(path=r.path, api_url="http://127.0.0.1:9", api_key="x", include=(f"{p}/**",))
    half = sync(replace(dead, before=before, after=after), out=io.StringIO(),
                options=SyncOptions(retry=RetryPolicy(attempts=1)))
    assert not half.ok
    with ApiClient(pusher.eb.api_url, api_key=pusher.eb.api_key) as c:
        assert c.delete_image(f"{p}/old.png").ok  # the part that went through before the failure
    pusher.push(before=before, after=after)
    report = pusher.push(before=before, after=after)  # and once more: nothing changes
    assert {x.outcome for x in report.results} == {"unchanged"}


@pytest.mark.slow
def test_reconcile_after_a_diff_sync_sends_nothing_and_repairs_drift(pusher: Pusher):
    r, p, eb = pusher.repo, pusher.prefix, pusher.eb
    r.write(f"{p}/a.png", image_bytes("PNG", seed=1))
    r.write(f"{p}/b.png", image_bytes("PNG", seed=2))
    r.write(f"{p}/keep/out.png", image_bytes("PNG", seed=3))
    r.commit()
    pusher.push()
    recon = replace(pusher.base, mode="reconcile", after=r.head())
    report = sync(recon, out=io.StringIO(), options=OPTS)
    assert {x.outcome for x in report.results} == {"unchanged"}
    # drift: an extra entry, a stale hash, a deleted one
    data = image_bytes("PNG", seed=50)
    with ApiClient(eb.api_url, api_key=eb.api_key) as c:
        assert c.put_image(f"{p}/extra.png", data, "image/png", hashlib.sha256(data).hexdigest()).ok
        assert c.put_image(f"{p}/a.png", data, "image/png", hashlib.sha256(data).hexdigest()).ok
        assert c.delete_image(f"{p}/b.png").ok
    report = sync(replace(recon, exclude=(f"{p}/keep/**",)), out=io.StringIO(), options=OPTS)
    assert {(x.op, x.path, x.outcome) for x in report.results if x.outcome != "unchanged"} == {
        ("delete", f"{p}/extra.png", "deleted"), ("put", f"{p}/a.png", "completed"),
        ("put", f"{p}/b.png", "completed")}
    pusher.assert_mirrors(r.head())
    report = sync(recon, out=io.StringIO(), options=OPTS)
    assert {x.outcome for x in report.results} == {"unchanged"}


def test_reconcile_deletes_an_image_that_became_a_symlink(pusher: Pusher):
    r, p = pusher.repo, pusher.prefix
    r.write(f"{p}/a.png", image_bytes("PNG", seed=1))
    r.write(f"{p}/b.png", image_bytes("PNG", seed=2))
    r.commit()
    pusher.push()
    os.remove(r.path / p / "b.png")
    os.symlink("a.png", r.path / p / "b.png")
    after = r.commit()
    report = sync(replace(pusher.base, mode="reconcile", after=after), out=io.StringIO(), options=OPTS)
    assert ("delete", f"{p}/b.png", "deleted") in {(x.op, x.path, x.outcome) for x in report.results}
    pusher.assert_mirrors(after)
