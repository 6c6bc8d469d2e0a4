"""The demo's output folder: an empty folder, or one an earlier demo made; never someone else's."""

from __future__ import annotations

import shutil
from pathlib import Path

MARKER = ".snail-images-demo"


class DemoError(RuntimeError):
    """The demo cannot run here (the output folder); exit 2."""


def prepare_out(out: Path) -> None:
    """An empty folder, or one an earlier demo made (its files are replaced); never someone else's."""
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} is a file: give --out a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise DemoError(f"{out} exists and was not made by the demo: give --out an empty or new folder")
    for name in ("repo", "gallery-files"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    for name in ("gallery.html", "backend.log"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `snail-images demo`; the demo replaces this folder's contents\n")
