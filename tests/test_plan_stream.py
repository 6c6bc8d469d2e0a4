"""Blob contents read while ids are still being sent (blobstream.BlobDigests), and the planner over it."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest

from helpers import GitRepo, image_bytes
from snail_action.blobstream import BlobDigests, BlobNotFound
from snail_action.planning import build_plan
from snail_action.settings import Settings, SettingsError


def committed(repo: GitRepo, contents: dict[str, bytes]) -> dict[str, bytes]:
    """blob id -> content of each file, committed."""
    for name, data in contents.items():
        repo.write(name, data)
    repo.commit("contents")
    return {repo.git("rev-parse", f"HEAD:{name}"): data for name, data in contents.items()}


def answered_while_feeding(stream: BlobDigests, at_least: int) -> None:
    """poll (which never waits) until `at_least` answers are parsed; git answers within seconds."""
    deadline = time.monotonic() + 30
    while stream.done < at_least:
        assert time.monotonic() < deadline, f"only {stream.done} answers after 30 s"
        stream.poll()
        time.sleep(0.005)


@pytest.mark.timeout(120)
def test_ids_sent_in_batches_while_a_large_blob_streams(git_repo: GitRepo) -> None:
    rnd = random.Random(3)
    big = rnd.randbytes(5 * (1 << 20) + 123)  # several reads, and more than git's pipe holds
    small = {f"s{i}.png": rnd.randbytes(rnd.randrange(0, 3000)) for i in range(300)}
    ids = committed(git_repo, {"big.png": big, **small})
    order = list(ids)
    big_id = order.pop(order.index(next(b for b, d in ids.items() if d is big)))
    first, second, third = order[:100], [big_id, *order[100:200]], order[200:]
    with BlobDigests(git_repo.path) as stream:
        stream.send(first)
        answered_while_feeding(stream, 1)  # parsed before the input ends: git still waits for ids
        stream.send(second)
        answered_while_feeding(stream, 101)  # the large blob is answered (streamed) with ids still to come
        stream.send(third)
        stream.poll()
        while stream.done < len(stream.order):
            stream.wait()
        assert stream.order == first + second + third
    for blob, data in ids.items():
        size, digest, head = stream.found[blob]
        assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
        assert head == data[:len(head)] and len(head) == min(len(data), 1 << 16)


def test_a_missing_object_among_many_is_named(git_repo: GitRepo) -> None:
    ids = committed(git_repo, {f"f{i}.png": b"content %d" % i for i in range(50)})
    order = list(ids)
    with BlobDigests(git_repo.path) as stream:
        stream.send(order[:30])
        stream.send(["0123456789" * 4, *order[30:]])
        with pytest.raises(BlobNotFound) as caught:
            while stream.done < len(stream.order):
                stream.wait()
        assert caught.value.args[0] == "0123456789" * 4 and stream.done == 30


def test_nothing_sent_starts_no_git(git_repo: GitRepo) -> None:
    with BlobDigests(git_repo.path) as stream:
        stream.poll()
        stream.end_input()
        stream.wait()
        assert stream.found == {} and stream._proc is None  # noqa: SLF001 - no process to leave behind


def drop_loose_object(repo: GitRepo, blob: str) -> None:
    (Path(repo.path) / ".git" / "objects" / blob[:2] / blob[2:]).unlink()


def test_plan_fails_naming_the_file_whose_content_is_missing_mid_stream(git_repo: GitRepo) -> None:
    """More changes than one slice (planpipe.SLICE): git has answered earlier blobs when it meets the missing one."""
    git_repo.write("base.txt", "x")
    git_repo.commit("base")
    for i in range(2500):
        git_repo.write(f"d{i % 9}/img_{i:05d}.png", b"image %d" % i)
    git_repo.commit("many")
    missing = git_repo.git("rev-parse", "HEAD:d6/img_01500.png")
    drop_loose_object(git_repo, missing)
    with pytest.raises(SettingsError) as caught:
        build_plan(Settings(path=git_repo.path))
    message = str(caught.value)
    assert "'d6/img_01500.png'" in message and missing in message and "missing from the repository" in message


def test_plan_of_many_files_matches_their_contents(git_repo: GitRepo) -> None:
    git_repo.write("base.txt", "x")
    git_repo.commit("base")
    contents = {f"d{i % 5}/img_{i:04d}.png": image_bytes(seed=i % 40, size=(8 + i % 13, 8)) for i in range(3000)}
    committed(git_repo, contents)
    plan = build_plan(Settings(path=git_repo.path))
    assert sorted(o.path for o in plan.puts) == sorted(contents)
    for op in plan.puts:
        assert (op.size, op.sha256) == (len(contents[op.path]), hashlib.sha256(contents[op.path]).hexdigest())


def test_where_pipes_cannot_be_non_blocking_a_thread_writes_the_ids(git_repo: GitRepo, monkeypatch) -> None:
    """The fallback for platforms without non-blocking pipes: ids are kept until end_input, then written
    by a thread while the answers are read; the results are the same, and nothing is left running."""
    def refuse(fd: int, blocking: bool) -> None:
        raise OSError("not on this platform")

    monkeypatch.setattr("snail_action.blobstream.os.set_blocking", refuse)
    rnd = random.Random(4)
    ids = committed(git_repo, {f"f{i}.png": rnd.randbytes(rnd.randrange(0, 200_000)) for i in range(60)})
    order = list(ids) * 40  # more than the pipes hold both ways: the writer and the reader must overlap
    with BlobDigests(git_repo.path) as stream:
        stream.send(order[:1000])
        stream.poll()  # nothing is written yet, so nothing can be answered
        assert stream.done == 0
        stream.send(order[1000:])
        while stream.done < len(order):
            stream.wait()
        feeder = stream._feeder  # noqa: SLF001
    assert feeder is not None and not feeder.is_alive()
    for blob, data in ids.items():
        assert stream.found[blob][:2] == (len(data), hashlib.sha256(data).hexdigest())
