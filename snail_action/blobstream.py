"""Size, SHA-256 and first bytes of many blobs from one `git cat-file --batch --buffer`, fed while it answers.

The planner sends the blob ids of each slice of the diff as soon as it has classified it, and parses
the answers git has written so far between slices: git reads the objects on the second core while
Python classifies, instead of after it (docs/performance.md, "Planning big pushes"). `digest_blobs`
(blobs.py) is the same stream fed all at once.

- Ids are written without blocking (the pipe to git is widened to 1 MB on Linux); what does not fit
  waits for the next `poll` or `wait`, and `wait` writes and reads together (select), so neither side
  can block the other. Where a pipe cannot be non-blocking, the ids are written by a thread at
  `end_input`, as before.
- Answers are read in large blocks (`_BlockReader`); objects under 1 MB are parsed and hashed from
  those blocks, larger ones are hashed as they stream, across as many reads as they take.
- Headers are `TYPE SIZE` only (`--batch=%(objecttype) %(objectsize)`): the ids are known, in order.
- `--buffer` makes git hold up to a stdio buffer of answers until more ids or the end of its input
  arrive, so only `poll` (never blocking) may run before `end_input`; `wait` ends the input first.
"""

from __future__ import annotations

import array
import hashlib
import os
import select
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

_CHUNK = 1 << 20
HEAD = 1 << 16  # default bytes of each blob kept in `found` (the LFS check needs the first 43)


class BlobNotFound(KeyError):
    """The object is not in the repository (or is not a blob)."""


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
        self._ioctl = None
        try:
            import fcntl
            import termios

            _widen(self.fd)
            self._fionread, self._ioctl = termios.FIONREAD, fcntl.ioctl
            size = fcntl.fcntl(self.fd, fcntl.F_GETPIPE_SZ)
            if size >= _CHUNK // 2:  # with 64 KB, 2 ms naps would starve git: do not wait
                self.low = size // 2
        except (ImportError, AttributeError, OSError):
            pass

    def available(self) -> int:
        """Bytes waiting in the pipe; -1 when that cannot be asked."""
        if self._ioctl is None:
            return -1
        count = array.array("i", [0])
        self._ioctl(self.fd, self._fionread, count)
        return count[0]

    def read(self, n: int) -> bytes:
        """Up to `n` bytes; b"" at the end. Only once git's input has ended (see the module docstring)."""
        if self.low:
            want = min(self.low, n)
            while self.proc.poll() is None and self.available() < want:
                time.sleep(0.002)
        return os.read(self.fd, n)


