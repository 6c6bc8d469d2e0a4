"""The pure planning core on hand-built change lists: no git, no files."""

from __future__ import annotations

import pytest

from snail_action.changes import MODE_SUBMODULE, MODE_SYMLINK, Change, parse_ls_tree, parse_raw_diff
from snail_action.model import Finding
from snail_action.planning import LFS_REASON, Policy, attach_contents, plan_changes

F = "100644"
NONE = "000000"


def ch(status: str, path: str, old_path: str | None = None, old_mode: str = F, new_mode: str = F,
       old_blob: str = "a" * 40, new_blob: str = "b" * 40) -> Change:
    if status[0] == "A" or status[0] == "C":
        old_mode = NONE if status[0] == "A" else old_mode
    if status[0] == "D":
        new_mode = NONE
    return Change(status, path, old_path or path, old_mode, new_mode, old_blob, new_blob)


def ops(plan) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(o.op, o.path, o.change) for o in plan.operations]


def plan(changes: list[Change], **policy: object):  # noqa: ANN201
    return plan_changes(changes, Policy(**policy), "b" * 40, "a" * 40)  # type: ignore[arg-type]


def test_adds_and_edits_are_puts_with_the_content_type_of_their_path() -> None:
    p = plan([ch("A", "photos/IMG_1296.JPEG"), ch("M", "x/y.webp"), ch("A", "scan.TIFF")])
    assert ops(p) == [("put", "photos/IMG_1296.JPEG", "A"), ("put", "x/y.webp", "M"), ("put", "scan.TIFF", "A")]
    assert [o.content_type for o in p.puts] == ["image/jpeg", "image/webp", "image/tiff"]
    assert [o.blob for o in p.puts] == ["b" * 40] * 3


