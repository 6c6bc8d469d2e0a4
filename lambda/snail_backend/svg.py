"""SVG originals: whether one is safe to serve from the bucket's domain, and the size it declares.

An SVG in the bucket is served as `image/svg+xml` from the bucket's own domain, where a script in
it would run with that domain's rights. So an SVG is stored only when it is a plain drawing:
- parsed with defusedxml: no entity declarations at all (entity bombs, external entities), no
  external DTD fetched;
- no `<script>`, no `<foreignObject>` (HTML inside the drawing), no `on*` event attribute;
- no reference outside the file: every `href` is a fragment (`#id`) or an embedded raster
  (`data:image/png|jpeg|gif|webp;base64,...`); no `url(...)` but `url(#id)` in attributes or
  `<style>`, no `@import`, no `xml-stylesheet` processing instruction; no `javascript:` anywhere
  (an `<animate>`/`<set>` can write one into an `href`).
Anything else is refused with the reason, never "cleaned": the stored original is the user's bytes.

The size is the root's `width`/`height` (px, or an absolute unit converted at 96 dpi), else its
`viewBox`; each side must be at most MAX_SVG_SIDE and the area within the pixel limit.

The drawing's nesting is bounded too (MAX_SVG_DEPTH, counting what each `<use>` brings in): resvg
recurses once per level and, measured with resvg-py 0.5.0, crashed the whole process (a segmentation
fault, not an exception) from about 245 nested groups, or a chain of 200 `<use>`s.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
import xml.etree.ElementTree as ET  # noqa: S405 -- only its TreeBuilder; parsing is defusedxml's
from dataclasses import dataclass

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError
from PIL import Image

SVG_NS = "{http://www.w3.org/2000/svg}"
# The largest width or height an SVG may declare, in CSS pixels: 16384 is the largest canvas side
# Chrome and Safari draw. The variants are drawn at their own sizes (320/800/1600) whatever it is.
MAX_SVG_SIDE = 16384
# Deepest nesting drawn, a `<use>` counting as the depth of what it refers to. Real icons and
# illustrations nest under 20; resvg crashed from about 245 (see above).
MAX_SVG_DEPTH = 100
# Masks, patterns, markers, symbols, clip paths and filters in an SVG whose <style> draws such
# elements in by class (the walk cannot follow CSS selectors): a chain of them is at most this long.
MAX_STYLED_CONTAINERS = 40
# px per unit at CSS's 96 dpi
_UNITS = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
          "q": 96 / 101.6}
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*")
_DATA_RASTER = re.compile(r"data:image/(png|jpeg|jpg|gif|webp);base64,", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\(\s*['\"]?\s*#([^)'\"\s]+)", re.IGNORECASE)
_URL = re.compile(r"url\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)
_SCRIPT_SCHEME = re.compile(r"(java|vb)script\s*:", re.IGNORECASE)
_FORBIDDEN_ELEMENTS = {"script": "a <script> element", "foreignobject": "a <foreignObject> element (HTML inside)",
                       "iframe": "an <iframe> element", "embed": "an <embed> element", "object": "an <object> element"}


class UnsafeSvg(ValueError):
    """The SVG is refused; the message says why, for a person."""


@dataclass(frozen=True)
class Drawing:
    width: int  # declared size, CSS pixels, rounded
    height: int
    text: str  # the document as text, for the renderer


def looks_like_svg(data: bytes) -> bool:
    """Markup, not a raster: no raster format this project reads starts with '<'."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _strip(control: str) -> str:
    return "".join(ch for ch in control if ch > " ")  # "java\tscript:" is javascript: to a browser


