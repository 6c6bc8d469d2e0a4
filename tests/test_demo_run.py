"""`snail-images demo` runs the whole pipeline and its gallery stands on its own (checked without a browser)."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from snail_action import cli
from snail_action.demo.folder import MARKER, prepare_out
from snail_action.demo.run import run_demo
from snail_backend.formats import format_for_path


class GalleryParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cards: list[str] = []  # the id of each image's section: its repository path
        self.imgs_per_card: list[int] = []
        self.figures_per_card: list[int] = []
        self.srcs: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "card" in (a.get("class") or ""):
            self.cards.append(a["id"])
            self.imgs_per_card.append(0)
            self.figures_per_card.append(0)
        elif tag == "figure":
            self.figures_per_card[-1] += 1
        elif tag == "img":
            self.srcs.append(a["src"])
            self.imgs_per_card[-1] += 1
        elif tag == "a":
            self.links.append(a["href"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    printed = io.StringIO()
    # The backend's own settings in the shell must not change what the demo proves (or break it).
    hostile = {"KEY_SCHEME": "timestamp", "VARIANT_SIZES": "not sizes"}
    saved = {name: os.environ.get(name) for name in hostile}
    os.environ.update(hostile)
    try:
        code = run_demo(argparse.Namespace(out=out), stream=printed)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return code, out, printed.getvalue()


@pytest.mark.slow
def test_demo_exits_0_with_every_expected_outcome(demo, capsys):
    code, out, _ = demo
    assert code == 0, (out / "backend.log").read_text()
    assert (out / "gallery.html").is_file()
    assert (out / "repo" / ".git").is_dir()


def _images_at_head(repo: Path) -> set[str]:
    names = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", "HEAD"], cwd=repo, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    return {n for n in names if n and format_for_path(n)}


def test_gallery_lists_every_image_of_the_repository_with_four_renditions(demo):
    _, out, _ = demo
    parser = GalleryParser()
    parser.feed((out / "gallery.html").read_text(encoding="utf-8"))
    assert set(parser.cards) == _images_at_head(out / "repo")
    assert len(parser.cards) == len(set(parser.cards)) >= 7
    assert parser.figures_per_card == [4] * len(parser.cards)
    # An original browsers do not draw (HEIC, TIFF) is a link with a note; its three variants are drawn.
    undrawn = (".heic", ".heif", ".tif", ".tiff")
    assert parser.imgs_per_card == [3 if c.lower().endswith(undrawn) else 4 for c in parser.cards]


def test_every_img_and_link_of_the_gallery_exists_beside_it_and_is_relative(demo):
    _, out, _ = demo
    parser = GalleryParser()
    parser.feed((out / "gallery.html").read_text(encoding="utf-8"))
    assert parser.srcs
    for ref in parser.srcs + parser.links:
        assert "://" not in ref and not ref.startswith("/"), ref
        target = (out / unquote(ref)).resolve()
        assert target.is_file() and target.stat().st_size > 0, ref
        assert out.resolve() in target.parents


def test_the_gallery_counts_the_same_checks_as_the_report(demo):
    _, out, printed = demo
    (reported,) = re.findall(r"all (\d+) checks passed", printed)
    (shown,) = re.findall(r"checks passed: <b>(\d+)/(\d+)</b>", (out / "gallery.html").read_text(encoding="utf-8"))
    assert shown == (reported, reported)


def test_demo_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert cli.main(["demo", "--out", str(tmp_path)]) == 2
    assert "not made by the demo" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_a_folder_the_demo_made_is_emptied_of_its_earlier_output(tmp_path):
    out = tmp_path / "o"
    (out / "repo" / "x").mkdir(parents=True)
    (out / "gallery.html").write_text("old")
    (out / MARKER).write_text("")
    prepare_out(out)
    assert not (out / "repo").exists() and not (out / "gallery.html").exists()
    assert (out / MARKER).exists()
