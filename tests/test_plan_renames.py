"""Renames in big pushes: the planner pairs renames with edits only within git's rename limit, and
the operations are the same whether git pairs them or not; only the labels differ.

Beyond the limit git still pairs files with identical content (exact renames), and so do we. The
limit is lowered here (monkeypatching DIFF_ARGS) so a handful of files is "a big push".
"""

from __future__ import annotations

import pytest

from helpers import GitRepo, image_bytes
from snail_action import changes
from snail_action.model import Plan
from snail_action.planning import build_plan
from snail_action.settings import Settings


def bmp(seed: int) -> bytes:
    return image_bytes("BMP", size=(64, 48), seed=seed)


def edited(data: bytes) -> bytes:
    return data[:-40] + bytes(40)  # a few pixels changed: git still finds the rename


def with_rename_limit(limit: int) -> tuple[str, ...]:
    return tuple(f"-l{limit}" if a.startswith("-l") else a for a in changes.DIFF_ARGS)


def sent(plan: Plan) -> list[tuple]:
    """What the backend receives, in order: deletes first, then puts, each with its content."""
    return sorted(((o.op, o.path, o.content_type, o.size, o.sha256, o.blob) for o in plan.operations),
                  key=lambda t: (t[0] != "delete", t[1]))


@pytest.fixture
def renamed_push(git_repo: GitRepo) -> GitRepo:
    for i in range(4):
        git_repo.write(f"album/photo {i}.bmp", bmp(i))
    git_repo.write("exact/a.png", image_bytes("PNG", seed=10))
    git_repo.write("exact/b.png", image_bytes("PNG", seed=11))
    git_repo.write("gone.png", image_bytes("PNG", seed=12))
    git_repo.commit("base")
    for i in range(4):  # renamed with edits, to other names (git's basename pairing does not apply)
        git_repo.remove(f"album/photo {i}.bmp")
        git_repo.write(f"trip/day {i}.bmp", edited(bmp(i)))
    git_repo.move("exact/a.png", "moved/a2.png")
    git_repo.move("exact/b.png", "moved/b2.png")
    git_repo.remove("gone.png")
    git_repo.write("new.png", image_bytes("PNG", seed=13))
    git_repo.commit("big push")
    return git_repo


def test_the_default_limit_is_git_s_default():
    assert "-l1000" in changes.DIFF_ARGS and changes.RENAME_LIMIT == 1000


def test_operations_are_identical_with_or_without_inexact_pairing(renamed_push: GitRepo, monkeypatch):
    paired = build_plan(Settings(path=renamed_push.path))
    monkeypatch.setattr(changes, "DIFF_ARGS", with_rename_limit(1))  # 5 adds x 5 deletes > 1 x 1
    unpaired = build_plan(Settings(path=renamed_push.path))

    assert sent(paired) == sent(unpaired)
    assert len(paired.deletes) == 7 and len(paired.puts) == 7  # 4 + 2 renames, a delete, an add
    labels = {o.path: o.change for o in paired.operations}
    plain = {o.path: o.change for o in unpaired.operations}
    for i in range(4):  # within the limit the edited renames are paired, beyond it they are D and A
        assert labels[f"trip/day {i}.bmp"].startswith("R") and labels[f"trip/day {i}.bmp"] != "R100"
        assert (plain[f"album/photo {i}.bmp"], plain[f"trip/day {i}.bmp"]) == ("D", "A")
    # exact renames are paired either way
    for old, new in (("exact/a.png", "moved/a2.png"), ("exact/b.png", "moved/b2.png")):
        assert labels[old] == labels[new] == plain[old] == plain[new] == "R100"
        assert next(o for o in unpaired.puts if o.path == new).renamed_from == old


def test_a_user_rename_limit_does_not_change_the_plan(renamed_push: GitRepo):
    """diff.renameLimit (and the other diff.* settings a porcelain diff reads) cannot change a plan."""
    before = sent(build_plan(Settings(path=renamed_push.path)))
    labels = [o.change for o in build_plan(Settings(path=renamed_push.path)).operations]
    order = renamed_push.path.parent / "order"
    order.write_text("new.png\nmoved/*\ntrip/*\n")
    for key, value in (("diff.renameLimit", "1"), ("diff.renames", "false"), ("diff.relative", "true"),
                       ("diff.orderFile", str(order)), ("color.diff", "always"), ("diff.noprefix", "true"),
                       ("diff.ignoreSubmodules", "all")):
        renamed_push.git("config", key, value)
    after_plan = build_plan(Settings(path=renamed_push.path))
    assert sent(after_plan) == before and [o.change for o in after_plan.operations] == labels
