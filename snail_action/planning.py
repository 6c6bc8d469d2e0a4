"""From git's changes to the operations a sync sends: a pure core, and `build_plan` doing the I/O.

The backend mirrors the images of the tree at `before` that are in scope; the operations turn
that into the images of the tree at `after`. Every rule below follows from that:

- A put for each image that is new or changed at `after` (A, M, T to a file, the new path of R
  and C), with the content type of its new path. A delete for each image at `before` that is gone
  (D, the old path of R, T to a symlink or submodule). All deletes come before all puts, so a path
  that is both deleted (a rename's source) and put (another rename's target) ends up present.
- A deleted non-image was never sent, so its deletion is skipped, never an error.
- Symlinks and submodules are never sent; they are skipped with the reason.
- A changed non-image is rejected (on-non-image=fail, the default), listed as a warning (warn),
  or skipped (ignore). README*, LICENSE*, .gitignore, .gitattributes, .gitmodules and .github/**
  are always skipped as "ignored" when they are not images.
- include/exclude globs decide what is in scope at all, read as git reads a .gitignore; see `globs.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import git

from snail_backend.formats import content_type_for_path
from snail_backend.validation import LFS_POINTER_REASON

from .changes import MODE_SUBMODULE, MODE_SYMLINK, Change
from .gitrange import GitRunner, Range, git_error_line, note_to_stderr, resolve_range
from .globs import Globs
from .model import Finding, Operation, Plan
from .settings import Settings, SettingsError

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_MAX = 1024  # the LFS spec keeps pointer files below 1024 bytes
LFS_REASON = LFS_POINTER_REASON  # the planner's rejection and the backend's refusal say the same
NOT_UTF8_REASON = "file name is not valid UTF-8: rename it (the API sends names as UTF-8)"
REGULAR_MODES = frozenset({"100644", "100755", "100664"})


def _default_ignored(path: str) -> bool:
    """Non-images that live in every repository and are never an error."""
    if path.startswith(".github/"):
        return True
    name = path.rsplit("/", 1)[-1]
    upper = name.upper()
    return upper.startswith(("README", "LICENSE", "LICENCE")) or name in (".gitignore", ".gitattributes", ".gitmodules")


# ---------------------------------------------------------------- policy


@dataclass(frozen=True)
class Policy:
    on_non_image: str = "fail"  # fail | warn | ignore
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _include: Globs = field(default=Globs(()), init=False, repr=False, compare=False)
    _exclude: Globs = field(default=Globs(()), init=False, repr=False, compare=False)
    _scoped: bool = field(default=False, init=False, repr=False, compare=False)  # any glob at all

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include", Globs(self.include))
        object.__setattr__(self, "_exclude", Globs(self.exclude))
        object.__setattr__(self, "_scoped", bool(self._include) or bool(self._exclude))

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.on_non_image, tuple(settings.include), tuple(settings.exclude))

    def out_of_scope(self, path: str) -> str | None:
        """Why `path` is outside the synced set, or None when it is inside."""
        if self._exclude.matches(path):
            return "excluded"
        if self._include and not self._include.matches(path):
            return "not included"
        return None


@dataclass(frozen=True)
class Verdict:
    kind: str  # "send" | "skip" | "reject" | "warn"
    reason: str = ""
    content_type: str | None = None


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_TYPE_BY_SUFFIX: dict[str, str | None] = {}  # the text after a name's last dot -> its content type
_SEND: dict[str, Verdict] = {}  # one (immutable) verdict per content type


def _content_type(path: str) -> str | None:
    """content_type_for_path(path), looked up once per extension: it is asked once per changed file."""
    dot = path.rfind(".")  # first the usual name: its last dot follows a character of the name other than a dot
    if dot > 0 and path[dot - 1] not in "./" and path.find("/", dot) < 0:
        found = _TYPE_BY_SUFFIX.get(path[dot + 1:], False)
        if found is not False:
            return found  # type: ignore[return-value]
    name = path[path.rfind("/") + 1:]
    dot = name.rfind(".")
    if dot <= 0 or not name[:dot].strip("."):  # no dot after a character other than a dot: no extension
        return content_type_for_path(name)
    suffix = name[dot + 1:]
    try:
        return _TYPE_BY_SUFFIX[suffix]
    except KeyError:
        found = content_type_for_path(name)
        if len(_TYPE_BY_SUFFIX) < 4096:  # bounded: names like data.0001, data.0002 ... are all suffixes
            _TYPE_BY_SUFFIX[suffix] = found
        return found


def classify(path: str, mode: str, policy: Policy) -> Verdict:
    """What the planner does with one file (path and git mode) on one side of a change."""
    if policy._scoped:  # noqa: SLF001 - its own precomputed flag: no glob work for a policy without globs
        why = policy.out_of_scope(path)
        if why:
            return Verdict("skip", why)
    if mode == MODE_SYMLINK:
        return Verdict("skip", "symlink: not sent")
    if mode == MODE_SUBMODULE:
        return Verdict("skip", "submodule: not sent")
    if mode not in REGULAR_MODES:
        return Verdict("skip", f"unsupported git file mode {mode}")
    content_type = _content_type(path)
    if content_type is not None:
        if not path.isascii() and not _is_utf8(path):
            return Verdict("reject", NOT_UTF8_REASON)
        send = _SEND.get(content_type)
        if send is None:
            send = _SEND[content_type] = Verdict("send", content_type=content_type)
        return send
    if _default_ignored(path):
        return Verdict("skip", "ignored")
    if policy.on_non_image == "fail":
        return Verdict("reject", "not an image")
    if policy.on_non_image == "warn":
        return Verdict("warn", "not an image")
    return Verdict("skip", "not an image")


# ---------------------------------------------------------------- the pure core


def _put_and_delete() -> tuple[Callable[..., Operation], Callable[..., Operation]]:
    """Operation("put", path, change, type, size, sha256, blob, renamed_from) and Operation("delete",
    path, change, renamed_to=...), built with one dict instead of the frozen dataclass's nine
    object.__setattr__ calls: half the cost, once per operation of a big push. Equal objects (the
    same fields, the same __dict__); the class itself should Operation ever stop being that simple."""
    fields = ("op", "path", "change", "content_type", "size", "sha256", "blob", "renamed_from", "renamed_to")
    if tuple(f.name for f in dataclasses.fields(Operation)) != fields or hasattr(Operation, "__post_init__") \
            or hasattr(Operation, "__slots__"):
        return (lambda *a: Operation("put", *a)), (lambda p, c, to: Operation("delete", p, c, renamed_to=to))
    new, set_dict = object.__new__, object.__setattr__

    def put(path: str, change: str, ctype: str | None, size: int, sha: str, blob: str, src: str | None) -> Operation:
        op = new(Operation)
        set_dict(op, "__dict__", {"op": "put", "path": path, "change": change, "content_type": ctype, "size": size,
                                  "sha256": sha, "blob": blob, "renamed_from": src, "renamed_to": None})
        return op

    def delete(path: str, change: str, renamed_to: str | None) -> Operation:
        op = new(Operation)
        set_dict(op, "__dict__", {"op": "delete", "path": path, "change": change, "content_type": None, "size": None,
                                  "sha256": None, "blob": None, "renamed_from": None, "renamed_to": renamed_to})
        return op

    return put, delete


new_put, new_delete = _put_and_delete()


class _Builder:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.deletes: list[Operation] = []
        # Each put as (path, change, content type, blob, renamed_from): its Operation is built once,
        # when its size and sha256 are known (see `plan`), not once without them and again with them.
        self.puts: list[tuple[str, str, str | None, str, str | None]] = []
        self.rejected: list[Finding] = []
        self.skipped: list[Finding] = []
        self.warnings: list[Finding] = []
        self.put_operations: list[Operation] = []  # the first `settled` puts, with their contents
        self.lfs_rejected: list[Finding] = []
        self.settled = 0

    def note(self, path: str, v: Verdict) -> None:
        {"skip": self.skipped, "reject": self.rejected, "warn": self.warnings}[v.kind].append(Finding(path, v.reason))

    def gone(self, ch: Change, *, quiet: bool = False, renamed_to: str | None = None) -> bool:
        """The old side leaves the tree: a delete when the backend holds it. True if a delete was planned."""
        v = classify(ch.old_path, ch.old_mode, self.policy)
        if v.kind == "send":
            self.deletes.append(new_delete(ch.old_path, ch.status, renamed_to))
            return True
        if not quiet:
            # A non-image was never sent, so there is nothing to remove: not an error whatever the policy.
            reason = "not an image: nothing to delete" if v.reason == "not an image" else v.reason
            if v.reason == NOT_UTF8_REASON:
                reason = "file name is not valid UTF-8: never sent, nothing to delete"
            self.skipped.append(Finding(ch.old_path, reason))
        return False

    def arrives(self, ch: Change, *, renamed_from: str | None = None) -> None:
        """The new side enters the tree: a put when it is an image in scope."""
        v = classify(ch.path, ch.new_mode, self.policy)
        if v.kind == "send":
            self.puts.append((ch.path, ch.status, v.content_type, ch.new_blob, renamed_from))
        else:
            self.note(ch.path, v)

    def add(self, ch: Change) -> None:
        letter = ch.letter
        if letter == "D":
            self.gone(ch)
        elif letter == "A" or letter == "C":
            self.arrives(ch)
        elif letter == "M":
            if ch.old_blob == ch.new_blob and classify(ch.path, ch.new_mode, self.policy).kind == "send":
                self.skipped.append(Finding(ch.path, "only the file mode changed"))
            else:
                self.arrives(ch)
        elif letter == "T":
            # A type change keeps the path: a file becoming a symlink or submodule leaves the
            # backend (delete), a symlink or submodule becoming a file arrives (put).
            if classify(ch.path, ch.new_mode, self.policy).kind == "send":
                self.arrives(ch)
            else:
                self.gone(ch, quiet=True)
                self.arrives(ch)
        elif letter == "R":
            # The old path leaves (a delete if it was sent; a non-image's old name needs nothing),
            # the new path arrives under its own rules: image to non-image is a delete plus the policy.
            self.gone(ch, quiet=True, renamed_to=ch.path)
            self.arrives(ch, renamed_from=ch.old_path)
        else:  # U (unmerged) and X (unknown) cannot come from comparing two commits
            self.skipped.append(Finding(ch.path, f"unsupported git change {ch.status}"))

    def plan(self, before: str | None, after: str) -> Plan:
        """The plan without contents: puts carry their blob id but no size or sha256 (see `settle`)."""
        puts = [Operation("put", path, change, ctype, blob=blob, renamed_from=src)
                for path, change, ctype, blob, src in self.puts]
        return Plan(before, after, self.deletes + puts, self.rejected, self.skipped, self.warnings)

    def settle(self, found: Mapping[str, tuple[int, str, bytes]]) -> None:
        """Build the puts, in order, whose content is in `found` (blob id -> size, sha256, first bytes):
        called while git still reads the later ones. A blob that is a Git LFS pointer is rejected
        instead of put, since the pointer is not the image."""
        puts, operations, k, end = self.puts, self.put_operations, self.settled, len(self.puts)
        while k < end:
            path, change, ctype, blob, src = puts[k]
            got = found.get(blob)
            if got is None:
                break
            size, sha, first = got
            if size < LFS_POINTER_MAX and first.startswith(LFS_POINTER_PREFIX):
                self.lfs_rejected.append(Finding(path, LFS_REASON))
            else:
                operations.append(new_put(path, change, ctype, size, sha, blob, src))
            k += 1
        self.settled = k

    def settled_plan(self, before: str | None, after: str) -> Plan:
        """The plan once `settle` has built every put."""
        if self.settled < len(self.puts):
            raise KeyError(self.puts[self.settled][3])
        return Plan(before, after, self.deletes + self.put_operations, self.rejected + self.lfs_rejected,
                    list(self.skipped), list(self.warnings))


def plan_changes(changes: Iterable[Change], policy: Policy, before: str | None, after: str) -> Plan:
    """The operations for `changes` under `policy`; puts carry their blob id but no size or sha256 yet."""
    builder = _Builder(policy)
    for ch in changes:
        builder.add(ch)
    return builder.plan(before, after)


def attach_contents(plan: Plan, digests: Mapping[str, tuple[int, str]], lfs_blobs: Iterable[str] = ()) -> Plan:
    """Fill each put's size and sha256 from `digests` (blob id -> (size, sha256)); puts whose blob is
    a Git LFS pointer become rejected instead, since the pointer is not the image."""
    lfs = set(lfs_blobs)
    operations: list[Operation] = []
    rejected = list(plan.rejected)
    for op in plan.operations:
        if op.op != "put":
            operations.append(op)
        elif op.blob in lfs:
            rejected.append(Finding(op.path, LFS_REASON))
        else:
            size, sha = digests[op.blob or ""]
            # Built directly: dataclasses.replace costs several times more, once per put of a big push.
            operations.append(Operation("put", op.path, op.change, op.content_type, size, sha, op.blob,
                                        op.renamed_from, op.renamed_to))
    return Plan(plan.before, plan.after, operations, rejected, list(plan.skipped), list(plan.warnings))


def is_lfs_pointer(head: bytes) -> bool:
    return head.startswith(LFS_POINTER_PREFIX)


# ---------------------------------------------------------------- the I/O edge


@contextmanager
def git_failures(settings: Settings) -> Iterator[None]:
    """Unexpected git failures (a damaged or partial repository, git refusing it) as one-line SettingsErrors."""
    try:
        yield
    except git.GitCommandError as exc:
        command = " ".join(str(a) for a in (exc.command or ["git"])[:2])
        raise SettingsError(f"{command} failed in {settings.path}: {git_error_line(exc)}") from None


def build_plan_and_range(settings: Settings, log: Callable[[str], None] = note_to_stderr) -> tuple[Plan, Range]:
    with git_failures(settings):
        return _build(settings, log)


def _build(settings: Settings, log: Callable[[str], None]) -> tuple[Plan, Range]:
    runner = GitRunner(settings.path)
    rng = resolve_range(settings, runner, log)
    return plan_range(settings, runner, rng), rng


def plan_range(settings: Settings, runner: GitRunner, rng: Range) -> Plan:
    """The plan of a range already resolved (both ends in the clone), with every put's size and sha256.
    Git's diff, `git cat-file` and the classification run overlapped: see planpipe.py."""
    from .planpipe import plan_with_contents  # it builds on this module

    return plan_with_contents(_Builder(Policy.from_settings(settings)), runner, rng)


def build_plan(settings: Settings) -> Plan:
    """Resolve the range, diff its trees, and read every put's content once for its size and sha256."""
    return build_plan_and_range(settings)[0]
