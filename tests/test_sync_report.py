"""The pure formatting of a sync's report: progress lines, workflow commands, outputs, summary, results."""

from __future__ import annotations

import io
import json

from snail_action.report import (
    Console,
    Result,
    SyncReport,
    add_mask,
    display_path,
    escape_property,
    progress_line,
    summary_markdown,
    write_outputs,
    write_results,
)


def report_with(*results: Result, **kw) -> SyncReport:
    return SyncReport(mode=kw.pop("mode", "diff"), before="a" * 40, after="b" * 40, results=list(results), **kw)


def test_summary_counts_completed_puts_as_put():
    r = report_with(Result("put", "a.png", "completed", 200), Result("put", "b.png", "unchanged", 200),
                    Result("delete", "c.png", "deleted", 200), Result("put", "d.png", "failed", 500),
                    Result("put", "e.txt", "rejected"), Result("put", "f.png", "planned"))
    assert r.summary() == {"put": 1, "deleted": 1, "unchanged": 1, "failed": 1, "rejected": 1}
    assert not r.ok


def test_progress_line_pads_the_count_and_shows_the_message():
    line = progress_line(7, 120, Result("put", "photos/a.png", "failed", 400, None, "invalid_image: truncated"))
    assert line == "[  7/120] put photos/a.png failed 400 - invalid_image: truncated"


def test_display_path_keeps_unicode_and_escapes_control_characters():
    assert display_path("사진/🐌 a.png") == "사진/🐌 a.png"
    assert display_path("new\nline\t.png") == "new\\nline\\t.png"
    assert display_path(b"caf\xe9.png".decode("utf-8", "surrogateescape")) == "caf\\xe9.png"


def test_annotation_properties_are_escaped():
    assert escape_property("a,b: 100%\n.png") == "a%2Cb%3A 100%25%0A.png"
    buf = io.StringIO()
    Console(buf, actions=True).annotate("error", "x,y.png", "line1\nline2")
    assert buf.getvalue() == "::error file=x%2Cy.png::line1%0Aline2\n"


def test_groups_only_in_actions():
    buf = io.StringIO()
    with Console(buf, actions=False).group("Sending"):
        pass
    assert buf.getvalue() == ""
    with Console(buf, actions=True).group("Sending"):
        pass
    assert buf.getvalue() == "::group::Sending\n::endgroup::\n"


def test_add_mask_masks_every_line_of_a_multiline_secret():
    buf = io.StringIO()
    add_mask("first\nsecond", buf)
    assert buf.getvalue() == "::add-mask::first\n::add-mask::second\n"


def test_outputs_use_a_delimiter_block(tmp_path):
    out = tmp_path / "out"
    write_outputs(out, {"put": 3, "results": "/tmp/with\nnewline.json"})
    text = out.read_text()
    lines = text.splitlines()
    name, delim = lines[0].split("<<")
    assert name == "put" and lines[1] == "3" and lines[2] == delim
    assert "results<<" in text and "/tmp/with\nnewline.json" in text


def test_summary_table_escapes_pipes_and_puts_failures_first():
    r = report_with(Result("put", "ok.png", "completed", 200, "images/raw/x.png"),
                    Result("put", "a|b<c>.png", "failed", 400, None, "bad | worse"))
    md = summary_markdown(r)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and ".png" in ln]
    assert "a\\|b&lt;c&gt;.png" in rows[0] and "bad \\| worse" in rows[0]
    assert "ok.png" in rows[1] and "images/raw/x.png" in rows[1]
    assert "| 1 | 0 | 0 | 1 | 0 |" in md


def test_results_json_matches_the_contract(tmp_path):
    path = tmp_path / "sub" / "results.json"
    write_results(path, report_with(Result("put", "사진.png", "completed", 200, "images/raw/n.png")))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"results": [{"op": "put", "path": "사진.png", "outcome": "completed", "http_status": 200,
                                 "stored_key": "images/raw/n.png", "message": ""}],
                    "summary": {"put": 1, "deleted": 0, "unchanged": 0, "failed": 0, "rejected": 0},
                    "range": {"before": "a" * 40, "after": "b" * 40, "basis": "", "why": ""},
                    "synced_commit": None, "notes": []}


def test_results_json_survives_a_name_that_is_not_utf8(tmp_path):
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    path = tmp_path / "results.json"
    write_results(path, report_with(Result("put", name, "rejected", None, None, "not UTF-8")))
    assert json.loads(path.read_text())["results"][0]["outcome"] == "rejected"


def test_summary_cells_are_data_never_markdown_or_html():
    names = ["![t](http://evil.example/t.png).png", "<img src=x onerror=alert(1)>.png", "**bold**_i_`c`~s~.png",
             "line\nbreak | cell.png", "&lt;ent&gt;.png", "[link](javascript:alert(1)).png"]
    r = report_with(*[Result("put", n, "failed", 400, None, f"server said: {n}") for n in names])
    md = summary_markdown(r)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ❌")]
    assert len(rows) == len(names)  # a newline in a name never starts a new line of markdown
    for row in rows:
        cells = row.split(" | ")
        assert len(cells) == 7  # `|` inside a name or message never makes a new cell (only `\|`)
    for bad in ("![", "](", "<img", "**", "`c`", "&lt;ent", "[link]"):
        assert bad not in md
    assert "\\!\\[t\\]\\(http://evil.example/t.png\\).png" in md
    assert "&amp;lt;ent&amp;gt;.png" in md


def test_summary_stays_well_under_githubs_size_cap_with_long_names_and_messages():
    long_name = "/".join(["가" * 60] * 5) + ".png"  # about 900 bytes, as git allows
    results = [Result("put", f"{i}{long_name}", "failed", 500, None, "x" * 5000) for i in range(1000)]
    md = summary_markdown(report_with(*results))
    assert len(md.encode()) < 600 * 1024  # GitHub drops a summary above 1 MiB whole
    assert "more rows: see the results JSON." in md
    assert "x" * 301 not in md  # a long server message is cut in the table (the results JSON has it all)


def _runner_unescape(text: str, prop: bool) -> str:
    """What the Actions runner does to command data and properties (ActionCommand.Unescape*)."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else []) + [("%25", "%")]
    for escaped, plain in pairs:
        text = text.replace(escaped, plain)
    return text


def test_error_annotation_round_trips_through_the_runners_unescaping():
    path = "dir: a,b/100% done\r\n%0A::x.png"
    message = "put failed: 50% of\r\nthe body, key: value"
    buf = io.StringIO()
    Console(buf, actions=True).annotate("error", path, message)
    line = buf.getvalue()
    assert line.count("\n") == 1 and line.endswith("\n")  # one workflow command, one line
    head, data = line[:-1].split("::", 2)[1:]
    assert head.startswith("error file=")
    assert "," not in head and head.count(":") == 0  # nothing ends the property early
    assert _runner_unescape(head[len("error file="):], prop=True) == path
    assert _runner_unescape(data, prop=False) == message


def test_console_lines_from_many_threads_never_interleave():
    import threading

    class SlowStream(io.StringIO):
        def write(self, s):  # a write that yields mid-way, as a pipe to the runner may
            import time

            n = super().write(s)
            time.sleep(0)
            return n

    stream = SlowStream()
    console = Console(stream)
    lines = [f"thread {t} line {i}" for t in range(8) for i in range(200)]

    def work(t):
        for i in range(200):
            console.line(f"thread {t} line {i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(stream.getvalue().splitlines()) == sorted(lines)
