"""docs/imaging.md states the facts the code holds: the extensions, the variant-format table, the SVG limit."""

from __future__ import annotations

import re
from pathlib import Path

from snail_backend.formats import EXTENSIONS, SUPPORTED_LIST, variant_format
from snail_backend.svg import MAX_SVG_SIDE

DOC = (Path(__file__).resolve().parent.parent / "docs" / "imaging.md").read_text(encoding="utf-8")
NAMES = {"JPEG (and MPO)": ["JPEG", "MPO"], "PNG": ["PNG"], "GIF": ["GIF"], "WebP": ["WEBP"], "AVIF": ["AVIF"],
         "TIFF, BMP, HEIC/HEIF": ["TIFF", "BMP", "HEIF"], "SVG": ["SVG"]}


def test_the_extension_list_is_the_code_s() -> None:
    listed = re.search(r"Images are recognised by extension, case-insensitively: (.+?)\. Everything", DOC, re.S)
    assert listed and re.findall(r"`(\w+)`", listed.group(1)) == list(EXTENSIONS)
    assert f"supported image extension ({SUPPORTED_LIST})" in " ".join(DOC.split())
    table = {m.group(1) for ext in EXTENSIONS for m in re.finditer(rf"^\| [^|]*`({ext})`", DOC, re.M)}
    assert table == set(EXTENSIONS)


def test_the_variant_format_table_is_the_code_s() -> None:
    rows = dict(re.findall(r"^\| (.+?) \| (JPEG|PNG|GIF|WebP|AVIF)[^|]* \| `images/", DOC, re.M))
    assert set(rows) == set(NAMES)
    for row, originals in NAMES.items():
        want = {"WebP": "WEBP"}.get(rows[row], rows[row])
        for original in originals:
            assert variant_format(original, transparent=False) == want, row
            if original in ("TIFF", "BMP", "HEIF"):
                assert variant_format(original, transparent=True) == "PNG"


def test_the_svg_size_limit_is_the_code_s() -> None:
    assert f"at most {MAX_SVG_SIDE} px on each side" in " ".join(DOC.split())