@pytest.mark.parametrize("ext", ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff", "PNG", "Jpg"])
def test_every_image_extension_is_recognised_case_insensitively(ext: str) -> None:
    assert ops(plan([ch("A", f"a.{ext}")])) == [("put", f"a.{ext}", "A")]


def test_all_deletes_come_before_all_puts() -> None:
    p = plan([ch("A", "a.png"), ch("D", "b.png"), ch("M", "c.png"), ch("D", "d.gif")])
    assert [o.op for o in p.operations] == ["delete", "delete", "put", "put"]
    assert [o.path for o in p.deletes] == ["b.png", "d.gif"]


def test_rename_is_delete_of_old_and_put_of_new_with_score() -> None:
    p = plan([ch("R087", "new name.png", "old name.png")])
    assert ops(p) == [("delete", "old name.png", "R087"), ("put", "new name.png", "R087")]
    assert p.deletes[0].renamed_to == "new name.png"
    assert p.puts[0].renamed_from == "old name.png"
    assert p.to_json()["operations"][0] == {"op": "delete", "path": "old name.png", "change": "R087",
                                            "renamed_to": "new name.png"}


def test_rename_of_non_image_to_image_is_only_a_put() -> None:
    p = plan([ch("R100", "photo.png", "photo.dat")])
    assert ops(p) == [("put", "photo.png", "R100")]
    assert p.rejected == [] and p.skipped == []


@pytest.mark.parametrize(("policy", "where"), [("fail", "rejected"), ("warn", "warnings"), ("ignore", "skipped")])
def test_rename_of_image_to_non_image_is_a_delete_plus_the_non_image_policy(policy: str, where: str) -> None:
    p = plan([ch("R100", "photo.txt", "photo.png")], on_non_image=policy)
    assert ops(p) == [("delete", "photo.png", "R100")]
    assert getattr(p, where) == [Finding("photo.txt", "not an image")]


def test_rename_between_image_types_changes_the_content_type() -> None:
    p = plan([ch("R100", "a.gif", "a.png")])
    assert p.puts[0].content_type == "image/gif"


def test_copy_puts_only_the_new_path() -> None:
    p = plan([ch("C075", "copy.png", "orig.png")])
    assert ops(p) == [("put", "copy.png", "C075")]


def test_deleted_non_image_is_skipped_not_rejected() -> None:
    p = plan([ch("D", "notes.txt")])
    assert p.operations == [] and p.rejected == []
    assert p.skipped == [Finding("notes.txt", "not an image: nothing to delete")]


@pytest.mark.parametrize("path", ["README.md", "docs/readme.txt", "LICENSE", "sub/LICENSE.txt", ".gitignore",
                                  "a/.gitattributes", ".github/workflows/sync.yml", "README", ".gitmodules"])
def test_default_ignores_are_skipped_as_ignored(path: str) -> None:
    p = plan([ch("A", path)])
    assert p.skipped == [Finding(path, "ignored")] and p.rejected == []


def test_an_image_named_like_an_ignored_file_is_still_an_image() -> None:
    assert ops(plan([ch("A", "README.png")])) == [("put", "README.png", "A")]


@pytest.mark.parametrize(("policy", "where"), [("fail", "rejected"), ("warn", "warnings"), ("ignore", "skipped")])
def test_non_image_policy(policy: str, where: str) -> None:
    p = plan([ch("A", "notes.txt"), ch("M", "a.png")], on_non_image=policy)
    assert ops(p) == [("put", "a.png", "M")]
    assert getattr(p, where) == [Finding("notes.txt", "not an image")]


def test_warnings_appear_in_the_json_skipped_list() -> None:
    p = plan([ch("A", "notes.txt")], on_non_image="warn")
    assert p.to_json()["skipped"] == [{"path": "notes.txt", "reason": "not an image"}]
    assert p.to_json()["rejected"] == []


@pytest.mark.parametrize(("mode", "reason"), [(MODE_SYMLINK, "symlink: not sent"),
                                              (MODE_SUBMODULE, "submodule: not sent")])
def test_symlinks_and_submodules_are_skipped_with_reason(mode: str, reason: str) -> None:
    p = plan([ch("A", "link.png", new_mode=mode), ch("D", "gone.png", old_mode=mode)])
    assert p.operations == []
    assert p.skipped == [Finding("link.png", reason), Finding("gone.png", reason)]


def test_type_change_from_image_to_symlink_deletes_it() -> None:
    p = plan([ch("T", "a.png", old_mode=F, new_mode=MODE_SYMLINK)])
    assert ops(p) == [("delete", "a.png", "T")]
    assert p.skipped == [Finding("a.png", "symlink: not sent")]


def test_type_change_from_symlink_to_image_puts_it() -> None:
    p = plan([ch("T", "a.png", old_mode=MODE_SYMLINK, new_mode=F)])
    assert ops(p) == [("put", "a.png", "T")]


def test_mode_only_change_is_skipped() -> None:
    p = plan([ch("M", "a.png", old_mode=F, new_mode="100755", old_blob="c" * 40, new_blob="c" * 40)])
    assert p.operations == [] and p.skipped == [Finding("a.png", "only the file mode changed")]


def test_swap_of_two_paths_by_renames_ends_with_both_present() -> None:
    # a.png -> b.png and c.png -> a.png: a.png is deleted, then put again; deletes run first.
    p = plan([ch("R100", "b.png", "a.png"), ch("R100", "a.png", "c.png")])
    assert ops(p) == [("delete", "a.png", "R100"), ("delete", "c.png", "R100"),
                      ("put", "b.png", "R100"), ("put", "a.png", "R100")]


def test_non_utf8_image_name_is_rejected_with_advice() -> None:
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    p = plan([ch("A", name), ch("D", name)])
    assert p.operations == []
    assert "not valid UTF-8" in p.rejected[0].reason and p.rejected[0].path == name
    assert "never sent" in p.skipped[0].reason


def test_exclude_wins_over_include_and_both_apply_to_deletes() -> None:
    policy = {"include": ("photos/**",), "exclude": ("*.gif",)}
    p = plan([ch("A", "photos/a.png"), ch("A", "photos/b.gif"), ch("A", "other/c.png"), ch("D", "photos/d.gif"),
              ch("A", "notes.txt")], **policy)
    assert ops(p) == [("put", "photos/a.png", "A")]
    assert p.skipped == [Finding("photos/b.gif", "excluded"), Finding("other/c.png", "not included"),
                         Finding("photos/d.gif", "excluded"), Finding("notes.txt", "not included")]
    assert p.rejected == []


def test_rename_into_and_out_of_scope() -> None:
    p = plan([ch("R100", "photos/in.png", "drafts/in.png"), ch("R100", "drafts/out.png", "photos/out.png")],
             include=("photos/**",))
    assert ops(p) == [("delete", "photos/out.png", "R100"), ("put", "photos/in.png", "R100")]


def test_attach_contents_fills_size_and_sha_and_rejects_lfs_pointers() -> None:
    p = plan([ch("A", "a.png", new_blob="1" * 40), ch("A", "big.png", new_blob="2" * 40), ch("D", "old.png")])
    done = attach_contents(p, {"1" * 40: (10, "f" * 64), "2" * 40: (130, "e" * 64)}, ["2" * 40])
    assert [(o.op, o.path, o.size, o.sha256) for o in done.operations] == [
        ("delete", "old.png", None, None), ("put", "a.png", 10, "f" * 64)]
    assert done.rejected == [Finding("big.png", LFS_REASON)]


def test_parse_raw_diff_handles_renames_copies_and_odd_names() -> None:
    out = (b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" R087\0old\nname.png\0-new \"name\".png\0"
           b":000000 100644 " + b"0" * 40 + b" " + b"3" * 40 + b" A\0:colon.png\0"
           b":100644 000000 " + b"4" * 40 + b" " + b"0" * 40 + b" D\0\xed\x95\x9c.gif\0")
    changes = parse_raw_diff(out)
    assert [(c.status, c.old_path, c.path) for c in changes] == [
        ("R087", "old\nname.png", '-new "name".png'), ("A", ":colon.png", ":colon.png"), ("D", "한.gif", "한.gif")]
    assert changes[0].new_blob == "2" * 40 and changes[1].new_mode == "100644"


def test_parse_ls_tree_gives_adds_with_modes() -> None:
    out = b"100644 blob " + b"1" * 40 + b"\ta b.png\x00" + b"160000 commit " + b"2" * 40 + b"\tsub\0"
    changes = parse_ls_tree(out)
    assert [(c.status, c.path, c.new_mode, c.new_blob) for c in changes] == [
        ("A", "a b.png", "100644", "1" * 40), ("A", "sub", "160000", "2" * 40)]


def test_parse_raw_diff_decodes_paths_as_each_path_alone() -> None:
    """The output is decoded once, not path by path: names with invalid or cut-off UTF-8 (a
    multi-byte sequence ending at a NUL) still come out exactly as decode_path gives each one."""
    names = [b"caf\xc3\xa9.png", b"cut\xe2\x82", b"\xe2\x82\xac.png", b"bad\xff\xfe.jpg", b"\xc3"]
    meta = b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40
    out = b"".join(meta + b" M\0" + n + b"\0" for n in names) + meta + b" R087\0" + names[1] + b"\0" + names[2] + b"\0"
    got = parse_raw_diff(out)
    want = [n.decode("utf-8", "surrogateescape") for n in names]
    assert [c.path for c in got] == [*want, want[2]]
    assert got[-1].old_path == want[1] and got[-1].status == "R087"
    assert [c.path.encode("utf-8", "surrogateescape") for c in got[:-1]] == names
