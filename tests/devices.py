"""Image files made in code the way devices and tools write them, each with the picture it shows.

Every maker returns (bytes, picture): `picture` is the RGB(A) image a viewer displays (EXIF
orientation or HEIF rotation applied), the reference the variants' pixels are compared with.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pillow_heif  # encodes HEIC (the backend's pi-heif only decodes); never registered as an opener
from PIL import Image, ImageCms, ImageDraw

from snail_backend.imaging import psnr


def scene(size: tuple[int, int] = (1200, 900)) -> Image.Image:
    """A smooth picture with four differently coloured quadrants: every turn and flip differs, and
    lossy encoders keep it well (high PSNR), so a wrong orientation or colour shows as a low score."""
    w, h = size
    im = Image.new("RGB", size)
    colours = [(230, 60, 40), (40, 170, 70), (50, 80, 220), (240, 210, 40)]
    for i, (x0, y0) in enumerate([(0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2)]):
        im.paste(colours[i], (x0, y0, x0 + w // 2, y0 + h // 2))
    draw = ImageDraw.Draw(im)
    draw.ellipse((w // 3, h // 3, 2 * w // 3, 2 * h // 3), fill=(250, 250, 250))
    return im


_TURN = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}


def shown(stored: Image.Image, orientation: int) -> Image.Image:
    """What a viewer shows for pixels stored with this EXIF orientation."""
    turn = _TURN[orientation]
    return stored if turn is None else stored.transpose(turn)


def _exif(orientation: int, make: str = "Apple", model: str = "iPhone 15") -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = make
    exif[0x0110] = model
    return exif


def phone_mpo(orientation: int = 8) -> tuple[bytes, Image.Image]:
    """A phone JPEG (IMG_0412.JPEG): the photo, EXIF orientation 8, and a second picture after it in
    an MPF index (a depth or gain map), which makes Pillow report MPO."""
    stored = scene((1200, 900))
    depth = Image.linear_gradient("L").resize((300, 225)).convert("RGB")
    buf = io.BytesIO()
    stored.save(buf, "MPO", save_all=True, append_images=[depth], exif=_exif(orientation), quality=92)
    return buf.getvalue(), shown(stored, orientation)


def camera_mpf_preview() -> tuple[bytes, Image.Image]:
    """A camera JPEG (Sony, Panasonic, Canon) carrying a large MPF preview after the main picture."""
    stored = scene((1800, 1200))
    preview = stored.resize((640, 427))
    buf = io.BytesIO()
    stored.save(buf, "MPO", save_all=True, append_images=[preview], exif=_exif(1, "SONY", "ILCE-7M4"), quality=95)
    return buf.getvalue(), stored


def iphone_heic(orientation: int = 6, icc: bytes | None = None) -> tuple[bytes, Image.Image]:
    """An iPhone HEIC: the sensor's pixels stored as shot, the turn in EXIF (pillow-heif writes it as
    the HEIF `irot` transform, as the camera does), optionally a colour profile."""
    stored = scene((1024, 768))
    heif = pillow_heif.from_pillow(stored)
    buf = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    heif.save(buf, exif=_exif(orientation).tobytes(), quality=90, **options)
    return buf.getvalue(), shown(stored, orientation)


def heic_with_alpha() -> tuple[bytes, Image.Image]:
    picture = scene((640, 480)).convert("RGBA")
    alpha = Image.new("L", picture.size, 255)
    alpha.paste(0, (0, 0, 320, 240))
    picture.putalpha(alpha)
    buf = io.BytesIO()
    pillow_heif.from_pillow(picture).save(buf, quality=-1)  # lossless: the alpha edge stays sharp
    return buf.getvalue(), picture


def avif_export(orientation: int = 1) -> tuple[bytes, Image.Image]:
    stored = scene((1000, 750))
    buf = io.BytesIO()
    stored.save(buf, "AVIF", quality=90, exif=_exif(orientation, "Adobe", "Lightroom"))
    return buf.getvalue(), shown(stored, orientation)


def cmyk_jpeg() -> tuple[bytes, Image.Image]:
    """A print shop's CMYK JPEG (Adobe APP14 marker, inverted CMYK as Photoshop writes it)."""
    picture = scene((800, 600))
    buf = io.BytesIO()
    picture.convert("CMYK").save(buf, "JPEG", quality=95)
    return buf.getvalue(), picture


