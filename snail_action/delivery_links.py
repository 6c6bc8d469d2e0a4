"""Delivery URLs on the client side: what the backend's answers say, the `urls` file, and the job
summary's table of links and thumbnails. The sync calls `urls_of` for each registration answer and
`finish_extras` once at the end; nothing else here touches the sync.

A URL is kept only when it is plain http(s) with no characters that could end a markdown link or an
HTML attribute: the summary is rendered by GitHub, and a URL is data from the backend.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from .report import SyncReport, _cell

KINDS = ("raw", "sg", "md", "lg")
_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~%/+=@,;-]*)?")
THUMBNAIL_ROW_LIMIT = 200  # rows with images in the summary; the urls file has them all


def _plain_url(value: Any) -> str | None:
    return value if isinstance(value, str) and _URL.fullmatch(value) else None


def urls_of(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{kind: {"url": ..., "path_url": ...}} from a registration answer; {} when it has no delivery URLs."""
    raw_images = body.get("images")
    images: dict[str, Any] = raw_images if isinstance(raw_images, dict) else {}
    out: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        raw_info = images.get(kind)
        info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        found = {name: url for name in ("url", "path_url") if (url := _plain_url(info.get(name)))}
        if "url" in found:
            out[kind] = found
    return out


def urls_map(report: SyncReport) -> dict[str, dict[str, dict[str, str]]]:
    """Each put path with delivery URLs -> its URLs (the `urls` output's file)."""
    return {r.path: r.urls for r in sorted(report.results, key=lambda r: r.path) if r.op == "put" and r.urls}


def write_urls(path: Path, report: SyncReport) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(urls_map(report), ensure_ascii=True, indent=1)  # paths may hold any bytes: ASCII-safe
    path.write_text(text + "\n", encoding="utf-8")


def urls_markdown(report: SyncReport) -> str:
    """The summary's image table: an `sg` thumbnail (https only: GitHub shows no other) and links."""
    rows = [r for r in sorted(report.results, key=lambda r: r.path) if r.op == "put" and r.urls]
    if not rows:
        return ""
    lines = ["", "#### Images", "", "| | path | " + " | ".join(KINDS) + " |", "| --- | --- |" + " --- |" * len(KINDS)]
    for r in rows[:THUMBNAIL_ROW_LIMIT]:
        urls = r.urls or {}
        sg = urls.get("sg", {}).get("url", "")
        thumb = (f'<img src="{html.escape(sg, quote=True)}" height="48" alt="">' if sg.startswith("https://")
                 else "")
        links = [f"[{kind}]({urls[kind]['url']})" if kind in urls else "" for kind in KINDS]
        lines.append(f"| {thumb} | {_cell(r.path)} | " + " | ".join(links) + " |")
    if len(rows) > THUMBNAIL_ROW_LIMIT:
        lines.append(f"\n…and {len(rows) - THUMBNAIL_ROW_LIMIT} more images: see the `urls` file.")
    return "\n".join(lines) + "\n"


def finish_extras(report: SyncReport, results_path: Path | None) -> tuple[dict[str, str], str]:
    """At the end of a run: the `urls` file beside the results file, its step output, and the summary's
    image table (empty when no answer carried delivery URLs)."""
    outputs = {"urls": ""}
    if results_path is not None:
        urls_path = results_path.with_name(f"{results_path.stem}-urls.json")
        write_urls(urls_path, report)
        outputs["urls"] = str(urls_path)
    return outputs, urls_markdown(report)
