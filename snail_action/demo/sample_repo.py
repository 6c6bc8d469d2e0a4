"""The demo's sample image repository: real images made with Pillow, and a real git history of pushes.

Each push is a range of commits (before..after) as GitHub's push event gives it, with the outcome
every file of it must have once synced.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .demo_samples import iphone_heic, phone_photo_mpo, snail_svg

ZERO_SHA = "0" * 40
LARGE_MIN_BYTES = 4_718_592  # 4.5 MiB: as one request its base64 event would pass Lambda's 6 MiB
EXIF_ORIENTATION = 0x0112

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Snail Demo", "GIT_AUTHOR_EMAIL": "demo@snail-images.invalid",
    "GIT_COMMITTER_NAME": "Snail Demo", "GIT_COMMITTER_EMAIL": "demo@snail-images.invalid",
}


@dataclass
class Push:
    title: str
    before: str
    after: str
    commits: list[str]
    expect: dict[str, str]  # repository path -> the sync outcome it must have
    expect_ok: bool = True  # False where the push must be reported as failed (a rejected file)
    note: str = ""


@dataclass
class SampleRepo:
    path: Path
    pushes: list[Push] = field(default_factory=list)
    large_file: str = ""
    exif_file: str = ""
    duplicates: tuple[str, str] = ("", "")
    non_image: str = ""
    deleted: list[str] = field(default_factory=list)
    edited: str = ""


# -- pictures ---------------------------------------------------------------------------------------

def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # an older Pillow or one built without FreeType
        return ImageFont.load_default()


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _encode(im: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def sunset(size: tuple[int, int] = (1600, 1000)) -> bytes:
    w, h = size
    im = _gradient(size, (255, 170, 80), (120, 40, 120))
    d = ImageDraw.Draw(im)
    d.ellipse((w * 0.55, h * 0.35, w * 0.75, h * 0.35 + w * 0.2), fill=(255, 220, 120))
    d.polygon([(0, h), (0, h * 0.7), (w * 0.25, h * 0.5), (w * 0.5, h * 0.72), (w * 0.8, h * 0.55), (w, h * 0.68),
               (w, h)], fill=(50, 25, 70))
    return _encode(im, "JPEG", quality=88)


def portrait_with_exif_rotation(upright: tuple[int, int] = (480, 720)) -> bytes:
    """A portrait picture stored sideways (as cameras do) with EXIF orientation 6 saying 'turn it right'."""
    w, h = upright
    im = _gradient(upright, (120, 190, 255), (235, 245, 255))
    d = ImageDraw.Draw(im)
    d.rectangle((w * 0.42, h * 0.3, w * 0.58, h * 0.9), fill=(230, 60, 60))
    for y in range(int(h * 0.35), int(h * 0.9), int(h * 0.12)):
        d.rectangle((w * 0.42, y, w * 0.58, y + h * 0.04), fill=(250, 250, 250))
    d.polygon([(w * 0.5, h * 0.05), (w * 0.3, h * 0.22), (w * 0.7, h * 0.22)], fill=(40, 40, 60))
    d.text((w * 0.5, h * 0.27), "TOP", fill=(40, 40, 60), font=_font(36), anchor="mm")
    stored = im.transpose(Image.Transpose.ROTATE_90)  # sideways: orientation 6 turns it back upright
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return _encode(stored, "JPEG", quality=90, exif=exif.tobytes())


def snail_icon(size: int = 512, shell: tuple[int, int, int] = (196, 120, 60)) -> bytes:
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    s = size / 512
    d.ellipse((60 * s, 330 * s, 470 * s, 430 * s), fill=(150, 200, 110, 255))
    d.line((420 * s, 350 * s, 450 * s, 250 * s), fill=(150, 200, 110, 255), width=int(12 * s))
    d.line((440 * s, 355 * s, 490 * s, 270 * s), fill=(150, 200, 110, 255), width=int(12 * s))
    for i, r in enumerate((150, 112, 76, 42, 16)):
        c = tuple(min(255, v + i * 22) for v in shell) + (255,)
        d.ellipse(((230 - r) * s, (250 - r) * s, (230 + r) * s, (250 + r) * s), fill=c,
                  outline=(90, 50, 20, 255), width=max(1, int(5 * s)))
    return _encode(im, "PNG", optimize=True)


def banner(text: str, colors: tuple[tuple[int, int, int], tuple[int, int, int]]) -> bytes:
    size = (900, 300)
    im = _gradient(size, *colors)
    d = ImageDraw.Draw(im)
    for x in range(-300, 900, 60):
        d.line((x, 300, x + 300, 0), fill=tuple(min(255, c + 30) for c in colors[0]), width=14)
    d.text((450, 150), text, fill=(255, 255, 255), font=_font(72), anchor="mm")
    return _encode(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), "GIF")


def rings(size: tuple[int, int] = (1024, 768), hue: int = 0) -> bytes:
    g = Image.radial_gradient("L").resize(size)
    r = g.point(lambda v: (v * 3 + hue) % 256)
    gch = g.point(lambda v: (v * 5 + 80 + hue) % 256)
    b = g.point(lambda v: 255 - v)
    return _encode(Image.merge("RGB", (r, gch, b)), "WEBP", quality=85)


def favicon() -> bytes:
    im = Image.new("RGB", (64, 64), (30, 30, 50))
    d = ImageDraw.Draw(im)
    d.ellipse((12, 12, 52, 52), fill=(240, 180, 60))
    d.ellipse((24, 24, 40, 40), fill=(30, 30, 50))
    return _encode(im, "BMP")


def large_scan(min_bytes: int = LARGE_MIN_BYTES, seed: int = 7) -> bytes:
    """A noisy PNG above `min_bytes`: noise does not compress, so it stays large while being a real image."""
    w, h = 1600, 1200
    rng = random.Random(seed)
    noise = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
    base = _gradient((w, h), (20, 60, 110), (200, 230, 255))
    im = Image.blend(base, noise, 0.35)
    data = _encode(im, "PNG", compress_level=1)
    if len(data) <= min_bytes:  # never expected; a clear message beats a demo that proves nothing
        raise RuntimeError(f"the large sample came out at {len(data)} bytes, not above {min_bytes}")
    return data


# -- history ----------------------------------------------------------------------------------------

class _Git:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, *args: str) -> str:
        env = {**os.environ, **_GIT_ENV}
        out = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
                             cwd=self.path, env=env, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def write(self, rel: str, data: bytes | str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)

    def commit(self, message: str) -> str:
        self("add", "-A")
        self("commit", "-q", "-m", message)
        return self("rev-parse", "HEAD")


def build_sample_repo(path: Path, log: Callable[[str], None] = lambda _: None) -> SampleRepo:
    """A new repository at `path` (which must not exist) with three pushes of real changes."""
    path.mkdir(parents=True)
    git = _Git(path)
    git("init", "-q", "-b", "main")
    repo = SampleRepo(path, large_file="scans/harbour-scan.png", exif_file="photos/lighthouse.jpg",
                      duplicates=("icons/snail.png", "icons/snail-copy.png"), non_image="notes/todo.txt",
                      deleted=["art/rings.webp", "icons/snail-copy.png"], edited="art/banner.gif")
    snail = snail_icon()

    log("drawing the sample images")
    git.write("photos/sunset.jpg", sunset())
    git.write(repo.exif_file, portrait_with_exif_rotation())
    git.write("icons/snail.png", snail)
    git.write("art/banner.gif", banner("snail-images", ((40, 90, 160), (20, 30, 60))))
    git.write("art/rings.webp", rings())
    git.write("photos/IMG_0412.JPEG", phone_photo_mpo())
    git.write("photos/IMG_0413.HEIC", iphone_heic())
    git.write("icons/snail.svg", snail_svg())
    git.write("README.md", "# Sample images\n\nSynced by snail-images.\n")
    c1 = git.commit("Add photos, art and the snail icon")
    git.write("icons/snail-copy.png", snail)  # identical bytes at another path
    git.write("icons/favicon.bmp", favicon())
    git.write(repo.large_file, large_scan())
    c2 = git.commit("Add a copy of the icon, a favicon and a large scan")
    repo.pushes.append(Push(
        "new branch: 11 images in 2 commits", ZERO_SHA, c2, [c1, c2],
        expect={"photos/sunset.jpg": "completed", repo.exif_file: "completed", "icons/snail.png": "completed",
                "art/banner.gif": "completed", "art/rings.webp": "completed", "icons/snail-copy.png": "completed",
                "icons/favicon.bmp": "completed", repo.large_file: "completed", "photos/IMG_0412.JPEG": "completed",
                "photos/IMG_0413.HEIC": "completed", "icons/snail.svg": "completed"},
        note="README.md is not an image path the action sends (skipped); the scan goes through a presigned upload"))

    (path / "archive/2024").mkdir(parents=True)
    git("mv", "photos/sunset.jpg", "archive/2024/sunset.jpg")
    git.write("art/banner.gif", banner("snail-images v2", ((160, 60, 90), (50, 20, 40))))
    c3 = git.commit("Move the sunset to the archive; refresh the banner")
    git("rm", "-q", "icons/snail-copy.png", "art/rings.webp")
    c4 = git.commit("Remove the icon copy and the rings")
    repo.pushes.append(Push(
        "rename, edit, delete", c2, c4, [c3, c4],
        expect={"photos/sunset.jpg": "deleted", "archive/2024/sunset.jpg": "completed",
                "art/banner.gif": "completed", "icons/snail-copy.png": "deleted", "art/rings.webp": "deleted"},
        note="a rename is a delete of the old path and a put of the new one"))

    git.write(repo.non_image, "remember to water the snails\n")
    git.write("photos/new-arrival.webp", rings((800, 600), hue=90))
    c5 = git.commit("Add a new photo, and a text file by mistake")
    repo.pushes.append(Push(
        "a text file slips in with a new photo", c4, c5, [c5],
        expect={repo.non_image: "rejected", "photos/new-arrival.webp": "completed"}, expect_ok=False,
        note="the push fails as the action would fail its job, yet the photo in it is still sent"))
    return repo
