"""The files that differ between two trees, as git reports them, parsed from NUL-separated output.

`git diff -r -z --raw` (see DIFF_ARGS) gives modes and blob ids along with the status, so one git call
tells the planner what changed, whether it is a symlink or a submodule, and which blob to read.
Paths are split on NUL bytes only; git's quoting is never involved.

Rename detection: `-M` (50% similarity, git's default) with git's default limit, `-l1000`, given
explicitly so that a user's diff.renameLimit cannot change a plan's cost. Git first pairs files
with identical content (R100) whatever the size of the range: that costs a hash lookup per file.
It then compares the remaining adds with the remaining deletes, only while that matrix is at most
limit x limit (a million) pairs; beyond it a rename with edits is reported as a delete and an add.
The operations are the same either way: a rename *is* a delete of the old path and a put of the
new one (tests/test_plan_renames.py checks that); only the `change` labels and `renamed_from` /
`renamed_to` differ. A larger limit bought nothing but those labels on very large pushes, at a
quadratic price: with `-l10000` the 25,000-image bench range took 4.5 times git's own marginal cost.

Copies (`-C`, reported as `C075` etc., with files modified in the same range as sources) are put
exactly like adds, so copy detection only labels them; yet it compares every add with every
modified file, which made a 25,000-file range 2.6 times slower. So, much as git skips rename
detection beyond its limit, copies are detected only when that comparison is small
(adds x modified files <= COPY_PAIR_LIMIT); beyond it a copy is reported as an add (`A`).
"""

from __future__ import annotations

from typing import NamedTuple

from .gitcmd import GitRunner

MODE_NONE = "000000"
MODE_SYMLINK = "120000"
MODE_SUBMODULE = "160000"
EMPTY_BLOB = "0" * 40

RENAME_LIMIT = 1000  # git's default diff.renameLimit; see the module docstring
# `git diff A B` prints exactly what `git diff-tree -r A B` does with these options, at two thirds of
# the CPU on large ranges (measured: 0.12 s against 0.19 s for 25,000 changes). Being porcelain, it
# reads the user's diff.* settings: every one that could change the raw output is overridden here
# (external diff and textconv, colour, relative paths, ignored submodules, order file, renames and
# their limit). --no-abbrev: full blob ids for cat-file. -l: see RENAME_LIMIT.
DIFF_ARGS = ("diff", "--no-ext-diff", "--no-textconv", "--no-color", "--no-relative", "--ignore-submodules=none",
             "-O/dev/null", "-r", "-z", "--raw", "--no-abbrev", "-M", f"-l{RENAME_LIMIT}")
COPY_PAIR_LIMIT = 250_000


class Change(NamedTuple):
    """One entry of git's raw diff. For R and C, `old_path` is the source; otherwise it equals `path`.
    A named tuple, not a frozen dataclass: one is built per changed file, at a third of the cost."""

    status: str  # "A", "M", "D", "T", "R097", "C075" as git prints it
    path: str  # the path at `after` (for D: the deleted path)
    old_path: str
    old_mode: str = MODE_NONE
    new_mode: str = MODE_NONE
    old_blob: str = EMPTY_BLOB
    new_blob: str = EMPTY_BLOB

    @property
    def letter(self) -> str:
        return self.status[0]


def decode_path(raw: bytes) -> str:
    """Git paths are bytes; UTF-8 is what every tool and the HTTP API expect. Other bytes survive as
    surrogates (the planner rejects such names, which cannot be sent)."""
    return raw.decode("utf-8", "surrogateescape")


def parse_raw_diff(out: bytes) -> list[Change]:
    """Parse `git diff-tree -r -z --raw` output:
    `:oldmode newmode oldblob newblob STATUS\\0path\\0` and, for R and C, `\\0newpath\\0` after the source."""
    # One decode of the whole output, then one split: a NUL byte never occurs inside a UTF-8 sequence,
    # so this gives exactly the strings that decoding each path on its own gives (see decode_path).
    tokens = decode_path(out).split("\0")
    changes: list[Change] = []
    append, new = changes.append, tuple.__new__  # Change(...) without its Python-level __new__: a fifth of the parse
    i, n = 0, len(tokens)
    while i < n:
        meta = tokens[i]
        if not meta:
            i += 1
            continue
        if meta[0] != ":" or not meta.isascii():
            raise ValueError(f"unexpected git diff output near {meta[:60].encode('utf-8', 'surrogateescape')!r}")
        old_mode, new_mode, old_blob, new_blob, status = meta[1:].split(" ")
        if status[0] in "RC":
            old_path, path = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old_path = path = tokens[i + 1]
            i += 2
        append(new(Change, (status, path, old_path, old_mode, new_mode, old_blob, new_blob)))
    return changes


def parse_ls_tree(out: bytes) -> list[Change]:
    """Parse `git ls-tree -r -z --full-tree`: `mode SP type SP object TAB path\\0`, each one an add."""
    changes: list[Change] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        info, _, raw_path = record.partition(b"\t")
        mode, _type, obj = info.decode("ascii").split(" ")
        path = decode_path(raw_path)
        changes.append(Change("A", path, path, MODE_NONE, mode, EMPTY_BLOB, obj))
    return changes


def diff_trees(runner: GitRunner, before: str | None, after: str) -> list[Change]:
    """What turns the tree at `before` into the tree at `after`; with no `before`, every tracked file."""
    if before == after:
        return []
    if before is None:
        return parse_ls_tree(runner.run("ls-tree", "-r", "-z", "--full-tree", after))
    # Two commits: their trees are compared; ancestry (force pushes, merges) does not matter.
    changes = parse_raw_diff(runner.run(*DIFF_ARGS, before, after, "--"))
    adds = sum(1 for c in changes if c.status == "A")
    sources = sum(1 for c in changes if c.status[0] in "MR")
    if adds and sources and adds * sources <= COPY_PAIR_LIMIT:
        changes = parse_raw_diff(runner.run(*DIFF_ARGS, "-C", before, after, "--"))
    return changes
