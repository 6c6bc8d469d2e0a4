"""A range's plan with every put's size and sha256: `git cat-file` reads the puts' contents on the
other core while Python classifies the diff.

The diff's changes are classified a slice at a time; after each slice the blobs of its new puts
are sent to one `git cat-file --batch --buffer` (blobstream.BlobDigests), the answers git has
written so far are parsed and hashed, and every put whose content is known is built. Reading the
contents used to start only once the whole diff was classified, and building the operations only
once every content was read; now the three overlap, and Python waits for git only at the end.
"""

from __future__ import annotations

from collections.abc import Iterable

from .blobstream import BlobDigests, BlobNotFound
from .changes import diff_trees
from .gitcmd import GitRunner
from .gitrange import Range
from .model import Plan
from .planning import LFS_POINTER_PREFIX, _Builder  # planning imports this module when called
from .settings import SettingsError

SLICE = 1024  # changes classified between two looks at git's answers


def _missing(path: str, blob: str) -> SettingsError:
    return SettingsError(f"the content of {path!r} (blob {blob}) is missing from the repository: "
                         "fetch it (a complete clone has it), then run again")


def _send(stream: BlobDigests, sent: set[str], blobs: Iterable[str]) -> None:
    """Ask for each blob not asked for yet, once however many paths share it."""
    new = [b for b in dict.fromkeys(blobs) if b and b not in sent]
    if new:
        sent.update(new)
        stream.send(new)


def plan_with_contents(builder: _Builder, runner: GitRunner, rng: Range) -> Plan:
    """`builder` (planning._Builder, empty) filled from the range's changes, each put with its contents."""
    sent: set[str] = set()
    with BlobDigests(runner.root, len(LFS_POINTER_PREFIX)) as stream:
        changes = diff_trees(runner, rng.before, rng.after)
        try:
            for start in range(0, len(changes), SLICE):
                fed = len(builder.puts)
                for ch in changes[start:start + SLICE]:
                    builder.add(ch)
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
