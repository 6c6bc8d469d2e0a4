"""The planner on real repositories: what each kind of change in git becomes."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from helpers import GitRepo, image_bytes
from snail_action.model import Finding, Plan
from snail_action.planning import LFS_REASON, build_plan
from snail_action.settings import Settings


def plan_of(repo: GitRepo, **kw: object) -> Plan:
    return build_plan(Settings(path=repo.path, **kw))  # type: ignore[arg-type]


def ops(plan: Plan) -> list[tuple[str, str, str]]:
    return [(o.op, o.path, o.change) for o in plan.operations]


def bmp(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("BMP", size=size, seed=seed)


def edited(data: bytes) -> bytes:
    """The same BMP with a few pixel bytes changed: similar enough for git to call it a rename."""
    return data[:-40] + bytes(40)


def test_puts_carry_size_sha256_blob_and_content_type_of_the_content_at_after(git_repo: GitRepo) -> None:
    git_repo.write("keep.png", image_bytes("PNG", seed=1))
    git_repo.commit("base")
    data = image_bytes("JPEG", seed=2)
    git_repo.write("photos/IMG_1296.JPEG", data)
    git_repo.commit("add")
    git_repo.write("photos/IMG_1296.JPEG", b"dirty working tree, not committed")
    p = plan_of(git_repo)
    (put,) = p.operations
    assert (put.op, put.path, put.change, put.content_type) == ("put", "photos/IMG_1296.JPEG", "A", "image/jpeg")
    assert (put.size, put.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert put.blob == git_repo.git("rev-parse", "HEAD:photos/IMG_1296.JPEG")
    assert p.after == git_repo.head() and p.before == git_repo.git("rev-parse", "HEAD~1")


def test_multi_commit_push_sends_the_net_difference_of_the_trees(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("b.png", image_bytes(seed=2))
    before = git_repo.commit("base")
    git_repo.write("c.png", image_bytes(seed=3))
    git_repo.write("temp.png", image_bytes(seed=4))
    git_repo.commit("one")
    git_repo.remove("temp.png")  # added and removed inside the push: nothing to send
    git_repo.write("b.png", image_bytes(seed=5))
    git_repo.commit("two")
    git_repo.write("b.png", image_bytes(seed=2))  # edited and edited back: nothing to send
    git_repo.remove("a.png")
    after = git_repo.commit("three")
    assert ops(plan_of(git_repo, before=before, after=after)) == [("delete", "a.png", "D"), ("put", "c.png", "A")]


def test_force_push_compares_trees_whatever_the_ancestry(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    base = git_repo.commit("base")
    git_repo.write("old-only.png", image_bytes(seed=2))
    old_tip = git_repo.commit("pushed, later rewritten")
    git_repo.git("checkout", "-q", "-b", "rewritten", base)
    git_repo.write("new-only.gif", image_bytes("GIF", seed=3))
    new_tip = git_repo.commit("the force-pushed history")
    assert git_repo.git("merge-base", "--is-ancestor", old_tip, new_tip, check=False) == ""
    assert ops(plan_of(git_repo, before=old_tip, after=new_tip)) == [
        ("delete", "old-only.png", "D"), ("put", "new-only.gif", "A")]


def test_merge_is_the_difference_between_the_two_tips(git_repo: GitRepo) -> None:
    git_repo.write("base.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("feature.png", image_bytes(seed=2))
    git_repo.commit("feature work")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("main.png", image_bytes(seed=3))
    main_tip = git_repo.commit("main work")
    git_repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    p = plan_of(git_repo)  # default range: the merge's first parent .. the merge
    assert p.before == main_tip
    assert ops(p) == [("put", "feature.png", "A")]


def test_exact_rename_is_r100(git_repo: GitRepo) -> None:
    git_repo.write("old name.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.move("old name.png", "folder/new name.png")
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert ops(p) == [("delete", "old name.png", "R100"), ("put", "folder/new name.png", "R100")]
    assert p.deletes[0].renamed_to == "folder/new name.png" and p.puts[0].renamed_from == "old name.png"


def test_rename_with_edits_carries_the_similarity_score(git_repo: GitRepo) -> None:
    data = bmp(seed=1)
    git_repo.write("before.bmp", data)
    git_repo.commit("base")
    git_repo.move("before.bmp", "after.bmp")
    git_repo.write("after.bmp", edited(data))
    git_repo.commit("change")
    p = plan_of(git_repo)
    (delete, put) = p.operations
    assert re.fullmatch(r"R0[5-9]\d", put.change) and delete.change == put.change
    assert (delete.op, delete.path, put.op, put.path) == ("delete", "before.bmp", "put", "after.bmp")
    assert put.sha256 == hashlib.sha256(edited(data)).hexdigest()


def test_copy_of_a_modified_file_is_a_put_of_the_new_path(git_repo: GitRepo) -> None:
    data = bmp(seed=1)
    git_repo.write("orig.bmp", data)
    git_repo.commit("base")
    git_repo.write("orig.bmp", edited(data))
    git_repo.write("copy.bmp", data)
    git_repo.commit("change")
    p = plan_of(git_repo)
    changes = {o.path: o.change for o in p.operations}
    assert [o.op for o in p.operations] == ["put", "put"] and changes["orig.bmp"] == "M"
    assert re.fullmatch(r"C\d{3}", changes["copy.bmp"])


def test_image_replaced_by_a_symlink_is_deleted_and_the_link_skipped(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("b.png", image_bytes(seed=2))
    git_repo.commit("base")
    os.remove(git_repo.path / "a.png")
    os.symlink("b.png", git_repo.path / "a.png")
    os.symlink("b.png", git_repo.path / "link.png")
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert ops(p) == [("delete", "a.png", "T")]
    assert sorted(p.skipped, key=lambda f: f.path) == [
        Finding("a.png", "symlink: not sent"), Finding("link.png", "symlink: not sent")]


def test_symlink_replaced_by_an_image_is_a_put(git_repo: GitRepo) -> None:
    git_repo.write("b.png", image_bytes(seed=2))
    os.symlink("b.png", git_repo.path / "a.png")
    git_repo.commit("base")
    os.remove(git_repo.path / "a.png")
    git_repo.write("a.png", image_bytes(seed=3))
    git_repo.commit("change")
    assert ops(plan_of(git_repo)) == [("put", "a.png", "T")]


def test_submodule_is_skipped_with_reason(tmp_path, git_repo: GitRepo) -> None:  # noqa: ANN001
    lib = GitRepo(tmp_path / "lib")
    lib.write("inside.png", image_bytes(seed=1))
    lib.commit("lib")
    git_repo.write("a.png", image_bytes(seed=2))
    git_repo.commit("base")
    git_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "vendor/lib.png")
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert p.operations == []
    assert Finding("vendor/lib.png", "submodule: not sent") in p.skipped
    assert Finding(".gitmodules", "ignored") in p.skipped and p.rejected == []


def test_mode_change_only_is_skipped(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    (git_repo.path / "a.png").chmod(0o755)
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert p.operations == [] and p.skipped == [Finding("a.png", "only the file mode changed")]


def test_lfs_pointer_is_rejected_with_advice_to_check_out_with_lfs(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("huge.png", "version https://git-lfs.github.com/spec/v1\n"
                   "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
    git_repo.write("b.png", image_bytes(seed=2))
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert ops(p) == [("put", "b.png", "A")]
    assert p.rejected == [Finding("huge.png", LFS_REASON)]
    assert "lfs: true" in LFS_REASON


UNUSUAL = ["with space.png", 'double"quote.png', "single'quote.png", "사진/한글 이름.jpg", "emoji 😀🐌.gif",
           "-leading-dash.png", "--also.png", "new\nline.png", "tab\there.png", "back\\slash.png", "#hash%25.png",
           "ends with space .png", "*star?.png", ":colon.png", "dir with space/sub dir/x.webp"]


def test_unusual_file_names_survive_add_rename_and_delete(git_repo: GitRepo) -> None:
    git_repo.write("anchor.png", image_bytes(seed=99))
    git_repo.commit("base")
    for i, name in enumerate(UNUSUAL):
        git_repo.write(name, image_bytes("PNG", seed=i))
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert sorted(o.path for o in p.puts) == sorted(UNUSUAL)
    assert all(o.change == "A" and o.content_type for o in p.puts)
    for name in UNUSUAL:
        git_repo.move(name, "moved/" + name.replace("/", "_"))
    git_repo.commit("change")
    p = plan_of(git_repo)
    renames = {o.path: o.renamed_to for o in p.deletes}
    assert renames == {name: "moved/" + name.replace("/", "_") for name in UNUSUAL}
    assert all(o.change == "R100" for o in p.operations)
    git_repo.git("rm", "-q", "-r", "moved")
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert sorted(o.path for o in p.deletes) == sorted("moved/" + n.replace("/", "_") for n in UNUSUAL)


def test_non_utf8_file_name_is_rejected(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    raw = os.fsencode(str(git_repo.path)) + b"/caf\xe9.png"
    with open(raw, "wb") as fh:
        fh.write(image_bytes(seed=2))
    git_repo.commit("change")
    p = plan_of(git_repo)
    assert p.operations == []
    assert [f.path.encode("utf-8", "surrogateescape") for f in p.rejected] == [b"caf\xe9.png"]
    assert "not valid UTF-8" in p.rejected[0].reason


def test_non_images_under_each_policy_and_the_default_ignores(git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("notes.txt", "old notes")
    git_repo.commit("base")
    for path in ("README.md", "LICENSE", ".gitignore", ".gitattributes", ".github/workflows/images.yml"):
        git_repo.write(path, "x")
    git_repo.write("design.psd", "not an image we accept")
    git_repo.remove("notes.txt")
    git_repo.write("b.png", image_bytes(seed=2))
    git_repo.commit("change")
    ignored = sorted(["README.md", "LICENSE", ".gitignore", ".gitattributes", ".github/workflows/images.yml"])
    for policy, rejected, warned in (("fail", ["design.psd"], []), ("warn", [], ["design.psd"]),
                                     ("ignore", [], [])):
        p = plan_of(git_repo, on_non_image=policy)
        assert ops(p) == [("put", "b.png", "A")]
        assert [f.path for f in p.rejected] == rejected
        assert [f.path for f in p.warnings] == warned
        skipped = {f.path: f.reason for f in p.skipped}
        assert sorted(k for k, v in skipped.items() if v == "ignored") == ignored
        assert skipped["notes.txt"] == "not an image: nothing to delete"


def test_include_and_exclude_globs(git_repo: GitRepo) -> None:
    git_repo.write("photos/keep.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("photos/2024/a.png", image_bytes(seed=2))
    git_repo.write("photos/2024/anim.gif", image_bytes("GIF", seed=3))
    git_repo.write("drafts/b.png", image_bytes(seed=4))
    git_repo.write("drafts/notes.txt", "not in scope, so not an error")
    git_repo.move("photos/keep.png", "drafts/keep.png")
    git_repo.commit("change")
    p = plan_of(git_repo, include=("photos/**",), exclude=("*.gif",))
    assert ops(p) == [("delete", "photos/keep.png", "R100"), ("put", "photos/2024/a.png", "A")]
    assert {f.path: f.reason for f in p.skipped} == {
        "drafts/b.png": "not included", "drafts/keep.png": "not included", "drafts/notes.txt": "not included",
        "photos/2024/anim.gif": "excluded"}
    assert p.rejected == []


def test_the_same_content_at_many_paths_is_read_once_and_shared(git_repo: GitRepo) -> None:
    git_repo.write("base.txt", "x")
    git_repo.commit("base")
    data = image_bytes(seed=7)
    for i in range(5):
        git_repo.write(f"dup{i}.png", data)
    git_repo.commit("change")
    p = plan_of(git_repo, on_non_image="ignore")
    assert {o.sha256 for o in p.puts} == {hashlib.sha256(data).hexdigest()} and len(p.puts) == 5


@pytest.mark.parametrize("empty", [True, False])
def test_nothing_changed_is_an_empty_plan(git_repo: GitRepo, empty: bool) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    head = git_repo.commit("base")
    git_repo.commit("empty")
    p = plan_of(git_repo, before=head, after=head) if empty else plan_of(git_repo)
    assert p.operations == [] and p.rejected == [] and p.skipped == []
