"""A self-contained HTML page of registered images: the original and its sg/md/lg variants side by side.

The image bytes are read back from storage and written as files next to the page, linked by
relative paths, so the page opens in any browser from disk with no server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

KINDS = ("raw", "sg", "md", "lg")
KIND_LABELS = {"raw": "original", "sg": "sg", "md": "md", "lg": "lg"}
# Object names the backend makes are hex digits, '-', and an extension: anything else is not
# written to disk (a storage key never becomes a local path unchecked).
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


@dataclass
class Rendition:
    kind: str
    key: str
    width: int | None
    height: int | None
    size: int | None
    href: str | None = None  # relative to the page; None when it could not be copied


@dataclass
class Entry:
    path: str
    status: str
    hash: str
    renditions: list[Rendition]
    catalog: dict[str, str] = field(default_factory=dict)  # a few catalog attributes worth showing


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def local_name(kind: str, key: str) -> str | None:
    """gallery/<kind>/<name> for a key images/<kind>/<name> with a plain name; None otherwise."""
    prefix = f"images/{kind}/"
    if kind not in KINDS or not key.startswith(prefix):
        return None
    name = key[len(prefix):]
    return f"{kind}/{name}" if _SAFE_NAME.fullmatch(name) and ".." not in name else None


def collect(records: Iterable[Mapping[str, Any]], read_object: Callable[[str], bytes], files_dir: Path,
            catalog: Mapping[str, Mapping[str, str]] | None = None) -> list[Entry]:
    """Entries for the page; each object is read once and written under files_dir (shared ones once)."""
    written: dict[str, str | None] = {}
    entries = []
    for rec in sorted(records, key=lambda r: str(r.get("registered_file", ""))):
        images = rec.get("images") or {}
        renditions = []
        for kind in KINDS:
            info = images.get(kind) or {}
            key = str(info.get("key") or "")
            href = None
            if key:
                if key not in written:
                    written[key] = _copy(key, kind, read_object, files_dir)
                href = written[key]
            renditions.append(Rendition(kind, key, info.get("width"), info.get("height"), info.get("size"), href))
        path = str(rec.get("registered_file", ""))
        entries.append(Entry(path, str(rec.get("status", "")), str(rec.get("hash", "")), renditions,
                             dict((catalog or {}).get(path, {}))))
    return entries


def _copy(key: str, kind: str, read_object: Callable[[str], bytes], files_dir: Path) -> str | None:
    rel = local_name(kind, key)
    if rel is None:
        return None
    target = files_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(read_object(key))
    return f"{quote(files_dir.name)}/{quote(rel)}"


_CSS = """
:root { --ink:#1d2330; --muted:#6b7385; --line:#e3e6ee; --bg:#f6f7fb; --card:#fff; --ok:#1f8a4c; --bad:#c0392b; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink);
       background:var(--bg); }
