"""Reading file contents straight from git's object store, one `git cat-file --batch` process.

The planner and the checks read what was committed at `after`, never the working tree: a
checkout may have LFS smudging, line-ending filters or local edits that the commit does not.
One long-lived process answers every request, so thousands of small images cost one fork.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

from .blobstream import HEAD, BlobDigests, BlobNotFound

__all__ = ["BlobNotFound", "BlobReader", "digest_blobs", "open_blob_reader"]


class BlobReader:
    """Thread-safe `.read(blob_id) -> bytes` over one `git cat-file --batch` process."""

    def __init__(self, repo_path: Path | str):
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            ["git", "cat-file", "--batch"],  # noqa: S607 - git from PATH, as everywhere else
            cwd=str(repo_path),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._closed = False

    def read(self, blob_id: str) -> bytes:
        if not blob_id or any(c in blob_id for c in " \t\r\n"):
            raise BlobNotFound(blob_id)
        with self._lock:
            if self._closed:
                raise ValueError("blob reader is closed")
            assert self._proc.stdin is not None and self._proc.stdout is not None  # noqa: S101
            self._proc.stdin.write(blob_id.encode("ascii") + b"\n")
            self._proc.stdin.flush()
            header = self._proc.stdout.readline()
            if not header:
                raise OSError("git cat-file --batch ended unexpectedly")
            parts = header.split()
            if len(parts) != 3 or parts[1] != b"blob":
                if len(parts) == 3:  # a tree or commit: drain its content so the stream stays in step
                    self._proc.stdout.read(int(parts[2]) + 1)
                raise BlobNotFound(blob_id)
            size = int(parts[2])
            data = self._proc.stdout.read(size)
            self._proc.stdout.read(1)  # the newline git writes after every object
            if len(data) != size:
                raise OSError("git cat-file --batch returned a short object")
            return data

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._proc.stdin:
                    self._proc.stdin.close()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
            finally:
                if self._proc.stdout:
                    self._proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten reader must not leave a git process behind
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown: nothing useful to do
            pass


def open_blob_reader(repo_path: Path | str) -> BlobReader:
    """One reader for the repository at `repo_path`; close it (or use `with`) when done."""
    return BlobReader(repo_path)


def digest_blobs(repo_path: Path | str, blob_ids: Iterable[str],
                 inspect: Callable[[str, bytes], None] | None = None) -> Iterator[tuple[str, int, str]]:
    """(blob id, size, sha256 hex) of each blob, streamed through one `git cat-file --batch`.

    Every id is sent up front (see blobstream.BlobDigests), so git never waits for Python between
    objects. `inspect` sees the first bytes of each blob (the LFS pointer check) without a second read.
    """
    ids = list(blob_ids)
    with BlobDigests(repo_path, HEAD) as stream:
        stream.send(ids)
        stream.end_input()
        found = stream.found
        for i, blob_id in enumerate(ids):
            while stream.done <= i:
                stream.wait()
            size, digest, first = found[blob_id]
            if inspect is not None:
                inspect(blob_id, first)
            yield blob_id, size, digest
