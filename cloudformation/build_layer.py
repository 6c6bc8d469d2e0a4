"""Build the Pillow Lambda layer: build/pillow-layer.zip with python/PIL for python3.12 on x86_64.

Lambda's python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), so any manylinux wheel for
glibc <= 2.34 works; pip picks the newest one among the platforms we offer. The Pillow version is
the one requirements.lock pins, so the layer runs the same Pillow the tests ran.

Usage: python cloudformation/build_layer.py [--out build/pillow-layer.zip] [--pillow-version X.Y.Z]
                                            [--wheel FILE]   (use a wheel already on disk)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "pillow-layer.zip"
LOCK_FILE = ROOT / "requirements.lock"

PYTHON_TAG = "cp312"
LAMBDA_GLIBC = (2, 34)
# Offered to pip from newest to oldest; manylinux2014 is manylinux_2_17.
PLATFORMS = ("manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64")
# Fixed timestamps make the zip byte-for-byte reproducible, so `aws cloudformation package`
# (which names uploads by content hash) uploads it again only when Pillow changed.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class LayerError(Exception):
    """A reason the layer cannot be built, in one line for the person running make."""


def locked_pillow_version(lock_file: Path = LOCK_FILE) -> str | None:
    """The `pillow==X` pin from requirements.lock, or None when there is none."""
    if not lock_file.is_file():
        return None
    for line in lock_file.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*pillow\s*==\s*([^\s;#]+).*", line, flags=re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def wheel_tags(filename: str) -> list[tuple[str, str, str]]:
    """Expand a wheel filename's compressed tag set into (python, abi, platform) triples."""
    stem = Path(filename).name.removesuffix(".whl")
    parts = stem.split("-")
    if len(parts) not in (5, 6):
        raise LayerError(f"{filename}: not a wheel filename")
    py, abi, plat = parts[-3:]
    return [(p, a, pl) for p in py.split(".") for a in abi.split(".") for pl in plat.split(".")]


def _glibc_of(platform: str) -> tuple[int, int] | None:
    legacy = {"manylinux1_x86_64": (2, 5), "manylinux2010_x86_64": (2, 12), "manylinux2014_x86_64": (2, 17)}
    if platform in legacy:
        return legacy[platform]
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", platform)
    return (int(match.group(1)), int(match.group(2))) if match else None


def lambda_compatible(tags: list[tuple[str, str, str]]) -> bool:
    """True when one tag is CPython 3.12, its own ABI, manylinux x86_64 no newer than Lambda's glibc."""
    for py, abi, plat in tags:
        glibc = _glibc_of(plat)
        if py == PYTHON_TAG and abi == PYTHON_TAG and glibc is not None and glibc <= LAMBDA_GLIBC:
            return True
    return False


def download_wheel(dest: Path, version: str | None) -> Path:
    requirement = f"pillow=={version}" if version else "pillow"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    cmd += ["--python-version", "3.12", "--implementation", "cp", "--abi", PYTHON_TAG, "--dest", str(dest), requirement]
    print("build_layer: " + " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LayerError(f"pip could not download {requirement} for cp312 manylinux x86_64: {detail}")
    wheels = sorted(dest.glob("pillow-*.whl"))
    if len(wheels) != 1:
        raise LayerError(f"expected one Pillow wheel in {dest}, found {len(wheels)}")
    return wheels[0]


def write_layer(wheel: Path, out: Path) -> int:
    """Unpack the wheel under python/ in a reproducible zip; returns the number of files."""
    if not lambda_compatible(wheel_tags(wheel.name)):
        raise LayerError(f"{wheel.name}: not a cp312 manylinux x86_64 wheel for Lambda's python3.12")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    count = 0
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            target = zipfile.ZipInfo("python/" + info.filename, date_time=ZIP_DATE)
            # Keep the wheel's permission bits (shared objects must stay readable), as regular files.
            mode = (info.external_attr >> 16) & 0o777 or 0o644
            target.external_attr = (0o100000 | mode) << 16
            target.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(target, src.read(info.filename))
            count += 1
    if not any(n.startswith("python/PIL/") for n in zipfile.ZipFile(tmp).namelist()):
        tmp.unlink()
        raise LayerError(f"{wheel.name} holds no PIL package")
    tmp.replace(out)
    return count


def build(out: Path, version: str | None, wheel: Path | None = None) -> Path:
    if wheel is not None:
        return _build_from(wheel, out)
    with tempfile.TemporaryDirectory(prefix="pillow-layer-") as tmp:
        return _build_from(download_wheel(Path(tmp), version), out)


def _build_from(wheel: Path, out: Path) -> Path:
    count = write_layer(wheel, out)
    print(f"build_layer: wrote {out} ({count} files from {wheel.name}, {out.stat().st_size} bytes)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Pillow Lambda layer zip (python3.12, x86_64).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write (default build/pillow-layer.zip)")
    parser.add_argument("--pillow-version", default=None, help="Pillow version (default: the requirements.lock pin)")
    parser.add_argument("--wheel", type=Path, default=None, help="use this wheel instead of downloading one")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.pillow_version or locked_pillow_version(), args.wheel)
    except (LayerError, OSError, zipfile.BadZipFile) as exc:
        print(f"build_layer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
