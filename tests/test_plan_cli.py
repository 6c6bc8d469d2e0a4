"""`snail-images plan` and `snail-images check` as a user runs them: output, exit codes, messages."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import GitRepo, image_bytes
from snail_action.cli import main

OP_KEYS = {"put": {"op", "path", "change", "content_type", "size", "sha256"}, "delete": {"op", "path", "change"}}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads os.environ; a CI runner's own GitHub variables must not leak into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith(("SNAIL_", "GITHUB_")):
            monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def renamed(git_repo: GitRepo) -> GitRepo:
    git_repo.write("old name.png", image_bytes(seed=1))
    git_repo.write("gone.gif", image_bytes("GIF", seed=2))
    git_repo.write("README.md", "readme")
    git_repo.commit("base")
    git_repo.move("old name.png", "new name.png")
    git_repo.remove("gone.gif")
    git_repo.write("photos/IMG_1.JPEG", image_bytes("JPEG", seed=3))
    git_repo.write("README.md", "readme, edited")
    git_repo.commit("change")
    return git_repo


def test_plan_json_is_exactly_the_contract_shape(capsys: pytest.CaptureFixture[str], renamed: GitRepo) -> None:
    code, out, _ = run(capsys, "plan", "--json", "--path", str(renamed.path))
    assert code == 0
    plan = json.loads(out)
    assert set(plan) == {"before", "after", "operations", "rejected", "skipped"}
    assert plan["before"] == renamed.git("rev-parse", "HEAD~1") and plan["after"] == renamed.head()
    assert [(o["op"], o["path"], o["change"]) for o in plan["operations"]] == [
        ("delete", "gone.gif", "D"), ("delete", "old name.png", "R100"),
        ("put", "new name.png", "R100"), ("put", "photos/IMG_1.JPEG", "A")]
    for o in plan["operations"]:
        extra = {"renamed_to"} if o["op"] == "delete" else {"renamed_from"}
        assert OP_KEYS[o["op"]] <= set(o) <= OP_KEYS[o["op"]] | extra
    rename_put = plan["operations"][2]
    assert rename_put["renamed_from"] == "old name.png" and plan["operations"][1]["renamed_to"] == "new name.png"
    jpeg = image_bytes("JPEG", seed=3)
    assert plan["operations"][3] | {} == {"op": "put", "path": "photos/IMG_1.JPEG", "change": "A",
                                          "content_type": "image/jpeg", "size": len(jpeg),
                                          "sha256": hashlib.sha256(jpeg).hexdigest()}
    assert plan["rejected"] == [] and plan["skipped"] == [{"path": "README.md", "reason": "ignored"}]


def test_plan_human_output(capsys: pytest.CaptureFixture[str], renamed: GitRepo) -> None:
    code, out, _ = run(capsys, "plan", "--path", str(renamed.path))
    assert code == 0
    assert "2 put(s), 2 delete(s), 0 rejected" in out
    assert "delete  old name.png  (R100 -> new name.png)" in out
    assert "put     photos/IMG_1.JPEG  (A, image/jpeg," in out
    assert "skipped README.md: ignored" in out


def test_plan_exits_1_naming_each_rejected_file(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("notes.txt", "n")
    git_repo.write("sub/data.csv", "1,2")
    git_repo.commit("change")
    code, out, err = run(capsys, "plan", "--json", "--path", str(git_repo.path))
    assert code == 1
    assert json.loads(out)["rejected"] == [{"path": "notes.txt", "reason": "not an image"},
                                           {"path": "sub/data.csv", "reason": "not an image"}]
    assert "rejected notes.txt: not an image" in err and "rejected sub/data.csv: not an image" in err
    assert run(capsys, "plan", "--json", "--path", str(git_repo.path), "--on-non-image", "warn")[0] == 0
    assert run(capsys, "plan", "--path", str(git_repo.path), "--exclude", "*.txt", "--exclude", "sub/")[0] == 0


def test_plan_json_keeps_unusual_names_intact(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    names = ["new\nline.png", "-dash.png", "한글 😀.gif", 'q"uote.png']
    git_repo.write("x.png", image_bytes(seed=9))
    git_repo.commit("base")
    for i, name in enumerate(names):
        git_repo.write(name, image_bytes("GIF" if name.endswith("gif") else "PNG", seed=i))
    git_repo.commit("names")
    code, out, _ = run(capsys, "plan", "--json", "--path", str(git_repo.path))
    assert code == 0
    assert sorted(o["path"] for o in json.loads(out)["operations"]) == sorted(names)
    code, out, _ = run(capsys, "plan", "--path", str(git_repo.path))
    assert "new\\nline.png" in out  # shown escaped, one line per operation


def test_annotations_in_github_actions(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                       git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("odd,name: 100%.txt", "n")
    git_repo.commit("change")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run(capsys, "plan", "--path", str(git_repo.path))
    assert code == 1
    assert "::error file=odd%2Cname%3A 100%25.txt::odd,name: 100%25.txt: not an image" in out


def test_check_passes_good_images(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "base")
    git_repo.commit("base")
    for i, (fmt, name) in enumerate([("PNG", "a.png"), ("JPEG", "IMG_1296.JPEG"), ("GIF", "g.gif"),
                                     ("BMP", "b.BMP"), ("WEBP", "w.webp"), ("TIFF", "t.tif")]):
        git_repo.write(name, image_bytes(fmt, seed=i))
    git_repo.commit("images")
    code, out, _ = run(capsys, "check", "--path", str(git_repo.path))
    assert code == 0
    assert "Checked 6 image(s)" in out and "6 ok, 0 rejected" in out


def test_check_names_each_broken_image_with_its_reason(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("ok.png", image_bytes(seed=1))
    git_repo.commit("base")
    jpeg = image_bytes("JPEG", size=(256, 256), seed=2)
    git_repo.write("truncated.jpg", jpeg[: len(jpeg) // 2])
    git_repo.write("really a png.jpg", image_bytes("PNG", seed=3))
    git_repo.write("empty.gif", b"")
    git_repo.write("text.webp", "hello")
    git_repo.write("fine.png", image_bytes(seed=4))
    git_repo.commit("change")
    code, out, _ = run(capsys, "check", "--path", str(git_repo.path))
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("REJECTED")]
    assert len(lines) == 4
    assert "REJECTED truncated.jpg: damaged or truncated image" in out
    assert "REJECTED really a png.jpg: content is PNG but the extension says JPEG" in out
    assert "REJECTED empty.gif: empty file" in out
    assert "REJECTED text.webp: not a readable" in out
    assert "fine.png" not in "".join(lines) and "1 ok, 4 rejected" in out


def test_check_rejects_non_images_and_lfs_pointers_too(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("ok.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("notes.txt", "n")
    git_repo.write("big.png", "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 9\n")
    git_repo.commit("change")
    code, out, _ = run(capsys, "check", "--path", str(git_repo.path))
    assert code == 1
    assert "REJECTED notes.txt: not an image" in out
    assert "REJECTED big.png: Git LFS pointer" in out and "lfs: true" in out


def test_check_all(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.write("b.jpg", b"broken")
    git_repo.commit("one")
    git_repo.write("c.png", image_bytes(seed=2))
    git_repo.commit("two")
    assert run(capsys, "check", "--path", str(git_repo.path))[0] == 0
    code, out, _ = run(capsys, "check", "--all", "--path", str(git_repo.path))
    assert code == 1 and "REJECTED b.jpg" in out and "Checked 3 image(s)" in out


def test_missing_before_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("one")
    code, out, err = run(capsys, "plan", "--path", str(git_repo.path), "--before", "f" * 40)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("snail-images: error: before revision 'ffff")


def test_shallow_fetch_is_announced_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("one")
    git_repo.write("b.png", image_bytes(seed=2))
    git_repo.commit("two")
    git_repo.git("clone", "-q", "--depth=1", f"file://{git_repo.path}", str(tmp_path / "clone"))
    code, out, err = run(capsys, "plan", "--json", "--path", str(tmp_path / "clone"))
    assert code == 0 and [o["path"] for o in json.loads(out)["operations"]] == ["b.png"]
    assert "is not in this shallow clone; fetching it from origin" in err


def test_console_script_runs(renamed: GitRepo) -> None:
    script = Path(sys.executable).with_name("snail-images")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(renamed.path.parent)}
    out = subprocess.run([str(script), "plan", "--json", "--path", str(renamed.path)],  # noqa: S603
                         capture_output=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["operations"]) == 4


def test_check_rejects_a_decompression_bomb(capsys: pytest.CaptureFixture[str], git_repo: GitRepo) -> None:
    import io

    from PIL import Image

    git_repo.write("ok.png", image_bytes(seed=1))
    git_repo.commit("base")
    buf = io.BytesIO()
    Image.new("1", (9500, 9500)).save(buf, format="PNG")  # 90.25 MP, over the 89,478,485-pixel limit
    git_repo.write("bomb.png", buf.getvalue())
    git_repo.commit("bomb")
    code, out, _ = run(capsys, "check", "--path", str(git_repo.path))
    assert code == 1
    assert "REJECTED bomb.png:" in out and "decompression bomb limit" in out


def test_repo_may_be_a_subfolder_and_paths_stay_relative_to_the_root(capsys: pytest.CaptureFixture[str],
                                                                     git_repo: GitRepo) -> None:
    git_repo.write("a.png", image_bytes(seed=1))
    git_repo.commit("base")
    git_repo.write("photos/b.png", image_bytes(seed=2))
    git_repo.commit("change")
    code, out, _ = run(capsys, "plan", "--json", "--path", str(git_repo.path / "photos"))
    assert code == 0 and [o["path"] for o in json.loads(out)["operations"]] == ["photos/b.png"]
    assert run(capsys, "check", "--path", str(git_repo.path / "photos"))[0] == 0


def test_check_annotations_name_files_relative_to_the_workspace(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                git_repo: GitRepo) -> None:
    git_repo.write("img/broken.gif", b"GIF89a")
    git_repo.commit()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(git_repo.path.parent))
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["check", "--path", str(git_repo.path), "--all"]) == 1
    assert "::error file=repo/img/broken.gif::img/broken.gif: " in capsys.readouterr().out