header { background:#202a3b; color:#fff; padding:28px 40px; }
header h1 { margin:0 0 6px; font-size:26px; letter-spacing:.2px; }
header p { margin:0; color:#c9d1e3; }
.facts { display:flex; flex-wrap:wrap; gap:10px 28px; margin-top:14px; font-size:14px; color:#dfe5f2; }
.facts b { color:#fff; }
main { padding:24px 40px 60px; max-width:1500px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; margin:0 0 22px;
        box-shadow:0 1px 2px rgba(20,30,60,.05); overflow:hidden; }
.card h2 { margin:0; padding:14px 20px; font-size:17px; border-bottom:1px solid var(--line); display:flex;
           align-items:center; gap:12px; flex-wrap:wrap; }
.card h2 code { font-size:16px; }
.badge { font-size:12px; font-weight:600; padding:2px 9px; border-radius:999px; background:#e8f6ee; color:var(--ok); }
.badge.other { background:#fdecea; color:var(--bad); }
.row { display:grid; grid-template-columns:repeat(4, minmax(0, 1fr)); gap:16px; padding:18px 20px; align-items:end; }
figure { margin:0; text-align:center; }
.frame { display:flex; align-items:center; justify-content:center; height:240px; border-radius:8px;
         border:1px solid var(--line);
         background:repeating-conic-gradient(#eef0f5 0% 25%, #fff 0% 50%) 50% / 18px 18px; }
.frame img { max-width:100%; height:auto; }
figcaption { margin-top:8px; font-size:13px; color:var(--muted); }
figcaption b { color:var(--ink); font-size:14px; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; padding:12px 20px 16px;
     border-top:1px solid var(--line); font-size:13px; }
dt { color:var(--muted); } dd { margin:0; font-family:ui-monospace,Menlo,Consolas,monospace; word-break:break-all; }
.missing { color:var(--bad); font-size:13px; }
footer { color:var(--muted); font-size:13px; padding:0 40px 40px; }
@media (max-width: 900px) { .row { grid-template-columns:repeat(2, minmax(0,1fr)); } main, header { padding-left:16px;
  padding-right:16px; } }
"""


FRAME = (300, 236)  # nominal frame in CSS pixels; renditions are drawn to one scale within a card


def _scale(renditions: list[Rendition]) -> float | None:
    """One scale for a card, so the variants appear in their true proportions to the original."""
    raw = next((r for r in renditions if r.kind == "raw" and r.width and r.height), None)
    if raw is None:
        return None
    return min(1.0, FRAME[0] / raw.width, FRAME[1] / raw.height)  # type: ignore[operator]


def _figure(r: Rendition, scale: float | None) -> str:
    dims = f"{r.width}\u00d7{r.height}" if r.width and r.height else "?"
    label = KIND_LABELS[r.kind]
    caption = f"<figcaption><b>{html.escape(label)}</b> \u00b7 {dims} \u00b7 {human_size(r.size)}</figcaption>"
    if r.href is None:
        return f'<figure><div class="frame"><span class="missing">not stored</span></div>{caption}</figure>'
    alt = html.escape(f"{label} {dims}", quote=True)
    size = ""
    if scale and r.width and r.height:
        size = f' width="{max(1, round(r.width * scale))}" height="{max(1, round(r.height * scale))}"'
    return (f'<figure><a href="{html.escape(r.href, quote=True)}" title="open the {html.escape(label)} at full size">'
            f'<div class="frame"><img src="{html.escape(r.href, quote=True)}" alt="{alt}"{size}></div></a>'
            f'{caption}</figure>')


def render(entries: list[Entry], *, title: str, subtitle: str = "", facts: Mapping[str, str] | None = None,
           footer: str = "") -> str:
    """The page's HTML (pure: no I/O). Renditions share one scale per card: a small variant looks small."""
    cards = []
    for e in entries:
        badge = "badge" if e.status == "completed" else "badge other"
        scale = _scale(e.renditions)
        rows = "".join(_figure(r, scale) for r in e.renditions)
        details = {"hash (SHA-256)": e.hash, **e.catalog}
        for r in e.renditions:
            details[f"{r.kind} key"] = r.key or "\u2014"
        dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in details.items())
        cards.append(f'<section class="card" id="{html.escape(e.path, quote=True)}">'
                     f'<h2><code>{html.escape(e.path)}</code><span class="{badge}">{html.escape(e.status)}</span>'
                     f'</h2><div class="row">{rows}</div><dl>{dl}</dl></section>')
    fact_html = "".join(f"<span>{html.escape(k)}: <b>{html.escape(v)}</b></span>" for k, v in (facts or {}).items())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>"
            f"<div class=\"facts\">{fact_html}</div></header>"
            f"<main>{''.join(cards) or '<p>No registered images.</p>'}</main>"
            f"<footer>{html.escape(footer)}</footer></body></html>\n")


def files_dir_for(page: Path) -> Path:
    """The folder beside the page that holds its image files."""
    return page.with_name(f"{page.stem}-files")


def write_page(page: Path, entries: list[Entry], *, title: str = "snail-images gallery", subtitle: str = "",
               facts: Mapping[str, str] | None = None, footer: str = "") -> None:
    page.write_text(render(entries, title=title, subtitle=subtitle, facts=facts, footer=footer), encoding="utf-8")


def write_gallery(page: Path, records: Iterable[Mapping[str, Any]], read_object: Callable[[str], bytes], *,
                  title: str = "snail-images gallery", subtitle: str = "", facts: Mapping[str, str] | None = None,
                  catalog: Mapping[str, Mapping[str, str]] | None = None, footer: str = "") -> list[Entry]:
    """Write `page` and its image files into `<page stem>-files/` beside it; returns the entries shown."""
    entries = collect(records, read_object, files_dir_for(page), catalog)
    write_page(page, entries, title=title, subtitle=subtitle, facts=facts, footer=footer)
    return entries
