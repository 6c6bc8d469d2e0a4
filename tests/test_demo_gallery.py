"""The gallery page builder: safe local names, escaping, shared objects written once."""

from __future__ import annotations

import pytest

from snail_action.demo.gallery import collect, human_size, local_name, render, write_gallery


@pytest.mark.parametrize("kind,key,want", [
    ("raw", "images/raw/0123abcd.png", "raw/0123abcd.png"),
    ("sg", "images/sg/2601301200-0123abcd.jpg", "sg/2601301200-0123abcd.jpg"),
    ("raw", "images/sg/0123abcd.png", None),
    ("raw", "images/raw/../../etc/passwd", None),
    ("raw", "images/raw/a/b.png", None),
    ("raw", "images/raw/..png", None),
    ("xx", "images/xx/a.png", None),
    ("raw", "images/raw/", None),
])
def test_local_name_only_for_plain_object_names(kind, key, want):
    assert local_name(kind, key) == want


def record(path, name, status="completed"):
    return {"registered_file": path, "hash": "ab" * 32, "status": status,
            "images": {k: {"key": f"images/{k}/{name}", "width": w, "height": w // 2, "size": w * 10}
                       for k, w in (("raw", 1000), ("sg", 320), ("md", 800), ("lg", 1000))}}


def test_shared_objects_are_read_and_written_once(tmp_path):
    reads = []

    def read(key):
        reads.append(key)
        return key.encode()

    page = tmp_path / "g.html"
    entries = write_gallery(page, [record("a.png", "x.png"), record("copy/a.png", "x.png")], read)
    assert sorted(reads) == sorted(f"images/{k}/x.png" for k in ("raw", "sg", "md", "lg"))
    assert (tmp_path / "g-files" / "md" / "x.png").read_bytes() == b"images/md/x.png"
    assert [e.path for e in entries] == ["a.png", "copy/a.png"]
    assert all(r.href == f"g-files/{r.kind}/x.png" for e in entries for r in e.renditions)


def test_paths_and_catalog_values_are_escaped(tmp_path):
    html = render([], title="<t>")
    assert "<t>" not in html and "&lt;t&gt;" in html
    entries = collect([record('<script>alert("x")</script>.png', "y.png")], lambda k: b"", tmp_path,
                      catalog={'<script>alert("x")</script>.png': {"note": "<b>"}})
    page = render(entries, title="t")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<dd><b></dd>" not in page and "<dd>&lt;b&gt;</dd>" in page


def test_variants_are_drawn_to_the_originals_scale(tmp_path):
    page = render(collect([record("a.png", "z.png")], lambda k: b"", tmp_path), title="t")
    assert 'width="300" height="150"' in page  # raw 1000 wide fits the 300 px frame
    assert 'width="96" height="48"' in page  # sg 320 wide at the same scale


@pytest.mark.parametrize("n,text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 * 1048576, "5.0 MB"),
                                    (None, "?")])
def test_human_size(n, text):
    assert human_size(n) == text


def test_https_delivery_urls_are_links_and_other_urls_stay_text(tmp_path):
    rec = record("a.png", "u.png")
    rec["images"]["lg"]["url"] = "https://cdn.example/images/lg/u.png"
    rec["images"]["md"]["url"] = 'javascript:alert("x")'
    page = render(collect([rec], lambda k: b"", tmp_path), title="t")
    assert '<dt>lg url</dt><dd><a href="https://cdn.example/images/lg/u.png">' in page
    assert "<dt>md url</dt><dd>javascript:alert(&#34;x&#34;)</dd>" in page
    assert "raw url" not in page  # no delivery domain for that one: no row
    rec["images"]["sg"]["url"] = "http://127.0.0.1:9/images/sg/u.png"  # the demo's port, gone after the run
    assert "<dd>http://127.0.0.1:9/images/sg/u.png</dd>" in render(collect([rec], lambda k: b"", tmp_path), title="t")


def test_an_original_browsers_do_not_draw_is_linked_with_a_note_not_a_broken_image(tmp_path):
    """A HEIC original (Safari alone draws it) gets a note and a link; its JPEG variants are drawn."""
    rec = record("photos/IMG_1.HEIC", "h.heic")
    for kind in ("sg", "md", "lg"):
        rec["images"][kind]["key"] = f"images/{kind}/h.heic.jpg"
    page = render(collect([rec], lambda k: b"x", tmp_path), title="t")
    assert '<img src="t-files/raw/' not in page and "HEIC: kept as committed" in page
    assert page.count("<img src=") == 3 and page.count(".heic.jpg\" alt=") == 3
