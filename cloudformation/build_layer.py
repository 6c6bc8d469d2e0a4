"""Build the imaging Lambda layer: build/pillow-layer.zip with, under python/, Pillow and the decoders
the backend imports beside it (pi-heif for HEIC/HEIF, resvg-py for SVG, defusedxml, cykooz.resizer for
the SIMD resize), for python3.12 on x86_64.

Lambda's python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), so any manylinux wheel for
glibc <= 2.34 works (or a pure-Python one, or a CPython abi3 one for 3.12 or older); pip picks the
newest one among the platforms we offer. The versions are the ones requirements.lock pins, so the
layer runs the same libraries the tests ran. The script prints the layer's unzipped size: Lambda
allows 250 MB for a function and its layers together, unzipped, and the build fails above it.

Usage: python cloudformation/build_layer.py [--out build/pillow-layer.zip] [--pillow-version X.Y.Z]
                                            [--wheel FILE ...]   (use wheels already on disk)
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
# The layer's packages: PyPI name -> the module the backend imports. Their own dependencies are
# Pillow (pi-heif) or nothing, so they are downloaded without dependencies.
LAYER_PACKAGES = {"pillow": "PIL", "pi-heif": "pi_heif", "resvg-py": "resvg_py", "defusedxml": "defusedxml",
                  "cykooz-resizer": "cykooz_resizer"}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function code and all layers, unzipped


class LayerError(Exception):
    """A reason the layer cannot be built, in one line for the person running make."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_version(package: str, lock_file: Path = LOCK_FILE) -> str | None:
    """The `package==X` pin from requirements.lock, or None when there is none."""
    if not lock_file.is_file():
        return None
    for line in lock_file.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+).*", line)
        if match and _canonical(match.group(1)) == _canonical(package):
            return match.group(2)
    return None


def locked_pillow_version(lock_file: Path = LOCK_FILE) -> str | None:
    """The `pillow==X` pin from requirements.lock, or None when there is none."""
    return locked_version("pillow", lock_file)


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
    """True when one tag is pure Python 3, or CPython 3.12 (its own ABI, or the stable abi3 of 3.12 or
    older) on manylinux x86_64 no newer than Lambda's glibc."""
    for py, abi, plat in tags:
        if py in ("py3", "py2.py3") and abi == "none" and plat == "any":
            return True
        glibc = _glibc_of(plat)
        if glibc is None or glibc > LAMBDA_GLIBC:
            continue
        if py == PYTHON_TAG and abi == PYTHON_TAG:
            return True
        stable = re.fullmatch(r"cp3(\d+)", py)
        if abi == "abi3" and stable and int(stable.group(1)) <= 12:
            return True
    return False


def download_wheel(dest: Path, version: str | None, package: str = "pillow") -> Path:
    requirement = f"{package}=={version}" if version else package
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    cmd += ["--python-version", "3.12", "--implementation", "cp", "--abi", PYTHON_TAG, "--dest", str(dest), requirement]
    print("build_layer: " + " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LayerError(f"pip could not download {requirement} for cp312 manylinux x86_64: {detail}")
    prefix = _canonical(package).replace("-", "_")
    wheels = sorted(w for w in dest.glob("*.whl") if _canonical(w.name.split("-")[0]).replace("-", "_") == prefix)
    if len(wheels) != 1:
        raise LayerError(f"expected one {package} wheel in {dest}, found {len(wheels)}")
    return wheels[0]


def write_layer(wheels: Path | list[Path], out: Path) -> int:
    """Unpack the wheels under python/ in one reproducible zip; returns the number of files."""
    wheels = [wheels] if isinstance(wheels, Path) else list(wheels)
    for wheel in wheels:
        if not lambda_compatible(wheel_tags(wheel.name)):
            raise LayerError(f"{wheel.name}: not a cp312 manylinux x86_64 wheel for Lambda's python3.12")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    entries: dict[str, tuple[Path, zipfile.ZipInfo]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as src:
            for info in src.infolist():
                if not info.is_dir():
                    entries.setdefault("python/" + info.filename, (wheel, info))
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for name in sorted(entries):
            wheel, info = entries[name]
            target = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            # Keep the wheel's permission bits (shared objects must stay readable), as regular files.
            mode = (info.external_attr >> 16) & 0o777 or 0o644
            target.external_attr = (0o100000 | mode) << 16
            target.compress_type = zipfile.ZIP_DEFLATED
            with zipfile.ZipFile(wheel) as src:
                dst.writestr(target, src.read(info.filename))
    if any(w.name.lower().startswith("pillow-") for w in wheels) and \
            not any(n.startswith("python/PIL/") for n in zipfile.ZipFile(tmp).namelist()):
        tmp.unlink()
        raise LayerError(f"{wheels[0].name} holds no PIL package")
    tmp.replace(out)
    return len(entries)


def unzipped_size(layer: Path) -> int:
    """The layer's size once Lambda has unzipped it, in bytes."""
    return sum(info.file_size for info in zipfile.ZipFile(layer).infolist())


def build(out: Path, version: str | None, wheels: list[Path] | None = None) -> Path:
    if wheels:
        return _build_from(wheels, out)
    with tempfile.TemporaryDirectory(prefix="pillow-layer-") as tmp:
        downloaded = [download_wheel(Path(tmp), version if package == "pillow" else locked_version(package), package)
                      for package in LAYER_PACKAGES]
        return _build_from(downloaded, out)


def _build_from(wheels: list[Path], out: Path) -> Path:
    count = write_layer(wheels, out)
    size = unzipped_size(out)
    names = ", ".join(w.name for w in wheels)
    print(f"build_layer: wrote {out} ({count} files from {names}, {out.stat().st_size} bytes zipped)", flush=True)
    print(f"build_layer: unzipped {size / 1e6:.1f} MB ({size} bytes) of Lambda's 250 MB for function and layers "
          f"({100 * size / LAMBDA_UNZIPPED_LIMIT:.0f} %)", flush=True)
    if size > LAMBDA_UNZIPPED_LIMIT:
        out.unlink()
        raise LayerError(f"the layer is {size} bytes unzipped, over Lambda's {LAMBDA_UNZIPPED_LIMIT}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the imaging Lambda layer zip (python3.12, x86_64).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write (default build/pillow-layer.zip)")
    parser.add_argument("--pillow-version", default=None, help="Pillow version (default: the requirements.lock pin)")
    parser.add_argument("--wheel", type=Path, action="append", default=None,
                        help="use this wheel instead of downloading (repeat for each package)")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.pillow_version or locked_pillow_version(), args.wheel)
    except (LayerError, OSError, zipfile.BadZipFile) as exc:
        print(f"build_layer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
