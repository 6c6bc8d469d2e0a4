"""What a sync tells people and machines: progress lines, GitHub workflow commands, step outputs,
the job summary table and the results JSON (docs/action.md, "Results JSON"; `sync --results`).

Pure formatting plus small writers that take the file path or stream they write to.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

OUTCOMES = ("completed", "unchanged", "deleted", "failed", "rejected", "planned")
SUMMARY_KEYS = ("put", "deleted", "unchanged", "failed", "rejected")
SUMMARY_ROW_LIMIT = 1000  # GitHub caps a step summary at 1 MiB; the results JSON has every row
SUMMARY_BYTE_BUDGET = 512 * 1024  # ...and drops a larger one whole, so the table stops well before that
MESSAGE_CELL_LIMIT = 300  # characters of a server's message shown in the table


@dataclass
class Result:
    op: str  # put | delete
    path: str
    outcome: str
    http_status: int | None = None
    stored_key: str | None = None
    message: str = ""
    urls: dict[str, dict[str, str]] | None = None  # kind -> url, path_url: with a delivery domain (delivery_links)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "path": self.path, "outcome": self.outcome,
                               "http_status": self.http_status, "stored_key": self.stored_key, "message": self.message}
        if self.urls:
            out["urls"] = self.urls
        return out

    @property
    def is_failure(self) -> bool:
        return self.outcome in ("failed", "rejected")


@dataclass
class SyncReport:
    mode: str
    before: str | None
    after: str | None
    dry_run: bool = False
    results: list[Result] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), not failures
    skipped: int = 0
    setup_error: str | None = None  # the API refused the credentials: the run stopped sending
    basis: str = ""  # why this range: marker | event | input | head | reconcile
    why: str = ""  # the same for people: "the sync marker (an ancestor of after)"
    synced_commit: str | None = None  # the backend's sync marker after the run
    notes: list[str] = field(default_factory=list)  # what happened to the marker, for people

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(SUMMARY_KEYS, 0)
        for r in self.results:
            if r.outcome == "completed":
                counts["put"] += 1
            elif r.outcome in counts:
                counts[r.outcome] += 1
        return counts

    @property
    def planned(self) -> int:
        return sum(1 for r in self.results if r.outcome == "planned")

    @property
    def ok(self) -> bool:
        return not any(r.is_failure for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"results": [r.to_json() for r in self.results], "summary": self.summary(),
                "range": {"before": self.before, "after": self.after, "basis": self.basis, "why": self.why},
                "synced_commit": self.synced_commit, "notes": list(self.notes)}


# -- text for people -----------------------------------------------------------------------------

def display_path(path: str) -> str:
    """A path on one terminal line: control characters and bytes that were not UTF-8 shown escaped."""
    out: list[str] = []
    for ch in path:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def safe_text(text: str) -> str:
    """Text that can be written as UTF-8 whatever bytes a git path held."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def one_line(text: str) -> str:
    """Text from elsewhere (a server's message, a library's error) on one log line: every run of
    whitespace or control characters becomes one space. A newline in it could otherwise start a
    line of its own, which the Actions runner would read as a workflow command (`::add-mask::`...)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def progress_line(index: int, total: int, result: Result) -> str:
    """`[12/500] put photos/a.png completed 200`, plus the message where there is one."""
    width = len(str(total))
    parts = [f"[{index:>{width}}/{total}]", result.op, display_path(result.path), result.outcome]
    if result.http_status is not None:
        parts.append(str(result.http_status))
    line = " ".join(parts)
    if result.message:
        line += f" - {one_line(result.message)}"
    return line


def summary_line(report: SyncReport) -> str:
    s = report.summary()
    text = ", ".join(f"{k} {v}" for k, v in s.items())
    if report.dry_run:
        text = f"planned {report.planned}, " + text
    return text


# -- GitHub workflow commands ----------------------------------------------------------------------

def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_prefix(repo_root: Path | None, workspace: Path | None) -> str:
    """What to put before a repository path in `::error file=`: GitHub resolves that name against
    the workspace, so an image repository checked out into a subfolder (`path:` of actions/checkout)
    needs the folder in front. Outside the workspace nothing would link; the path is left as is."""
    if repo_root is None or workspace is None:
        return ""
    try:
        rel = Path(repo_root).resolve().relative_to(Path(workspace).resolve())
    except (OSError, ValueError):
        return ""
    return "" if str(rel) == "." else rel.as_posix() + "/"


class Console:
    """Progress lines on a stream, plus workflow commands when running in GitHub Actions."""

    def __init__(self, stream: TextIO | None = None, actions: bool = False, file_prefix: str = ""):
        self.stream = stream or sys.stdout
        self.actions = actions
        self.file_prefix = file_prefix
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        # One write per line under a lock: retry notes come from worker threads while the main thread
        # prints progress, and print() writes the text and its newline separately, so two lines could
        # interleave (and a workflow command not at the start of a line is not one).
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.actions:
            self.line(f"::group::{escape_data(title)}")
        try:
            yield
        finally:
            if self.actions:
                self.line("::endgroup::")

    def annotate(self, level: str, path: str, message: str) -> None:
        if self.actions:
            path = safe_text(self.file_prefix + path)
            self.line(f"::{level} file={escape_property(path)}::{escape_data(safe_text(message))}")
        else:
            self.line(f"{level}: {display_path(path)}: {one_line(message)}")


def add_mask(value: str, stream: TextIO | None = None) -> None:
    """Tell the runner to hide `value` in every later log line (before anything could print it)."""
    for part in value.splitlines() or [value]:
        if part.strip():
            # The runner unescapes command data (%25 -> %): a `%` in the secret must be sent escaped.
            print(f"::add-mask::{escape_data(part.strip())}", file=stream or sys.stdout, flush=True)


def write_outputs(path: Path, values: Mapping[str, object]) -> None:
    """Append step outputs to $GITHUB_OUTPUT in the multi-line form, safe for any value."""
    with path.open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            text = str(value)
            delimiter = f"snail_{secrets.token_hex(8)}"
            fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")


def outputs_for(report: SyncReport, results_path: Path | None) -> dict[str, object]:
    out: dict[str, object] = dict(report.summary())
    out["results"] = str(results_path) if results_path else ""
    out["synced-commit"] = report.synced_commit or ""
    return out


# -- the job summary ----------------------------------------------------------------------------

# Inline markdown only: a table cell holds no blocks, so `#`, `-`, `+` and `.` mean nothing there.
_MARKDOWN_SPECIAL = frozenset("\\`*_[]()!~|")


def _cell(text: object) -> str:
    """Text shown as itself in a table cell: a file name is data, never markdown or HTML.

    One line (display_path escapes newlines), `&<>` as entities (no tags, no entity tricks), and a
    backslash before every character markdown gives a meaning to, `|` included (it ends a cell).
    """
    s = display_path(str(text)) if text is not None else ""
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in s)


_ICON = {"completed": "✅", "unchanged": "➖", "deleted": "🗑️", "failed": "❌", "rejected": "⛔", "planned": "📝"}


def summary_markdown(report: SyncReport, rows: Iterable[Result] | None = None) -> str:
    rows = list(report.results if rows is None else rows)
    s = report.summary()
    title = "snail-images " + ("check" if report.mode == "check" else f"sync ({report.mode}"
                                                                        f"{', dry run' if report.dry_run else ''})")
    rng = f"`{(report.before or 'nothing')[:12]}` → `{(report.after or '')[:12]}`"
    why = f" from {_cell(report.why)}" if report.why else ""
    lines = [f"### {title}", "", f"Range: {rng}{why}", ""]
    if report.synced_commit or report.notes:
        marker = f"`{report.synced_commit[:12]}`" if report.synced_commit else "not set"
        lines += [f"Sync marker after the run: {marker}", ""] + [f"- {_cell(n)}" for n in report.notes] + [""]
    lines += [
             "| put | deleted | unchanged | failed | rejected |", "| ---: | ---: | ---: | ---: | ---: |",
             f"| {s['put']} | {s['deleted']} | {s['unchanged']} | {s['failed']} | {s['rejected']} |", ""]
    if report.dry_run:
        lines += [f"Planned, not sent: {report.planned}", ""]
    if rows:
        # Failures first: on a long run they are what a person opens the summary for.
        ordered = sorted(rows, key=lambda r: not r.is_failure)
        lines += ["| | op | path | outcome | HTTP | stored key | message |",
                  "| --- | --- | --- | --- | ---: | --- | --- |"]
        used = shown = 0
        for r in ordered[:SUMMARY_ROW_LIMIT]:
            message = r.message if len(r.message) <= MESSAGE_CELL_LIMIT else r.message[:MESSAGE_CELL_LIMIT] + "…"
            row = (f"| {_ICON.get(r.outcome, '')} | {r.op} | {_cell(r.path)} | {r.outcome} | "
                   f"{r.http_status if r.http_status is not None else ''} | {_cell(r.stored_key or '')} | "
                   f"{_cell(message)} |")
            used += len(row.encode("utf-8", "replace")) + 1
            if used > SUMMARY_BYTE_BUDGET:
                break
            lines.append(row)
            shown += 1
        if len(ordered) > shown:
            lines.append(f"\n…and {len(ordered) - shown} more rows: see the results JSON.")
    else:
        lines.append("Nothing to send.")
    if report.warnings:
        lines += ["", "Warnings:", ""] + [f"- {_cell(p)}: {_cell(m)}" for p, m in report.warnings]
    return "\n".join(lines) + "\n"


def append_summary(path: Path, markdown: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown)


def json_text(value: Any, indent: int | None = None) -> str:
    """JSON with non-ASCII text as itself; all escaped when a file name is not UTF-8 (surrogates),
    which could not be written as UTF-8 otherwise."""
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, indent=indent)
    return text


def write_results(path: Path, report: SyncReport) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(report.to_json(), indent=1) + "\n", encoding="utf-8")