def _widen(fd: int) -> None:
    """A 1 MB pipe (Linux; best effort: over the user's pipe-max-size it stays as it is)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _CHUNK)
    except (ImportError, AttributeError, OSError):
        pass


class BlobDigests:
    """One `git cat-file --batch --buffer`, started on the first `send`. After answers arrive,
    `found[blob_id]` is (size, sha256 hex, first `head` bytes) and `done` counts the ids answered,
    in the order sent. A missing object raises BlobNotFound(its id) from `poll` or `wait`."""

    def __init__(self, repo_path: Path | str, head: int = HEAD):
        self.repo_path = str(repo_path)
        self.head = head
        self.found: dict[str, tuple[int, str, bytes]] = {}
        self.order: list[str] = []  # every id sent, in order: git answers in this order
        self.done = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""  # ids not yet written
        self._ending = False  # end_input was called: close git's input once `_pending` is written
        self._feeder: threading.Thread | None = None
        self._buf = b""  # what git wrote and is not parsed yet, from `_pos`
        self._pos = 0
        self._big: tuple[hashlib._Hash, int, int, bytes] | None = None  # an object being streamed:
        # (hash so far, its size, bytes still to come, first bytes)

    # ------------------------------------------------------------ feeding

    def send(self, blob_ids: list[str]) -> None:
        """Ask for these blobs (after all those sent before); writes what fits without waiting."""
        if not blob_ids:
            return
        if self._ending:
            raise ValueError("send after end_input")
        if self._proc is None:
            self._start()
        self.order += blob_ids
        self._pending += ("\n".join(blob_ids) + "\n").encode("ascii")
        if self._feeder is None and self._nonblocking:
            self._push()

    def end_input(self) -> None:
        self._ending = True
        if self._proc is None:
            return
        if self._nonblocking:
            self._push()
        elif self._feeder is None:  # no non-blocking pipes here: one thread writes everything
            self._feeder = threading.Thread(target=self._feed_all, daemon=True)
            self._feeder.start()

    def _start(self) -> None:
        self._proc = proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            ["git", "cat-file", "--batch=%(objecttype) %(objectsize)", "--buffer"],  # noqa: S607 - git from PATH
            cwd=self.repo_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None  # noqa: S101
        self._in = proc.stdin.fileno()
        self._reader = _BlockReader(proc)
        _widen(self._in)
        try:
            os.set_blocking(self._in, False)
            self._nonblocking = hasattr(select, "select")
        except (OSError, AttributeError):
            self._nonblocking = False

    def _push(self) -> None:
        """Write what git's input pipe takes now; close it once everything is written after end_input."""
        assert self._proc is not None and self._proc.stdin is not None  # noqa: S101
        try:
            while self._pending:
                written = os.write(self._in, self._pending[:_CHUNK])
                self._pending = self._pending[written:]
        except BlockingIOError:
            return
        except OSError:  # git is gone: what it answered is read, then the end of its output says so
            self._pending = b""
        if self._ending and not self._proc.stdin.closed:
            self._close_input()

    def _close_input(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None  # noqa: S101
        try:
            self._proc.stdin.close()
        except OSError:
            pass

    def _feed_all(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None  # noqa: S101
        try:
            self._proc.stdin.write(self._pending)
            self._pending = b""
            self._proc.stdin.close()
        except OSError:  # git died; the reader reports it
            pass

    # ------------------------------------------------------------ reading

    def poll(self) -> None:
        """Write pending ids, and parse whatever git has answered so far, without waiting."""
        if self._proc is None or self._feeder is not None or not self._nonblocking:
            return
        self._push()
        ready = self._reader.available()
        if ready > 0:
            self._take(os.read(self._reader.fd, max(ready, _CHUNK)))
            self._parse()

    def wait(self) -> None:
        """Ends the input (see end_input), then parses at least one more answer, unless all are done."""
        if not self._ending:
            self.end_input()
        start = self.done
        self._parse()
        while self.done == start < len(self.order):
            data = self._read()
            if not data:  # git ended: nothing more is a missing answer, half an answer a broken stream
                if self._big is None and self._pos == len(self._buf):
                    raise BlobNotFound(self.order[self.done])
                raise OSError("git cat-file --batch ended unexpectedly")
            self._take(data)
            self._parse()

    def _read(self) -> bytes:
        assert self._proc is not None and self._proc.stdin is not None  # noqa: S101
        while self._nonblocking and not self._proc.stdin.closed:  # write and read together
            readable, writable, _ = select.select([self._reader.fd], [self._in], [])
            if writable:
                self._push()
            if readable:
                return os.read(self._reader.fd, _CHUNK)
        return self._reader.read(_CHUNK)

    def _take(self, data: bytes) -> None:
        self._buf = self._buf[self._pos:] + data if self._pos < len(self._buf) else data
        self._pos = 0

    def _parse(self) -> None:
        """Parse the whole answers in the buffer (and the buffered part of an object being streamed)."""
        buf, pos, done, order, found, head = self._buf, self._pos, self.done, self.order, self.found, self.head
        end, total, sha256 = len(buf), len(order), hashlib.sha256
        view = memoryview(buf)
        try:
            while done < total:
                if self._big is not None:  # the rest of a large object, as far as it is buffered
                    h, size, left, first = self._big
                    take = min(left, end - pos)
                    h.update(view[pos:pos + take])
                    if len(first) < head:
                        first += buf[pos:pos + min(take, head - len(first))]
                    pos, left = pos + take, left - take
                    if left or pos == end:  # more to come (or git's newline after it)
                        self._big = (h, size, left, first)
                        break
                    if buf[pos] != 10:
                        raise OSError("git cat-file --batch returned a malformed answer")
                    found[order[done]] = (size, h.hexdigest(), first)
                    done, pos, self._big = done + 1, pos + 1, None
                    continue
                eol = buf.find(b"\n", pos)
                if eol < 0:
                    break
                # `blob SIZE`; anything else ("ID missing", "ID ambiguous", another type) is no blob
                if not buf.startswith(b"blob ", pos):
                    raise BlobNotFound(order[done])
                size = int(buf[pos + 5:eol])
                start = eol + 1
                stop = start + size
                if size >= _CHUNK:  # large: hashed as it streams, never held whole
                    self._big, pos = (sha256(), size, size, b""), start
                    continue
                if stop >= end:  # not all of it (and git's newline) is here yet
                    break
                if buf[stop] != 10:
                    raise OSError("git cat-file --batch returned a malformed answer")
                found[order[done]] = (size, sha256(view[start:stop]).hexdigest(),
                                      buf[start:stop if size <= head else start + head])
                done, pos = done + 1, stop + 1
        finally:
            view.release()
            self.done, self._pos = done, pos

    # ------------------------------------------------------------ the end

    def close(self) -> None:
        """Stop git (if it is still at work: the caller stopped early) and reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        if self._feeder is not None:
            self._feeder.join()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        proc.wait()

    def __enter__(self) -> BlobDigests:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
