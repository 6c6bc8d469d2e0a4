"""A self-contained HTML page of registered images: the original and its sg/md/lg variants side by side.

The image bytes are read back (the demo fetches them through their delivery URLs) and written as files
next to the page, linked by relative paths, so the page opens in any browser from disk with no server.
The page is rendered from the packaged template templates/gallery.html.j2 with autoescape on: every
path, status and catalog value is escaped by Jinja2, none by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
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
    url: str | None = None  # the delivery URL the backend gave, when it has a delivery domain


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
            renditions.append(Rendition(kind, key, info.get("width"), info.get("height"), info.get("size"), href,
                                        info.get("url")))
        path = str(rec.get("registered_file", ""))
        entries.append(Entry(path, str(rec.get("status", "")), str(rec.get("hash", "")), renditions,
                             dict((catalog or {}).get(path, {}))))
    return entries


def _copy(key: str, kind: str, read_object: Callable[[str], bytes], files_dir: Path) -> str | None:
    rel = local_name(kind, key)
    if rel is None:
        return None
    try:
        data = read_object(key)
    except OSError:  # the reader notes why; the page shows "not stored" for it
        return None
    target = files_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return f"{quote(files_dir.name)}/{quote(rel)}"


# Originals kept in formats most browsers do not draw (Safari alone shows HEIC; none shows TIFF): the
# page says so and links the file instead of showing a broken image. Their variants are JPEG or PNG.
NOT_DRAWN_BY_BROWSERS = {"heic": "HEIC", "heif": "HEIF", "tif": "TIFF", "tiff": "TIFF"}

FRAME = (300, 236)  # nominal frame in CSS pixels; renditions are drawn to one scale within a card


def _scale(renditions: list[Rendition]) -> float | None:
    """One scale for a card, so the variants appear in their true proportions to the original."""
    raw = next((r for r in renditions if r.kind == "raw" and r.width and r.height), None)
    if raw is None:
        return None
    return min(1.0, FRAME[0] / raw.width, FRAME[1] / raw.height)  # type: ignore[operator]


def _figure(r: Rendition, scale: float | None) -> dict[str, Any]:
    size = None
    if scale and r.width and r.height:
        size = (max(1, round(r.width * scale)), max(1, round(r.height * scale)))
    ext = r.key.rsplit(".", 1)[-1].lower() if "." in r.key else ""
    return {"href": r.href, "label": KIND_LABELS[r.kind], "size": size, "bytes": human_size(r.size),
            "not_drawn": NOT_DRAWN_BY_BROWSERS.get(ext),
            "dims": f"{r.width}\u00d7{r.height}" if r.width and r.height else "?"}


def _details(e: Entry) -> list[tuple[str, str]]:
    details = {"hash (SHA-256)": e.hash, **e.catalog}
    for r in e.renditions:
        details[f"{r.kind} key"] = r.key or "\u2014"
        if r.url:
            details[f"{r.kind} url"] = r.url
    return [(k, str(v)) for k, v in details.items()]


@cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("snail_action.demo", "templates"), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    # A CDN's https URL outlives the demo; the local delivery port's http URLs stop with it: shown as text.
    env.tests["link"] = lambda v: isinstance(v, str) and v.startswith("https://")
    return env.get_template("gallery.html.j2")


def render(entries: list[Entry], *, title: str, subtitle: str = "", facts: Mapping[str, str] | None = None,
           footer: str = "") -> str:
    """The page's HTML (pure: no I/O). Renditions share one scale per card: a small variant looks small."""
    cards = [{"entry": e, "figures": [_figure(r, _scale(e.renditions)) for r in e.renditions], "details": _details(e)}
             for e in entries]
    return str(_template().render(title=title, subtitle=subtitle, facts=dict(facts or {}), cards=cards,
                                  footer=footer))


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
