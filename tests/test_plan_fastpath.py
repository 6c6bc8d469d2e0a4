"""planpipe.add_changes (the common cases written out) does exactly what the general rules do."""

from __future__ import annotations

import random

import pytest

from snail_action.changes import MODE_NONE, MODE_SUBMODULE, MODE_SYMLINK, Change
from snail_action.model import Operation
from snail_action.planning import Policy, _Builder, _content_type, new_delete, new_put
from snail_action.planpipe import SLICE, add_changes
from snail_backend.formats import content_type_for_path

NAMES = ["a.png", "dir/b.JPG", "x/y/c.webp", "d.tif", "notes.txt", "README.md", "README.png", ".github/w.png",
         "LICENSE", ".gitignore", "é/photo.png", "日本.gif", b"caf\xe9.png".decode("utf-8", "surrogateescape"),
         ".png", "..png", "dir.png/file", "a.b/c", "noext", "tab\t.png", "sub/.hidden.jpeg", "photos/k.png"]
MODES = ["100644", "100644", "100644", "100755", "100664", MODE_SYMLINK, MODE_SUBMODULE, "100600"]
BLOBS = ["1" * 40, "2" * 40, "3" * 40]


def random_change(rnd: random.Random) -> Change:
    status = rnd.choice(["A", "M", "M", "D", "T", "R100", "R087", "C075", "U", "X"])
    path, old_path = rnd.choice(NAMES), rnd.choice(NAMES)
    old_mode, new_mode = rnd.choice(MODES), rnd.choice(MODES)
    old_blob, new_blob = rnd.choice(BLOBS), rnd.choice(BLOBS)
    if status == "A":
        old_mode, old_path = MODE_NONE, path
    elif status == "D":
        new_mode, old_path = MODE_NONE, path
    elif status[0] not in "RC":
        old_path = path
    return Change(status, path, old_path, old_mode, new_mode, old_blob, new_blob)


def state(b: _Builder) -> tuple[object, ...]:
    return b.puts, b.deletes, b.rejected, b.skipped, b.warnings


@pytest.mark.parametrize("policy", [Policy(), Policy("warn"), Policy("ignore"), Policy(include=("photos/**",)),
                                    Policy("ignore", exclude=("*.gif",))])
def test_add_changes_equals_the_general_rules_change_by_change(policy: Policy) -> None:
    rnd = random.Random(12)
    changes = [random_change(rnd) for _ in range(SLICE * 3)]
    fast, general = _Builder(policy), _Builder(policy)
    add_changes(fast, changes)
    for ch in changes:
        general.add(ch)
    assert state(fast) == state(general)
    assert len(fast.puts) > 10 and len(fast.deletes) > 10  # puts and deletes were planned (not all skipped)


def test_the_quick_constructors_build_equal_operations() -> None:
    put = new_put("a.png", "R087", "image/png", 12, "e" * 64, "b" * 40, "old.png")
    assert put == Operation("put", "a.png", "R087", "image/png", 12, "e" * 64, "b" * 40, "old.png")
    assert hash(put) == hash(Operation("put", "a.png", "R087", "image/png", 12, "e" * 64, "b" * 40, "old.png"))
    assert new_delete("a.png", "D", None) == Operation("delete", "a.png", "D")
    assert new_delete("o.png", "R100", "n.png") == Operation("delete", "o.png", "R100", renamed_to="n.png")
    assert put.to_json() == Operation("put", "a.png", "R087", "image/png", 12, "e" * 64, "b" * 40, "old.png").to_json()


def test_content_type_of_a_path_is_the_backends_for_its_name() -> None:
    """planning._content_type (cached per extension, with a quick path for usual names) on odd names too."""
    parts = ["a", ".", "/", "png", "PNG", "jpg", "x", "..", "tar", "gz", "é", " ", "txt", "tif", "jpeg", "README"]
    rnd = random.Random(5)
    for _ in range(20_000):
        path = "".join(rnd.choice(parts) for _ in range(rnd.randrange(1, 7)))
        assert _content_type(path) == content_type_for_path(path.rsplit("/", 1)[-1]), path
