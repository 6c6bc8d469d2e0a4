"""Reading file contents straight from git's object store, one `git cat-file --batch` process.

The planner and the checks read what was committed at `after`, never the working tree: a
checkout may have LFS smudging, line-ending filters or local edits that the commit does not.
One long-lived process answers every request, so thousands of small images cost one fork.
"""

from __future__ import annotations

import array
import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

_CHUNK = 1 << 20
_HEAD = 1 << 16  # how much of each blob `inspect` sees (the LFS check needs the first 1 KB)


class _BlockReader:
    """A child's stdout read in large blocks. git writes a pipe 4 KB at a time; reading each write as
    it comes costs a wake-up apiece (20,000 for 25,000 small images: more CPU than hashing them).
    On Linux the pipe is widened to 1 MB and a read waits, in 2 ms naps, until it is half full or
    git has exited, so a run of small objects costs a few dozen reads."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        assert proc.stdout is not None  # noqa: S101
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.low = 0  # bytes worth waiting for; 0: read whatever is there (not Linux, or a small pipe)
        try:
            import fcntl
            import termios

            try:
                fcntl.fcntl(self.fd, fcntl.F_SETPIPE_SZ, _CHUNK)
            except OSError:  # over the user's pipe-max-size: the default pipe
                pass
            size = fcntl.fcntl(self.fd, fcntl.F_GETPIPE_SZ)
            if size >= _CHUNK // 2:  # with 64 KB, 2 ms naps would starve git: do not wait
                self.low, self._fionread, self._ioctl = size // 2, termios.FIONREAD, fcntl.ioctl
        except (ImportError, AttributeError, OSError):
            pass

    def read(self, n: int) -> bytes:
        """Up to `n` bytes; b"" at the end."""
        if self.low:
            want, count = min(self.low, n), array.array("i", [0])
            while self.proc.poll() is None:
                self._ioctl(self.fd, self._fionread, count)
                if count[0] >= want:
                    break
                time.sleep(0.002)
        return os.read(self.fd, n)


class BlobNotFound(KeyError):
    """The object is not in the repository (or is not a blob)."""


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

    Every id is written up front by a feeder thread while this thread hashes the answers, so
    git never waits for Python between objects; this is the planner's hot path. `inspect` sees
    the first bytes of each blob (the LFS pointer check) without a second read.
    """
    ids = list(blob_ids)
    proc = subprocess.Popen(  # noqa: S603
        ["git", "cat-file", "--batch", "--buffer"],  # noqa: S607 - --buffer: ids are all sent up front
        cwd=str(repo_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None  # noqa: S101

    def feed() -> None:
        try:
            proc.stdin.write(b"".join(i.encode("ascii") + b"\n" for i in ids))  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:  # git died; the reader below reports it
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = proc.stdout
    reader = _BlockReader(proc)
    buf = b""  # what git wrote and we have not parsed yet; `pos` is where the next header starts
    pos = 0
    try:
        for blob_id in ids:
            # Headers and small blobs are parsed from big reads (one read per ~1 MB, not three per blob).
            eol = buf.find(b"\n", pos)
            while eol < 0:
                more = reader.read(_CHUNK)
                if not more:  # git ended: nothing more is a missing answer, half a header a broken stream
                    if pos == len(buf):
                        raise BlobNotFound(blob_id)
                    raise OSError("git cat-file --batch ended unexpectedly")
                buf, pos = buf[pos:] + more, 0
                eol = buf.find(b"\n")
            parts = buf[pos:eol].split()
            if len(parts) != 3 or parts[1] != b"blob":
                raise BlobNotFound(blob_id)
            size = int(parts[2])
            start, stop = eol + 1, eol + 1 + size
            if size < _CHUNK:  # a small object: buffer all of it (and git's newline after it)
                while stop + 1 > len(buf):
                    more = reader.read(_CHUNK)
                    if not more:
                        raise OSError("git cat-file --batch ended unexpectedly")
                    buf, start, stop, pos = buf[pos:] + more, start - pos, stop - pos, 0
            if stop + 1 <= len(buf):  # the whole object (and git's newline after it) is buffered
                first = buf[start:stop] if size <= _HEAD else buf[start:start + _HEAD]
                digest = hashlib.sha256(memoryview(buf)[start:stop]).hexdigest()
                pos = stop + 1
            else:  # a larger object: hash what is buffered, then stream the rest in big chunks
                h = hashlib.sha256(memoryview(buf)[start:])
                first = buf[start:start + _HEAD]
                remaining = size - (len(buf) - start)
                while remaining > 0:
                    chunk = reader.read(min(remaining, _CHUNK))
                    if not chunk:
                        raise OSError("git cat-file --batch ended unexpectedly")
                    if len(first) < _HEAD:
                        first += chunk[:_HEAD - len(first)]
                    h.update(chunk)
                    remaining -= len(chunk)
                digest = h.hexdigest()
                buf, pos = reader.read(1), 1  # git's newline after the object
                if buf != b"\n":
                    raise OSError("git cat-file --batch ended unexpectedly")
            if inspect is not None:
                inspect(blob_id, first)
            yield blob_id, size, digest
    finally:
        if proc.poll() is None:  # stopped early (or all read): unblock the feeder before joining it
            proc.kill()
        feeder.join()
        out.close()
        proc.wait()