def screenshot(size: tuple[int, int] = (1800, 1200)) -> Image.Image:
    """Flat areas with hard edges, as a screenshot or a diagram: what lossless WebP is for."""
    im = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.rectangle((0, 0, w, h // 10), fill=(30, 60, 120))
    draw.rectangle((w // 18, h // 4, w // 2, 3 * h // 4), fill=(200, 40, 40))
    return im


def lossless_webp(picture: Image.Image | None = None) -> tuple[bytes, Image.Image]:
    picture = picture or screenshot()
    buf = io.BytesIO()
    picture.save(buf, "WEBP", lossless=True)
    return buf.getvalue(), picture


def with_profile(picture: Image.Image, fmt: str, icc: bytes) -> bytes:
    buf = io.BytesIO()
    picture.save(buf, fmt, icc_profile=icc, **({"quality": 92} if fmt in ("JPEG", "WEBP", "AVIF") else {}))
    return buf.getvalue()


def rgb_profile() -> bytes:
    """A real RGB ICC profile (LittleCMS's sRGB): the tests follow its bytes."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def fax_scan(compression: str, size: tuple[int, int] = (96, 64)) -> tuple[bytes, Image.Image]:
    """A 1-bit scanner TIFF with the given compression (CCITT Group 3/4 as fax scanners write)."""
    picture = Image.new("1", size, 1)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, size[0] // 4, size[1]), fill=0)
    draw.rectangle((size[0] // 2, size[1] // 2, size[0], size[1]), fill=0)
    buf = io.BytesIO()
    picture.save(buf, "TIFF", compression=compression)
    return buf.getvalue(), picture.convert("L")


SAFE_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="48" height="24"
     viewBox="0 0 48 24">
  <defs>
    <linearGradient id="g"><stop offset="0" stop-color="#e33"/><stop offset="1" stop-color="#33e"/></linearGradient>
  </defs>
  <rect x="0" y="0" width="24" height="24" fill="url(#g)"/>
  <circle id="dot" cx="36" cy="12" r="10" fill="#2a2"/>
  <use xlink:href="#dot" x="0" y="0" opacity="0.5"/>
</svg>
"""


def svg_reference(longest: int) -> Image.Image:
    """SAFE_SVG drawn independently of resvg (Pillow, supersampled): the left square's gradient runs
    red to blue, the right circle is green, the rest is clear."""
    scale = longest / 48
    big = 4
    w, h = round(48 * scale), round(24 * scale)
    im = Image.new("RGBA", (w * big, h * big), (0, 0, 0, 0))
    ramp = Image.linear_gradient("L").rotate(90, expand=True)  # 0 (red) at the left, 255 (blue) at the right
    ramp = ramp.resize((h * big, h * big))
    red = Image.new("RGBA", ramp.size, (0xEE, 0x33, 0x33, 255))
    blue = Image.new("RGBA", ramp.size, (0x33, 0x33, 0xEE, 255))
    im.paste(Image.composite(blue, red, ramp), (0, 0))
    draw = ImageDraw.Draw(im)
    cx, cy, r = 36 * scale * big, 12 * scale * big, 10 * scale * big
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(0x22, 0xAA, 0x22, 255))
    return im.resize((w, h), Image.Resampling.LANCZOS)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height with almost no pixels (a bomb needs nothing more to be refused)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# (file, reason the refusal names)
HOSTILE_SVGS: list[tuple[bytes, str]] = [
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
     "<script>"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"/>', "onload="),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect ONCLICK="x()" width="5" height="5"/></svg>',
     "onclick="),
    (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
     b'<a xlink:href="java&#9;script:alert(1)"><rect width="5" height="5"/></a></svg>', "javascript:"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><a href="#x">'
     b'<set attributeName="href" to="javascript:alert(1)"/></a></svg>', "javascript:"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="https://evil.example/t.png" '
     b'width="5" height="5"/></svg>', "https://evil.example"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><foreignObject width="5" height="5">'
     b'<body xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://x"/></body></foreignObject></svg>',
     "<foreignObject>"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>@import url(https://x/a.css);</style></svg>',
     "url(https://x/a.css)"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect style="fill:url(http://x/p#g)" '
     b'width="5" height="5"/></svg>', "url(http://x/p#g)"),
    (b'<?xml-stylesheet href="https://x/a.css"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
     "xml-stylesheet"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&lol2;</text></svg>',
     "entity declaration"),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&xxe;</text></svg>', "external entity"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="10"/>', "each side must be from 1 to 16384"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>', "declares no size"),
    (b'<html><body>not a drawing</body></html>', "not an SVG"),
    # resvg recursed into a segmentation fault from about 245 levels: refused before drawing
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' + b"<g>" * 50_000 + b"<rect/>"
     + b"</g>" * 50_000 + b"</svg>", "nests deeper than 100 levels"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><g id="g0"><rect/></g>'
     + b"".join(b'<g id="g%d"><use href="#g%d"/></g>' % (i, i - 1) for i in range(1, 200))
     + b'</defs><use href="#g199"/></svg>', "nests deeper than 100 levels"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g id="a"><use href="#a"/></g></svg>',
     "draws itself in"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs>'
     + b"".join(b'<mask id="m%d"><rect width="10" height="10" fill="white" mask="url(#m%d)"/></mask>' % (i, i + 1)
                for i in range(300)) + b'<mask id="m300"/></defs><rect width="10" height="10" mask="url(#m0)"/></svg>',
     "nests deeper than 100 levels"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs>'
     + b"".join(b'<pattern id="m%d" width="2" height="2"><rect width="2" height="2" style="fill: url(\'#m%d\')"/>'
                b"</pattern>" % (i, i + 1) for i in range(300))
     + b'<pattern id="m300"/></defs><rect width="10" height="10" fill="url(#m0)"/></svg>',
     "nests deeper than 100 levels"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>'
     + b"".join(b".c%d{mask:url(#m%d)}" % (i, i + 1) for i in range(300)) + b"</style><defs>"
     + b"".join(b'<mask id="m%d"><rect class="c%d" width="10" height="10" fill="white"/></mask>' % (i, i)
                for i in range(301)) + b'</defs><rect class="c0" width="10" height="10"/></svg>',
     "stylesheet draws in masks or patterns and it has 301 of them (at most 40)"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image width="5" height="5" '
     b'href="data:image/png;base64,'
     + base64.b64encode(_png_header(12_000, 12_000)) + b'"/></svg>', "embedded image of the SVG is 12000x12000, over"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect', "not a well-formed SVG"),
]


def score(variant: bytes, picture: Image.Image) -> float:
    """PSNR of a variant against the reference picture resized to the variant's size (LANCZOS),
    both composited on white when they have alpha."""
    got = Image.open(io.BytesIO(variant))
    got.load()
    ref = picture.resize(got.size, Image.Resampling.LANCZOS)
    return psnr(_flat(got), _flat(ref))


def _flat(im: Image.Image) -> Image.Image:
    if "A" in im.getbands() or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")
