"""The blob reader and digests over `git cat-file --batch`, and check_puts over them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import GitRepo, image_bytes
from snail_action.blobs import BlobNotFound, digest_blobs, open_blob_reader
from snail_action.checks import check_puts
from snail_action.model import Finding, Operation, Plan
from snail_action.settings import Settings


@pytest.fixture
def blobs(git_repo: GitRepo) -> tuple[GitRepo, dict[str, bytes]]:
    contents = {f"f{i}.png": image_bytes(seed=i, size=(16 + i % 5, 12)) for i in range(40)}
    contents["empty.png"] = b""
    contents["newline-ended.png"] = b"ends with a newline\n"
    for name, data in contents.items():
        git_repo.write(name, data)
    git_repo.commit("blobs")
    ids = {git_repo.git("rev-parse", f"HEAD:{name}"): data for name, data in contents.items()}
    return git_repo, ids


def test_reader_returns_exact_bytes_from_many_threads(blobs: tuple[GitRepo, dict[str, bytes]]) -> None:
    repo, ids = blobs
    work = list(ids.items()) * 10
    with open_blob_reader(repo.path) as reader, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda item: reader.read(item[0]) == item[1], work))
    assert all(results) and len(results) == len(work)


def test_reader_raises_for_missing_or_non_blob_objects_and_keeps_working(
        blobs: tuple[GitRepo, dict[str, bytes]]) -> None:
    repo, ids = blobs
    some_id, data = next(iter(ids.items()))
    tree = repo.git("rev-parse", "HEAD^{tree}")
    with open_blob_reader(repo.path) as reader:
        with pytest.raises(BlobNotFound):
            reader.read("0123456789" * 4)
        with pytest.raises(KeyError):  # BlobNotFound is a KeyError
            reader.read(tree)
        with pytest.raises(BlobNotFound):
            reader.read("HEAD\nHEAD")
        assert reader.read(some_id) == data
    with pytest.raises(ValueError, match="closed"):
        reader.read(some_id)


def test_digest_blobs_streams_size_and_sha256(blobs: tuple[GitRepo, dict[str, bytes]]) -> None:
    repo, ids = blobs
    seen: dict[str, bytes] = {}
    got = list(digest_blobs(repo.path, ids, lambda b, head: seen.setdefault(b, head)))
    assert got == [(b, len(d), hashlib.sha256(d).hexdigest()) for b, d in ids.items()]
    assert all(seen[b] == d[:len(seen[b])] for b, d in ids.items())


def test_digest_blobs_reads_objects_across_read_boundaries(git_repo: GitRepo) -> None:
    """Small objects parsed from big reads, and objects larger than one read (1 MB) streamed, in one run."""
    rnd = __import__("random").Random(7)
    sizes = [0, 1, 300, (1 << 20) - 60, 5, (1 << 20) + 1, 3 * (1 << 20) + 17, 2, 70_000, 1 << 20]
    contents = {f"b{i}.png": rnd.randbytes(n) for i, n in enumerate(sizes)}
    contents["lfs.png"] = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\n"
    for name, data in contents.items():
        git_repo.write(name, data)
    git_repo.commit("sizes")
    ids = {git_repo.git("rev-parse", f"HEAD:{name}"): data for name, data in contents.items()}
    order = [*ids, *reversed(ids)]  # each object twice: after a big one and after a small one
    seen: dict[str, bytes] = {}
    got = list(digest_blobs(git_repo.path, order, lambda b, head: seen.setdefault(b, head)))
    assert got == [(b, len(ids[b]), hashlib.sha256(ids[b]).hexdigest()) for b in order]
    for b, data in ids.items():
        assert seen[b] == data[:len(seen[b])] and len(seen[b]) >= min(len(data), 1024)


def test_digest_blobs_raises_for_a_missing_object(blobs: tuple[GitRepo, dict[str, bytes]]) -> None:
    repo, ids = blobs
    first = next(iter(ids))
    with pytest.raises(BlobNotFound):
        list(digest_blobs(repo.path, [first, "0123456789" * 4, first]))


@pytest.mark.timeout(60)  # the failure this guards against is a hang: close() waiting on a blocked feeder
def test_digest_blobs_stopped_early_leaves_no_process(blobs: tuple[GitRepo, dict[str, bytes]], monkeypatch) -> None:
    repo, ids = blobs
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def watched(*args, **kwargs):  # the real Popen; only remembers what it started
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", watched)
    threads_before = set(threading.enumerate())
    # Enough ids that git's answers fill the pipe: the feeder and git are both blocked when we stop.
    gen = digest_blobs(repo.path, list(ids) * 2000)
    next(gen)
    (proc,) = started
    assert proc.poll() is None  # git is still at work when the caller stops
    gen.close()
    assert proc.returncode is not None  # git was stopped and reaped: no process left
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    assert set(threading.enumerate()) <= threads_before  # the feeder thread is gone too


def test_check_puts_returns_each_rejected_put_in_plan_order(git_repo: GitRepo) -> None:
    git_repo.write("good.png", image_bytes(seed=1))
    git_repo.write("bad.png", b"\x89PNG\r\n\x1a\n garbage")
    git_repo.write("empty.tif", b"")
    git_repo.commit("c")
    blob = {n: git_repo.git("rev-parse", f"HEAD:{n}") for n in ("good.png", "bad.png", "empty.tif")}
    puts = [Operation("put", n, "A", content_type="x", blob=blob[n]) for n in ("bad.png", "good.png", "empty.tif")]
    plan = Plan(None, git_repo.head(), [Operation("delete", "old.png", "D"), *puts])
    with open_blob_reader(git_repo.path) as reader:
        findings = check_puts(plan, reader, Settings())
    assert [f.path for f in findings] == ["bad.png", "empty.tif"]
    assert findings[1] == Finding("empty.tif", "empty file")
    assert "not a readable" in findings[0].reason or "damaged" in findings[0].reason
