"""Which two commits a sync compares, and making sure both are in the clone.

The backend holds the tree at `before`; the operations turn it into the tree at `after`. Where
the two come from, first match wins:

1. `--all` (or SNAIL_ALL): no `before`; every tracked file at `after` is added.
2. `--before` / `--after` (or SNAIL_BEFORE / SNAIL_AFTER).
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

from .settings import Settings, SettingsError

_HEX = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_ZEROS = re.compile(r"^0+$")

Log = Callable[[str], None]
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


def note_to_stderr(message: str) -> None:
    """The default log: notes (a fetch, an empty range) go to stderr, never into stdout's plan or JSON."""
    print(f"snail-images: {message}", file=sys.stderr)


def git_error_line(exc: git.GitCommandError) -> str:
    """What git said on stderr, on one line: its first fatal/error line, for an error message."""
    lines = [ln.strip().removeprefix("stderr:").strip().strip("'") for ln in str(exc.stderr or "").splitlines()]
    lines = [ln for ln in lines if ln]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln[:300]
    return lines[0][:300] if lines else f"exit status {exc.status}"


class GitRunner:
    """GitPython's `repo.git` with byte output: NUL-separated records are split, never unquoted."""

    def __init__(self, path: Path | str):
        try:
            self.repo = git.Repo(str(path), search_parent_directories=True)
        except git.NoSuchPathError:
            raise SettingsError(f"{path}: no such directory; pass --repo with the repository's folder") from None
        except git.InvalidGitRepositoryError:
            raise SettingsError(f"{path} is not inside a git repository; pass --repo with its folder") from None
        self.root = Path(self.repo.working_tree_dir or self.repo.git_dir)
        try:  # git itself may still refuse the folder ("dubious ownership" in containers): say so now
            self.run("rev-parse", "--git-dir")
        except git.GitCommandError as exc:
            raise SettingsError(f"git cannot use {self.root}: {git_error_line(exc)}") from None

    def run(self, *args: str) -> bytes:
        """stdout of `git args...`; raises git.GitCommandError when git fails."""
        # No credential prompt: a fetch that needs one fails with a clear error instead of hanging.
        return self.repo.git.execute(
            ["git", *args], stdout_as_string=False, strip_newline_in_stdout=False, env=_NO_PROMPT)

    def try_run(self, *args: str) -> bytes | None:
        try:
            return self.run(*args)
        except git.GitCommandError:
            return None

    def commit_id(self, rev: str) -> str | None:
        """The commit `rev` names, or None when it is not (yet) in this clone."""
        out = self.try_run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
        return out.decode().strip() if out else None

    def parents(self, commit: str) -> list[str]:
        """Parents recorded in the commit object itself: still known in a shallow clone, unlike HEAD~1."""
        raw = self.run("cat-file", "commit", commit)
        header = raw.split(b"\n\n", 1)[0]
        return [line[7:].decode() for line in header.split(b"\n") if line.startswith(b"parent ")]

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == b"true"

    def remote(self) -> str | None:
        names = self.run("remote").decode().split()
        if "origin" in names:
            return "origin"
        return names[0] if names else None


@dataclass(frozen=True)
class Range:
    before: str | None  # commit id; None: everything at `after` is added
    after: str  # commit id
    source: str  # where the range came from, for people: "arguments", "push event", ...


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
    if _HEX.match(rev):
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


def resolve_range(settings: Settings, runner: GitRunner | None = None, log: Log = note_to_stderr) -> Range:
    """The range to plan, with both ends present in the clone (fetched if needed)."""
    runner = runner or GitRunner(settings.repo)
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
        if not _HEX.match(gone):
            raise SettingsError("after is all zeros (a deleted branch) and there is no before: pass --before/--after")
        log("the push deleted the branch: nothing to sync")
        return Range(gone, gone, f"{source} (branch deleted)")
    after = _ensure(runner, after_rev or "HEAD", "after", log)

    if settings.all:
        return Range(None, after, "--all")

    if settings.before is not None:
        before_rev: str | None = settings.before
    elif settings.after is not None:
        before_rev = None  # --after alone: compare with its first parent
    elif isinstance(pr, dict):
        base = (pr.get("base") or {}).get("sha")
        if not base:
            raise SettingsError("the pull_request event has no base sha; pass --before")
        base = _ensure(runner, base, "base", log)
        return Range(_merge_base(runner, base, after, log), after, source)
    elif event is not None and "before" in event:
        before_rev = event.get("before") or None
    else:
        before_rev = None

    if before_rev is not None:
        if _is_zeros(before_rev):
            return Range(None, after, f"{source} (new branch: before is all zeros)")
        return Range(_ensure(runner, before_rev, "before", log), after, source)

    parents = runner.parents(after)
    if not parents:
        return Range(None, after, f"{source} (first commit: no parent)")
    return Range(_ensure(runner, parents[0], "before", log), after, f"{source} (its first parent)")
