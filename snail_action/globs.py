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
        # Blank lines and comments are no pattern. Computed once: it is asked once per changed file.
        self._any = any(p.include is not None for p in self._spec.patterns)
        # Whether each folder is matched, by its path: a big push has thousands of files in few folders.
        self._folders: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return self._any

    def _folder_matched(self, folder: str) -> bool:
        """Whether `folder` or a folder above it is matched (without a trailing `/`)."""
        known = self._folders.get(folder)
        if known is None:
            parent = folder.rpartition("/")[0]
            known = (bool(parent) and self._folder_matched(parent)) or self._spec.match_file(folder + "/")
            self._folders[folder] = known
        return known

    def matches(self, path: str) -> bool:
        if not self._any:  # nothing to match (pathspec would still normalise the path, per file)
            return False
        folder = path.rpartition("/")[0]
        if folder and self._folder_matched(folder):
            return True  # a matched folder: everything below it is matched, whatever follows
        return self._spec.match_file(path)
