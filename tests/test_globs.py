"""include/exclude globs read as git reads a .gitignore: the examples of gitignore(5), PATTERN FORMAT.

Each case quotes or follows the manual's own example; the same cases are also put to git itself
(`git check-ignore --no-index`) in a real repository, so the two can never disagree unnoticed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from snail_action.globs import Globs
from snail_action.planning import Policy

# (patterns, path, matched) -- from gitignore(5), PATTERN FORMAT and EXAMPLES.
CASES = [
    # "If there is a separator at the beginning or middle ... the pattern is relative to the directory
    # level of the particular .gitignore file itself. Otherwise the pattern may also match at any level"
    (["hello.*"], "hello.txt", True), (["hello.*"], "a/hello.java", True),
    # "prepend the pattern with a slash, i.e. /hello.*; the pattern now matches hello.txt, hello.c but
    # not a/hello.java"
    (["/hello.*"], "hello.txt", True), (["/hello.*"], "hello.c", True), (["/hello.*"], "a/hello.java", False),
    # "a pattern doc/frotz/ matches doc/frotz directory, but not a/doc/frotz directory; however frotz/
    # matches frotz and a/frotz that is a directory" (and so the files in them)
    (["doc/frotz/"], "doc/frotz/x.png", True), (["doc/frotz/"], "a/doc/frotz/x.png", False),
    (["frotz/"], "frotz/x.png", True), (["frotz/"], "a/frotz/x.png", True),
    # "The pattern foo/ will match a directory foo and paths underneath it, but will not match a regular
    # file or a symbolic link foo"
    (["foo/"], "foo/a.png", True), (["foo/"], "foo", False),
    # "The pattern doc/frotz and /doc/frotz have the same effect in any .gitignore file."
    (["doc/frotz"], "a/doc/frotz", False), (["/doc/frotz"], "a/doc/frotz", False),
    (["doc/frotz"], "doc/frotz/b.png", True), (["/doc/frotz"], "doc/frotz/b.png", True),
    # a pattern without a slash matching a directory matches everything in it: exclude `photos`
    (["photos"], "photos/a.png", True), (["photos"], "x/photos/a.png", True), (["photos"], "photos.png", False),
    # "The pattern "foo/*", matches "foo/test.json" (a regular file), "foo/bar" (a directory)" -- and
    # so, the directory being matched, what is in foo/bar too
    (["foo/*"], "foo/test.json", True), (["foo/*"], "foo/bar/hello.c", True), (["foo/*"], "foo", False),
    # "An asterisk "*" matches anything except a slash. The character "?" matches any one character
    # except "/". The range notation, e.g. [a-zA-Z], can be used to match one of the characters in a range."
    (["a*b.png"], "a/b.png", False), (["IMG_??.jpg"], "IMG_12.jpg", True), (["IMG_??.jpg"], "IMG_123.jpg", False),
    (["[a-c].png"], "b.png", True), (["[a-c].png"], "d.png", False), (["[!a]*.png"], "a.png", False),
    # "A leading "**" followed by a slash means match in all directories. For example, "**/foo" matches
    # file or directory "foo" anywhere, the same as pattern "foo". "**/foo/bar" matches file or
    # directory "bar" anywhere that is directly under directory "foo"."
    (["**/foo"], "foo", True), (["**/foo"], "a/b/foo", True),
    (["**/foo/bar"], "x/foo/bar", True), (["**/foo/bar"], "foo/x/bar", False),
    # "A trailing "/**" matches everything inside. For example, "abc/**" matches all files inside
    # directory "abc""
    (["abc/**"], "abc/x/y.png", True), (["abc/**"], "abc", False),
    # "A slash followed by two consecutive asterisks then a slash matches zero or more directories. For
    # example, "a/**/b" matches "a/b", "a/x/b", "a/x/y/b" and so on."
    (["a/**/b"], "a/b", True), (["a/**/b"], "a/x/b", True), (["a/**/b"], "a/x/y/b", True),
    (["a/**/b"], "x/a/b", False),
    # "Other consecutive asterisks are considered regular asterisks"
    (["***.png"], "d/a.png", True),
    # "An optional prefix "!" which negates the pattern; any matching file excluded by a previous pattern
    # will become included again."
    (["*.png", "!keep.png"], "a.png", True), (["*.png", "!keep.png"], "d/keep.png", False),
    # "It is not possible to re-include a file if a parent directory of that file is excluded."
    (["build/", "!build/keep.png"], "build/keep.png", True),
    # "Example to exclude everything except a specific directory foo/bar (note the /* - without the
    # slash, the wildcard would also exclude everything within foo/bar)"
    (["/*", "!/foo", "/foo/*", "!/foo/bar"], "x.png", True),
    (["/*", "!/foo", "/foo/*", "!/foo/bar"], "foo/baz.png", True),
    (["/*", "!/foo", "/foo/*", "!/foo/bar"], "foo/bar/a.png", False),
    # "A line starting with # serves as a comment. Put a backslash ("\") in front of the first hash for
    # patterns that begin with a hash." / "Put a backslash ("\") in front of the first "!" for patterns
    # that begin with a literal "!", for example, "\!important!.txt"."
    (["#notes.png"], "#notes.png", False), (["\\#notes.png"], "#notes.png", True),
    (["\\!important!.txt"], "!important!.txt", True),
    # "Trailing spaces are ignored unless they are quoted with backslash"
    (["*.png   "], "a.png", True),
    # git paths are case-sensitive (core.ignoreCase off), and any UTF-8 name works
    (["*.PNG"], "a.png", False), (["사진/*.jpg"], "사진/😀.jpg", True),
]


@pytest.mark.parametrize(("patterns", "path", "matched"), CASES)
def test_gitignore_manual_examples(patterns: list[str], path: str, matched: bool) -> None:
    assert Globs(patterns).matches(path) is matched


def test_git_itself_agrees_on_every_example(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for patterns, path, _ in CASES:
        (tmp_path / ".gitignore").write_text("\n".join(patterns) + "\n", encoding="utf-8")
        git = subprocess.run(["git", "-c", "core.ignoreCase=false", "-c", "core.quotePath=false", "check-ignore",
                              "-q", "--no-index", path], cwd=tmp_path).returncode == 0
        assert Globs(patterns).matches(path) is git, (patterns, path)


def test_exclude_a_folder_by_name_excludes_what_is_in_it() -> None:
    policy = Policy(exclude=("photos",))
    assert policy.out_of_scope("photos/a.png") == "excluded"
    assert policy.out_of_scope("photos/2024/b.png") == "excluded"
    assert policy.out_of_scope("photos.png") is None


def test_include_a_folder_includes_what_is_in_it_and_nothing_else() -> None:
    policy = Policy(include=("photos/",))
    assert policy.out_of_scope("photos/2024/b.png") is None
    assert policy.out_of_scope("other/c.png") == "not included"


def test_comments_and_blank_lines_alone_include_everything() -> None:
    assert Policy(include=("# nothing yet", "")).out_of_scope("any/where.png") is None
