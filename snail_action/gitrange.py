"""Which two commits a sync compares, and making sure both are in the clone.

The backend holds the tree at `before`; the operations turn it into the tree at `after`. Where
the two come from, first match wins:

1. `--all` (or SNAIL_ALL): no `before`; every tracked file at `after` is added.
2. `--before` / `--after` (or SNAIL_BEFORE / SNAIL_AFTER).
2b. The backend's sync marker, when the caller read one (`marker`): the commit whose tree the
   backend fully holds. Not an ancestor of `after` (a force push) still compares the two trees;
   a marker commit no repository has any more raises MarkerGone (the sync reconciles instead).
3. In GitHub Actions, the event at GITHUB_EVENT_PATH: a push gives `before`/`after`; a pull
   request gives the merge base of its base and head, and its head (the pull request's own changes).
4. Otherwise the first parent of `after` (HEAD~1) and `after` (HEAD).

A `before` of all zeros (a new branch) or an `after` without parents (a first commit) means no
`before`. A commit missing from a shallow clone (or a force push's old tip, which no branch
holds any more) is fetched from the remote by its id, once, with a note on stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git

from .gitcmd import GitRunner, git_error_line
from .settings import Settings, SettingsError

COMMIT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")  # a full SHA-1 or SHA-256 object id
_ZEROS = re.compile(r"^0+$")

Log = Callable[[str], None]


def note_to_stderr(message: str) -> None:
    """The default log: notes (a fetch, an empty range) go to stderr, never into stdout's plan or JSON."""
    print(f"snail-images: {message}", file=sys.stderr)


@dataclass(frozen=True)
class Range:
    before: str | None  # commit id; None: everything at `after` is added
    after: str  # commit id
    source: str  # where the range came from, for people: "arguments", "push event", ...
    basis: str = "event"  # why, for machines: input | marker | event | head


class MarkerGone(Exception):
    """The sync marker's commit is in no clone and no remote any more (history rewritten and collected)."""

    def __init__(self, commit: str, why: str):
        super().__init__(f"the sync marker's commit {commit[:12]} is gone from the repository ({why})")
        self.commit = commit


def is_ancestor(runner: GitRunner, old: str, new: str) -> bool | None:
    """Whether `old` is in the history of `new`; None when a shallow clone cannot tell."""
    if runner.try_run("merge-base", "--is-ancestor", old, new) is not None:
        return True
    return None if runner.is_shallow() else False


def _event(settings: Settings) -> dict | None:
    path = settings.event_path
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SettingsError(f"GITHUB_EVENT_PATH {path}: not readable JSON ({exc})") from None
    return data if isinstance(data, dict) else None


def _is_zeros(rev: str | None) -> bool:
    return bool(rev and _ZEROS.match(rev))


def _fetch(runner: GitRunner, *args: str) -> str | None:
    """None when git fetch succeeded, else the last line git said (for the one-line error)."""
    try:
        runner.run(*args)
    except git.GitCommandError as exc:
        return git_error_line(exc)
    return None


def _ensure(runner: GitRunner, rev: str, role: str, log: Log) -> str:
    """The commit id for `rev`, fetching it from the remote when this clone lacks it."""
    found = runner.commit_id(rev)
    if found:
        return found
    remote = runner.remote()
    shallow = runner.is_shallow()
    if remote is None:
        raise SettingsError(f"{role} revision {rev!r} is not in this repository and there is no remote to fetch it "
                            "from; fetch it, or pass another revision")
    if COMMIT_ID.match(rev):
        # Only the tree of `rev` is needed, not its history: depth 1 keeps a shallow clone small.
        why = "this shallow clone" if shallow else "this clone"
        log(f"{role} commit {rev} is not in {why}; fetching it from {remote} "
            "(actions/checkout with fetch-depth: 0 avoids this)")
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if shallow:
            args.append("--depth=1")
        failure = _fetch(runner, *args, remote, rev)
    elif shallow:
        log(f"{role} revision {rev!r} is not in this shallow clone; fetching the full history from {remote} "
            "(actions/checkout with fetch-depth: 0 avoids this)")
        failure = _fetch(runner, "fetch", "--quiet", "--no-tags", "--unshallow", remote)
    else:
        raise SettingsError(f"{role} revision {rev!r} is not in this repository; check the revision "
                            "(a commit id is fetched from the remote when missing), or pass --all")
    found = runner.commit_id(rev)
    if not found:
        how = f"fetching from {remote} failed: {failure}" if failure else f"even after fetching from {remote}"
        raise SettingsError(f"{role} revision {rev!r} is not in this repository, {how}; "
                            "check the revision, or pass --all to send every tracked image")
    return found


