"""Byte-level reading of PNG and GIF containers: whether an original's own bytes may serve as a variant."""

from __future__ import annotations

# PNG chunks that describe pixels or colour, never the picture's author, place, time or camera: an
# original with only these (and nothing after IEND) carries nothing the variants would strip.
_PLAIN_PNG_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB",
                               b"iCCP", b"sBIT", b"bKGD", b"pHYs"})


def _plain_png(data: bytes) -> bool:
    """A still PNG with no text, EXIF, XMP, time, animation or private chunk, nor anything after IEND."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if kind not in _PLAIN_PNG_CHUNKS:
            return False
        pos += 12 + length
        if kind == b"IEND":
            return pos == len(data)
    return False


def _skip_gif_sub_blocks(data: bytes, pos: int) -> int:
    while pos < len(data):
        count = data[pos]
        pos += 1 + count
        if count == 0:
            return pos
    return len(data) + 1  # truncated


def _plain_gif(data: bytes) -> bool:
    """A GIF of exactly one image whose only extension is the graphic control (transparency): no
    comment, no application block (XMP, looping), nothing after the trailer."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return False
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            return images == 1 and pos + 1 == len(data)
        if block == 0x21 and pos + 1 < len(data) and data[pos + 1] == 0xF9:  # graphic control extension
            pos = _skip_gif_sub_blocks(data, pos + 2)
        elif block == 0x2C and images == 0 and pos + 10 <= len(data):  # the image descriptor
            images += 1
            flags = data[pos + 9]
            pos = _skip_gif_sub_blocks(data, pos + 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0))
        else:
            return False
    return False


def reusable_original(data: bytes, fmt: str, orientation: int) -> bool:
    """Whether the original's own bytes may serve as a variant of the same size: variants never carry
    EXIF, XMP, text or comments (only the ICC profile is kept), so only an original with none of those,
    a single frame and no orientation to apply qualifies. PNG and GIF only: a JPEG, WebP or TIFF of the
    same size is re-encoded (not checked for metadata here)."""
    if orientation != 1:
        return False
    if fmt == "PNG":
        return _plain_png(data)
    if fmt == "GIF":
        return _plain_gif(data)
    return False


def webp_lossless(data: bytes) -> bool:
    """Whether a WebP's (first) picture is lossless (a VP8L bitstream), from its RIFF chunks."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    pos = 12
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if kind in (b"VP8L", b"VP8 "):
            return kind == b"VP8L"
        if kind == b"ANMF":  # an animation frame: 16 bytes of frame header, then its own chunks
            inner = data[pos + 24:pos + 28]
            if inner in (b"VP8L", b"VP8 ", b"ALPH"):
                return inner == b"VP8L"
        pos += 8 + length + (length & 1)
    return False
