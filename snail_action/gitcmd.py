"""Running git: GitPython's `repo.git` with byte output, no credential prompt, and git's own words
on failure. Shared by the range (gitrange), the changes (changes) and the commands."""

from __future__ import annotations

from pathlib import Path

import git

from .settings import SettingsError

_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


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
            raise SettingsError(f"{path}: no such directory; pass --path with the repository's folder") from None
        except git.InvalidGitRepositoryError:
            raise SettingsError(f"{path} is not inside a git repository; pass --path with its folder") from None
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