ensure_commit = _ensure  # for the sync marker's commit, fetched like `before`


def _merge_base(runner: GitRunner, base: str, head: str, log: Log) -> str:
    out = runner.try_run("merge-base", base, head)
    if out is None and runner.is_shallow():
        remote = runner.remote()
        if remote:
            log(f"the merge base of {base[:12]} and {head[:12]} is not in this shallow clone; "
                f"fetching their history from {remote}")
            runner.try_run("fetch", "--quiet", "--no-tags", "--unshallow", remote, base, head)
            out = runner.try_run("merge-base", base, head)
    if out is None:
        log(f"{base[:12]} and {head[:12]} share no history; comparing against the base commit itself")
        return base
    return out.decode().split()[0]


def _from_marker(runner: GitRunner, marker: str, after: str, log: Log) -> Range:
    try:
        found = _ensure(runner, marker, "sync marker", log)
    except SettingsError as exc:
        raise MarkerGone(marker, str(exc)) from None
    if found == after:
        return Range(found, after, "the sync marker (already at after)", "marker")
    related = is_ancestor(runner, found, after)
    why = {True: "an ancestor of after", False: "not an ancestor of after: the two trees are compared",
           None: "ancestry unknown in this shallow clone: the two trees are compared"}[related]
    return Range(found, after, f"the sync marker ({why})", "marker")


def resolve_range(settings: Settings, runner: GitRunner | None = None, log: Log = note_to_stderr,
                  marker: str | None = None) -> Range:
    """The range to plan, with both ends present in the clone (fetched if needed).

    `marker`: the backend's sync marker, used when no range was given explicitly and the event is
    not a pull request's."""
    runner = runner or GitRunner(settings.path)
    event = None if (settings.before or settings.after) else _event(settings)
    pr = event.get("pull_request") if event else None

    after_rev = settings.after
    source = "arguments" if (settings.before or settings.after) else "HEAD"
    if after_rev is None and isinstance(pr, dict):
        after_rev, source = (pr.get("head") or {}).get("sha"), "pull request event"
    elif after_rev is None and event is not None and event.get("after"):
        after_rev, source = event["after"], "push event"
    if after_rev is not None and _is_zeros(after_rev):
        # A branch deletion: nothing of the branch's content changes anywhere, so nothing to send,
        # and failing the job for it would only be noise. An empty range needs no git objects.
        gone = str((event or {}).get("before") or "")
        if not COMMIT_ID.match(gone):
            raise SettingsError("after is all zeros (a deleted branch) and there is no before: pass --before/--after")
        log("the push deleted the branch: nothing to sync")
        return Range(gone, gone, f"{source} (branch deleted)", "input" if settings.after else "event")
    after = _ensure(runner, after_rev or "HEAD", "after", log)

    if settings.all:
        return Range(None, after, "--all", "input")
    if marker is not None and not (settings.before or settings.after) and not isinstance(pr, dict):
        return _from_marker(runner, marker, after, log)

    if settings.before is not None:
        before_rev: str | None = settings.before
    elif settings.after is not None:
        before_rev = None  # --after alone: compare with its first parent
    elif isinstance(pr, dict):
        base = (pr.get("base") or {}).get("sha")
        if not base:
            raise SettingsError("the pull_request event has no base sha; pass --before")
        base = _ensure(runner, base, "base", log)
        return Range(_merge_base(runner, base, after, log), after, source, "event")
    elif event is not None and "before" in event:
        before_rev = event.get("before") or None
    else:
        before_rev = None

    basis = "input" if (settings.before or settings.after) else "event" if event is not None else "head"
    if before_rev is not None:
        if _is_zeros(before_rev):
            return Range(None, after, f"{source} (new branch: before is all zeros)", basis)
        return Range(_ensure(runner, before_rev, "before", log), after, source, basis)

    parents = runner.parents(after)
    if not parents:
        return Range(None, after, f"{source} (first commit: no parent)", basis)
    return Range(_ensure(runner, parents[0], "before", log), after, f"{source} (its first parent)", basis)