class _Builder(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.instructions: list[str] = []

    def pi(self, target, text=None):  # processing instructions, even before the root (xml-stylesheet)
        self.instructions.append(target)
        return super().pi(target, text)


def _parse(data: bytes) -> tuple[ET.Element, list[str]]:
    builder = _Builder()
    parser = DefusedXMLParser(target=builder)  # entities and external references forbidden
    try:
        parser.feed(data)
        root = parser.close()
    except EntitiesForbidden as exc:
        what = "an external entity" if exc.sysid or exc.pubid else "an entity declaration (entity bombs)"
        raise UnsafeSvg(f"unsafe SVG: it declares {what} ({exc.name!r}): export it without entities") from None
    except (DTDForbidden, ExternalReferenceForbidden) as exc:
        raise UnsafeSvg(f"unsafe SVG: external reference in its DTD ({exc})") from None
    except ParseError as exc:
        raise UnsafeSvg(f"not a well-formed SVG: {exc}") from None
    return root, builder.instructions


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_refs(text: str, where: str) -> None:
    if _SCRIPT_SCHEME.search(_strip(text)):
        raise UnsafeSvg(f"unsafe SVG: a javascript: URL in {where}")
    for target in _URL.findall(text):
        if not target.startswith("#"):
            raise UnsafeSvg(f"unsafe SVG: an external reference url({target[:60]}) in {where}: embed it or remove it")
    if "@import" in text.lower():
        raise UnsafeSvg(f"unsafe SVG: an @import in {where}")


def _check_element(el: ET.Element) -> None:
    tag = _local(el.tag) if isinstance(el.tag, str) else ""
    if tag in _FORBIDDEN_ELEMENTS:
        raise UnsafeSvg(f"unsafe SVG: it contains {_FORBIDDEN_ELEMENTS[tag]}")
    for name, value in el.attrib.items():
        local = _local(name)
        if local.startswith("on"):
            raise UnsafeSvg(f"unsafe SVG: an event attribute {local}= on <{tag}>")
        if local == "href":
            ref = _strip(value)
            if not (ref.startswith("#") or _DATA_RASTER.match(ref)):
                raise UnsafeSvg(f"unsafe SVG: <{tag}> refers to {ref[:60]!r}: only #fragments and embedded "
                                "PNG/JPEG/GIF/WebP images are allowed")
        _check_refs(value, f"the {local}= attribute of <{tag}>")
    if tag == "style" and el.text:
        _check_refs(el.text, "a <style> element")
    elif el.text and _SCRIPT_SCHEME.search(_strip(el.text)):
        raise UnsafeSvg(f"unsafe SVG: a javascript: URL in <{tag}>")


def _references(el: ET.Element) -> list[str]:
    """The ids an element draws in: a `#fragment` href, and every `url(#id)` in its attributes
    (mask, clip-path, fill, filter, marker and style="..." alike)."""
    ids = []
    for name, value in el.attrib.items():
        if _local(name) == "href" and value.strip().startswith("#"):
            ids.append(value.strip()[1:])
        ids.extend(_LOCAL_URL.findall(value))
    return ids


_DEFINITIONS = {"mask", "pattern", "marker", "symbol", "clippath", "filter"}  # what a reference draws in


def _check_depth(root: ET.Element) -> None:
    """Refuse a drawing nested deeper than MAX_SVG_DEPTH, counting what each reference draws in (a
    `<use>`, a mask, a pattern fill...), and reference cycles."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    too_deep = (f"the SVG nests deeper than {MAX_SVG_DEPTH} levels (counting what each <use>, mask or "
                "pattern draws in): flatten it")
    memo: dict[int, int] = {}
    active: set[int] = set()

    def depth(el: ET.Element, level: int) -> int:
        if level > MAX_SVG_DEPTH:
            raise UnsafeSvg(too_deep)
        key = id(el)
        if key in memo:
            if level + memo[key] - 1 > MAX_SVG_DEPTH:
                raise UnsafeSvg(too_deep)
            return memo[key]
        if key in active:
            raise UnsafeSvg("the SVG has a reference (a <use>, mask or pattern) that draws itself in")
        active.add(key)
        below = [depth(child, level + 1) for child in el]
        below += [depth(by_id[ref], level + 1) for ref in _references(el) if ref in by_id]
        active.discard(key)
        memo[key] = 1 + max(below, default=0)
        return memo[key]

    depth(root, 1)
    # A stylesheet can draw masks and patterns in by class, beyond what the walk above follows: then
    # their number bounds any chain of them.
    styled = {ref for el in root.iter() if isinstance(el.tag, str) and _local(el.tag) == "style"
              for ref in _LOCAL_URL.findall(el.text or "")}
    definitions = [el for el in root.iter() if isinstance(el.tag, str) and _local(el.tag) in _DEFINITIONS]
    if any(ref in by_id and _local(str(by_id[ref].tag)) in _DEFINITIONS for ref in styled) \
            and len(definitions) > MAX_STYLED_CONTAINERS:
        raise UnsafeSvg(f"the SVG's stylesheet draws in masks or patterns and it has {len(definitions)} of them "
                        f"(at most {MAX_STYLED_CONTAINERS}): use attributes instead of classes, or fewer")


def _check_embedded(root: ET.Element, max_pixels: int) -> None:
    """An embedded raster is decoded by the renderer: it must be a readable PNG/JPEG/GIF/WebP within
    the pixel limit too (a small base64 PNG can declare 50000x50000)."""
    for el in root.iter():
        for name, value in el.attrib.items():
            ref = _strip(value)
            match = _DATA_RASTER.match(ref) if _local(name) == "href" else None
            if not match:
                continue
            try:
                raster = base64.b64decode(ref[match.end():], validate=False)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    with Image.open(io.BytesIO(raster), formats=["PNG", "JPEG", "GIF", "WEBP"]) as im:
                        width, height = im.size
            except Image.DecompressionBombError as exc:
                raise UnsafeSvg(f"an embedded image of the SVG is over the decompression bomb limit: {exc}") from None
            except (ValueError, OSError) as exc:
                raise UnsafeSvg(f"an embedded image of the SVG is not a readable PNG, JPEG, GIF or WebP: "
                                f"{exc}") from None
            if width * height > max_pixels:
                raise UnsafeSvg(f"an embedded image of the SVG is {width}x{height}, over the limit of {max_pixels} "
                                "pixels")


def _length(value: str | None) -> float | None:
    """A length in CSS px; None when absent, relative (%, em) or not a number."""
    if value is None:
        return None
    match = _LENGTH.fullmatch(value)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _declared_size(root: ET.Element) -> tuple[float, float]:
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = None
    if root.get("viewBox"):
        parts = root.get("viewBox", "").replace(",", " ").split()
        try:
            box = [float(p) for p in parts] if len(parts) == 4 else None
        except ValueError:
            box = None
    if box and box[2] > 0 and box[3] > 0:
        # A missing side follows the viewBox's aspect ratio, as a browser draws it.
        if width is None and height is None:
            width, height = box[2], box[3]
        elif width is None:
            width = height * box[2] / box[3]  # type: ignore[operator]
        elif height is None:
            height = width * box[3] / box[2]
    if width is None or height is None:
        raise UnsafeSvg("the SVG declares no size: give its root width and height, or a viewBox")
    return width, height


def inspect(data: bytes, max_pixels: int) -> Drawing:
    """Parse and check an SVG; raise UnsafeSvg with the reason, else its declared size and text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsafeSvg("not an SVG in UTF-8: save it as UTF-8") from None
    root, instructions = _parse(data)
    if not isinstance(root.tag, str) or root.tag != SVG_NS + "svg":
        raise UnsafeSvg(f"not an SVG: the root element is <{root.tag}>, not <svg> in the SVG namespace")
    if "xml-stylesheet" in instructions:
        raise UnsafeSvg("unsafe SVG: an xml-stylesheet instruction (an external style sheet)")
    for el in root.iter():
        _check_element(el)
    _check_depth(root)
    _check_embedded(root, max_pixels)
    width, height = _declared_size(root)
    if not (0 < width <= MAX_SVG_SIDE and 0 < height <= MAX_SVG_SIDE):
        raise UnsafeSvg(f"the SVG declares {width:g}x{height:g} px: each side must be from 1 to {MAX_SVG_SIDE}")
    w, h = max(1, round(width)), max(1, round(height))
    if w * h > max_pixels:
        raise UnsafeSvg(f"the SVG declares {w}x{h} px, over the limit of {max_pixels} pixels")
    return Drawing(w, h, text)
