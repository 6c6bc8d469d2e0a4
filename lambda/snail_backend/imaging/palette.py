"""Palette variants: whether a PNG/GIF variant should be a palette image, and quantizing it to one."""

from __future__ import annotations

import math

from PIL import Image, ImageChops, ImageStat

# PNG variants of a palette original are palette images again; so are those of a truecolour original
# with at most 256 colours (flat icons, diagrams) when the palette costs little. FASTOCTREE, no
# dithering, to four times the original's colour count (64 to 256): measured >= 45.8 dB PSNR against
# the unquantized resize on flat images (256 colours: ~49 dB but 15-25 % more bytes; 32: 40 dB;
# MEDIANCUT: similar PSNR, 10-20 % larger, 5x slower, no alpha). A truecolour original's variant
# below PALETTE_MIN_PSNR stays truecolour; a palette original's never does (a photo-like one scores
# about 28 dB, about what its own palette costs it, at a quarter of the truecolour bytes).
PALETTE_MIN_COLOURS = 64
ALPHA_SNAP = 8  # palette alpha this close to opaque or clear is made exactly opaque or clear
PALETTE_MIN_PSNR = 40.0


def palette_plan(im: Image.Image, fmt: str) -> tuple[int, bool] | None:
    """Whether the PNG variants of `im` should be palette images, and with how many colours at most:
    (colours, always) -- `always` for a palette original (its family), else only when the palette
    scores PALETTE_MIN_PSNR -- or None. A truecolour original qualifies with at most 256 colours
    (`getcolors` stops counting at 257: a photo is rejected at once)."""
    if fmt not in ("PNG", "GIF"):
        return None  # other formats have no palette
    if im.mode not in ("P", "PA", "RGB", "RGBA"):
        return None
    if fmt == "GIF" and (im.mode in ("PA", "RGBA") or im.info.get("transparency") is not None):
        return None  # GIF keeps one transparent index, not an alpha palette: its writer handles those
    # An opaque GIF is quantized here without dithering, not by its writer, whose default
    # Floyd-Steinberg dither made a flat banner's 800-pixel variant twice the original's bytes.
    always = im.mode in ("P", "PA") or fmt == "GIF"
    colours = im.getcolors(256)
    if colours is None and not always:
        return None
    return min(256, max(PALETTE_MIN_COLOURS, 4 * len(colours or range(256)))), always


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of `a` against `b` (same size), in dB over all of `b`'s bands."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert(b.mode), b))
    mse = sum(stat.sum2) / (b.width * b.height * len(stat.sum2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def to_palette(im: Image.Image, plan: tuple[int, bool]) -> Image.Image:
    """`im` (a variant in working mode) as a palette image (transparency kept), per `palette_plan`:
    the fewest colours, from the plan's count doubling up to 256, that score PALETTE_MIN_PSNR against
    `im`; with none, 256 colours for a palette original and `im` itself (truecolour) for another.

    Not the original's own count: a resize makes new edge colours, and quantizing them back to, say,
    the original's 7 measured only 26-29 dB (jagged edges). An image that still has the original's
    colours (a variant at the original's size) maps exactly at the first try.
    """
    colours, always = plan
    if im.mode not in ("RGB", "RGBA"):
        return im
    while True:
        quantized = _quantize(im, colours)
        if colours >= 256 or psnr(quantized, im) >= PALETTE_MIN_PSNR:
            break
        colours = min(256, colours * 2)
    if not always and colours >= 256 and psnr(quantized, im) < PALETTE_MIN_PSNR:
        return im
    return quantized


def _quantize(im: Image.Image, colours: int) -> Image.Image:
    quantized = im.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    if im.mode == "RGBA":
        # The octree averages alpha per bucket: opaque pixels sharing one with an anti-aliased edge's
        # nearly opaque ones came out 254. Entries within ALPHA_SNAP of opaque or clear become exactly that.
        entries = quantized.getpalette("RGBA") or []
        for i in range(3, len(entries), 4):
            alpha = entries[i]
            entries[i] = 255 if alpha >= 255 - ALPHA_SNAP else 0 if alpha <= ALPHA_SNAP else alpha
        quantized.putpalette(entries, "RGBA")
    return quantized
