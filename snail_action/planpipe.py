"""A range's plan with every put's size and sha256: `git cat-file` reads the puts' contents on the
other core while Python classifies the diff.

The diff's changes are classified a slice at a time; after each slice the blobs of its new puts
are sent to one `git cat-file --batch --buffer` (blobstream.BlobDigests), the answers git has
written so far are parsed and hashed, and every put whose content is known is built. Reading the
contents used to start only once the whole diff was classified, and building the operations only
once every content was read; now the three overlap, and Python waits for git only at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .blobstream import BlobDigests, BlobNotFound
from .changes import Change, diff_trees
from .gitcmd import GitRunner
from .gitrange import Range
from .model import Plan
from .planning import LFS_POINTER_PREFIX, REGULAR_MODES, _Builder, _content_type, new_delete
from .settings import SettingsError

SLICE = 1024  # changes classified between two looks at git's answers


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused: a big push allocates a few objects per changed file (tuples,
    operations), none of them in a cycle, and the collector kept rescanning all of them: a fifth of the
    planner's CPU on 25,000 changes (182 collections). Plain reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _missing(path: str, blob: str) -> SettingsError:
    return SettingsError(f"the content of {path!r} (blob {blob}) is missing from the repository: "
                         "fetch it (a complete clone has it), then run again")


def _send(stream: BlobDigests, sent: set[str], blobs: Iterable[str]) -> None:
    """Ask for each blob not asked for yet, once however many paths share it."""
    new = [b for b in dict.fromkeys(blobs) if b and b not in sent]
    if new:
        sent.update(new)
        stream.send(new)


def add_changes(builder: _Builder, changes: list[Change]) -> None:
    """`builder.add(ch)` for each change, with the commonest cases written out: an image (a regular
    file whose name has an image type and is ASCII) added, edited, deleted or renamed to an image,
    under a policy without globs. Each does exactly what the general rules (planning.py) do for it;
    anything else goes through them."""
    if builder.policy._scoped:  # noqa: SLF001 - globs: every path is matched, by the general rules
        for ch in changes:
            builder.add(ch)
        return
    put, delete, add, regular, content_type = \
        builder.puts.append, builder.deletes.append, builder.add, REGULAR_MODES, _content_type
    for ch in changes:
        status, path, old_path, old_mode, new_mode, old_blob, new_blob = ch
        if status == "A" or (status == "M" and old_blob != new_blob):  # M with the same blob: a mode change
            if new_mode in regular and path.isascii():
                ctype = content_type(path)
                if ctype is not None:
                    put((path, status, ctype, new_blob, None))
                    continue
        elif status == "D":
            if old_mode in regular and old_path.isascii() and content_type(old_path) is not None:
                delete(new_delete(old_path, status, None))
                continue
        elif status[0] == "R" and old_mode in regular and new_mode in regular and path.isascii() \
                and old_path.isascii():
            ctype = content_type(path)
            if ctype is not None and content_type(old_path) is not None:
                delete(new_delete(old_path, status, path))
                put((path, status, ctype, new_blob, old_path))
                continue
        add(ch)


def plan_with_contents(builder: _Builder, runner: GitRunner, rng: Range) -> Plan:
    """`builder` (planning._Builder, empty) filled from the range's changes, each put with its contents."""
    sent: set[str] = set()
    with no_cycle_collection(), BlobDigests(runner.root, len(LFS_POINTER_PREFIX)) as stream:
        changes = diff_trees(runner, rng.before, rng.after)
        try:
            for start in range(0, len(changes), SLICE):
                fed = len(builder.puts)
                add_changes(builder, changes[start:start + SLICE])
                _send(stream, sent, [put[3] for put in builder.puts[fed:]])
                stream.poll()
                builder.settle(stream.found)
            while stream.done < len(stream.order):
                stream.wait()
                builder.settle(stream.found)
        except BlobNotFound as exc:
            blob = exc.args[0]
            raise _missing(next((put[0] for put in builder.puts if put[3] == blob), "?"), blob) from None
    return builder.settled_plan(rng.before, rng.after)
