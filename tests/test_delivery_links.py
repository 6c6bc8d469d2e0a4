"""The client's delivery links: only plain http(s) URLs are kept from an answer, the summary's table
escapes paths, shows `sg` thumbnails only for https, and the `urls` file maps put paths to URLs."""

from __future__ import annotations

import json

from snail_action.delivery_links import finish_extras, urls_markdown, urls_of
from snail_action.report import Result, SyncReport

CDN = "https://d111111abcdef8.cloudfront.net"


def answer(path: str, base: str = CDN, **overrides: str) -> dict:
    images = {k: {"key": f"images/{k}/0123abcd.png", "url": f"{base}/images/{k}/0123abcd.png",
                  "path_url": f"{base}/{k}/{path}"} for k in ("raw", "sg", "md", "lg")}
    for kind, url in overrides.items():
        images[kind]["url"] = url
    return {"registered_file": path, "status": "completed", "images": images}


def test_only_plain_http_urls_are_kept():
    got = urls_of(answer("a.png", md='javascript:alert(1)', lg='https://x.example/a"><script>'))
    assert set(got) == {"raw", "sg"}
    assert got["sg"] == {"url": f"{CDN}/images/sg/0123abcd.png", "path_url": f"{CDN}/sg/a.png"}
    assert urls_of({"images": {"raw": {"key": "images/raw/x.png"}}}) == {}  # no delivery domain: nothing
    assert urls_of({"images": "nonsense"}) == {}


def report_with(*results: Result) -> SyncReport:
    return SyncReport(mode="push", before=None, after="a" * 40, results=list(results))


def test_summary_table_escapes_paths_and_shows_https_thumbnails():
    path = "weird|<b>name</b>[x](y).png"
    r = Result("put", path, "completed", 200, "images/raw/0123abcd.png", "", urls_of(answer("w.png")))
    md = urls_markdown(report_with(r, Result("delete", "gone.png", "deleted", 200)))
    (row,) = [line for line in md.splitlines() if line.startswith("| <img")]
    assert f'<img src="{CDN}/images/sg/0123abcd.png" height="48" alt="">' in row
    assert "<b>" not in row and "&lt;b&gt;" in row and "weird\\|" in row and "\\[x\\]\\(y\\)" in row
    assert f"[lg]({CDN}/images/lg/0123abcd.png)" in row
    assert "gone.png" not in md
    local = Result("put", "l.png", "completed", 200, None, "", urls_of(answer("l.png", base="http://127.0.0.1:8")))
    assert "<img" not in urls_markdown(report_with(local)) and "[raw](http://127.0.0.1:8/" in urls_markdown(
        report_with(local))
    assert urls_markdown(report_with(Result("put", "n.png", "completed", 200))) == ""


def test_the_urls_file_sits_beside_the_results_and_maps_each_put_path(tmp_path):
    results = tmp_path / "run" / "results.json"
    done = Result("put", "사진/a.png", "completed", 200, None, "", urls_of(answer("a.png")))
    failed = Result("put", "b.png", "failed", 500, None, "boom")
    outputs, md = finish_extras(report_with(done, failed), results)
    assert outputs == {"urls": str(tmp_path / "run" / "results-urls.json")}
    assert json.loads((tmp_path / "run" / "results-urls.json").read_text()) == {"사진/a.png": done.urls}
    assert "#### Images" in md
    assert finish_extras(report_with(done), None) == ({"urls": ""}, urls_markdown(report_with(done)))
