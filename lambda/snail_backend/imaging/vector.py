"""SVG variants: PNG rasters drawn by resvg (Rust, statically linked: no system library in Lambda).

A vector is drawn at each variant's size, never scaled from another raster: every variant has the
variant size on its longest side (the 1600 variant of a 24-pixel icon is drawn at 1600), with the
drawing's own aspect ratio. Only an SVG that snail_backend.svg found safe is drawn; it refers to
nothing outside itself, so resvg reads no file and fetches nothing. System fonts are not loaded:
text in an icon is drawn only with fonts it embeds (Lambda has none to offer, and this keeps the
drawing the same everywhere).
"""

from __future__ import annotations

import io

import resvg_py
from PIL import Image

from ..svg import Drawing


def drawn_size(drawing: Drawing, longest: int) -> tuple[int, int]:
    """The drawing's size scaled so that its longest side is `longest` (up or down)."""
    scale = longest / max(drawing.width, drawing.height)
    return max(1, round(drawing.width * scale)), max(1, round(drawing.height * scale))


def rasterize(drawing: Drawing, longest: int) -> Image.Image:
    """The drawing as an RGBA image with `longest` pixels on its longest side."""
    width, height = drawn_size(drawing, longest)
    png = resvg_py.svg_to_bytes(svg_string=drawing.text, width=width, height=height, skip_system_fonts=True)
    im = Image.open(io.BytesIO(bytes(png)), formats=["PNG"])
    im.load()
    return im if im.mode == "RGBA" else im.convert("RGBA")
