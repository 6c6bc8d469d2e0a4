"""The `include`/`exclude` globs: lists of patterns read exactly as git reads a .gitignore file.

Matching is `pathspec`'s gitignore matcher (a maintained implementation of gitignore(5) PATTERN
FORMAT: `*`, `?`, `[...]`, `**`, a leading or middle `/` anchoring at the repository root, a
trailing `/` for folders, `!` to negate, `\\` to escape). On top of it, the one rule of git that
a single path's match cannot show: a file whose parent folder is matched is matched, and `!` cannot
take it back ("It is not possible to re-include a file if a parent directory of that file is
excluded"). So `exclude: photos` excludes `photos/a.png`, as it would in a .gitignore.
"""

from __future__ import annotations

from collections.abc import Iterable

import pathspec


class Globs:
    """A list of gitignore patterns; `matches(path)` for repository paths (`/`-separated, no leading `/`)."""

    def __init__(self, patterns: Iterable[str]):
        self.patterns = tuple(patterns)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def __bool__(self) -> bool:
        return any(p.include is not None for p in self._spec.patterns)  # blank lines and comments are none

    def matches(self, path: str) -> bool:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if self._spec.match_file("/".join(parts[:depth]) + "/"):
                return True  # a matched folder: everything below it is matched, whatever follows
        return self._spec.match_file(path)
