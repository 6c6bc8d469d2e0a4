"""Builders the tests share: real git repositories and real image files."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from PIL import Image

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Snail Test",
    "GIT_AUTHOR_EMAIL": "snail@example.invalid",
    "GIT_COMMITTER_NAME": "Snail Test",
    "GIT_COMMITTER_EMAIL": "snail@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A real repository in a temporary folder, driven through the git CLI."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "core.quotepath", "false")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, check: bool = True) -> str:
        env = {**os.environ, **GIT_ENV, "HOME": str(self.path.parent)}
        out = subprocess.run(["git", *args], cwd=self.path, env=env, check=check,
                             capture_output=True)
        return out.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, relpath: str, data: bytes | str) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return target

    def remove(self, relpath: str) -> None:
        self.git("rm", "-q", "--", relpath)

    def move(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", old, new)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB",
                seed: int = 0, **save: object) -> bytes:
    """A small real image whose pixels depend on `seed`, so different seeds differ in content."""
    im = Image.new("RGB", size)
    w, h = size
    im.putdata([((x * 7 + seed * 31) % 256, (y * 5 + seed * 17) % 256, (x + y + seed) % 256)
                for y in range(h) for x in range(w)])
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def fake_aws_environment(mp, region: str) -> None:
    """Test credentials and region for moto; no profile or endpoint of the user's leaks in (`mp`: MonkeyPatch)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        mp.setenv(name, "testing")
    mp.setenv("AWS_DEFAULT_REGION", region)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        mp.delenv(name, raising=False)
