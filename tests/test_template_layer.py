"""The imaging layer: `make layer`'s script downloads the manylinux wheels for CPython 3.12 on x86_64
(Pillow, pi-heif, resvg-py, defusedxml) from PyPI (network access is part of this test) and lays them
out under python/ as Lambda expects."""

from __future__ import annotations

import importlib.util
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "cloudformation" / "build_layer.py"

_spec = importlib.util.spec_from_file_location("build_layer", SCRIPT)
build_layer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_layer)


@pytest.fixture(scope="module")
def layer(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layer") / "pillow-layer.zip"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"build_layer failed (it needs PyPI): {done.stderr.strip()}"
    assert "pip download" in done.stdout and str(out) in done.stdout  # it says what it does
    size = build_layer.unzipped_size(out)
    assert f"unzipped {size / 1e6:.1f} MB ({size} bytes) of Lambda's 250 MB" in done.stdout
    return out


def test_layer_holds_the_decoders_the_backend_imports_of_their_locked_versions(layer):
    names = zipfile.ZipFile(layer).namelist()
    for package, module in build_layer.LAYER_PACKAGES.items():
        assert f"python/{module}/__init__.py" in names, module
        dist = package.replace("-", "_")
        info = [n for n in names if re.fullmatch(rf"python/{dist}-[^/]+\.dist-info/METADATA", n, flags=re.IGNORECASE)]
        assert info, package
        assert info[0].split("/")[1].removesuffix(".dist-info").split("-")[1] == build_layer.locked_version(package)
    assert any(re.fullmatch(r"python/_pi_heif\.cpython-312-x86_64-linux-gnu\.so", n) for n in names)
    assert build_layer.unzipped_size(layer) < build_layer.LAMBDA_UNZIPPED_LIMIT


def test_layer_holds_pil_under_python(layer):
    names = zipfile.ZipFile(layer).namelist()
    assert "python/PIL/__init__.py" in names
    assert "python/PIL/Image.py" in names
    assert all(n.startswith("python/") for n in names)
    assert any(re.fullmatch(r"python/pillow\.libs/libjpeg[^/]*\.so[.\d]*", n) for n in names)


def test_layer_wheel_is_cp312_manylinux_x86_64_of_the_locked_version(layer):
    zf = zipfile.ZipFile(layer)
    (wheel_info,) = [n for n in zf.namelist() if re.fullmatch(r"python/pillow-[^/]+\.dist-info/WHEEL", n)]
    tags = re.findall(r"^Tag: (\S+)$", zf.read(wheel_info).decode(), flags=re.MULTILINE)
    assert tags and all(re.fullmatch(r"cp312-cp312-manylinux(_\d+_\d+|2014)_x86_64", t) for t in tags), tags
    version = wheel_info.split("/")[1].removeprefix("pillow-").removesuffix(".dist-info")
    assert version == build_layer.locked_pillow_version()


def test_layer_extension_is_an_x86_64_elf_for_cpython_312(layer):
    zf = zipfile.ZipFile(layer)
    (ext,) = [n for n in zf.namelist() if re.fullmatch(r"python/PIL/_imaging\.[^/]+\.so", n)]
    assert ext == "python/PIL/_imaging.cpython-312-x86_64-linux-gnu.so"
    header = zf.read(ext)[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 2  # 64-bit
    assert struct.unpack("<H", header[18:20])[0] == 0x3E  # EM_X86_64
    info = zf.getinfo(ext)
    assert (info.external_attr >> 16) & 0o444 == 0o444  # readable by the Lambda runtime user


def test_layer_zip_is_reproducible(layer, tmp_path):
    # Same wheel, same bytes: `aws cloudformation package` then uploads the layer only when it changed.
    wheel = tmp_path / "pillow-0-cp312-cp312-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for info in zipfile.ZipFile(layer).infolist()[:5]:
            zf.writestr(info.filename.removeprefix("python/"), zipfile.ZipFile(layer).read(info))
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build_layer.write_layer(wheel, first)
    build_layer.write_layer(wheel, second)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(("filename", "ok"), [
    ("pillow-13.0.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
    ("pillow-12.2.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", True),
    ("pillow-13.0.0-cp312-cp312-manylinux_2_39_x86_64.whl", False),  # newer glibc than Lambda's 2.34
    ("pillow-13.0.0-cp312-cp312-manylinux_2_28_aarch64.whl", False),
    ("pillow-13.0.0-cp313-cp313-manylinux_2_28_x86_64.whl", False),
    ("pillow-13.0.0-cp312-cp312-musllinux_1_2_x86_64.whl", False),
    ("pillow-13.0.0-cp312-cp312-macosx_11_0_arm64.whl", False),
    ("resvg_py-0.5.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),  # stable ABI
    ("resvg_py-0.5.0-cp313-abi3-manylinux_2_17_x86_64.whl", False),  # needs 3.13
    ("defusedxml-0.7.1-py2.py3-none-any.whl", True),
])
def test_only_wheels_lambda_python312_x86_64_can_load_are_accepted(filename, ok):
    assert build_layer.lambda_compatible(build_layer.wheel_tags(filename)) is ok


def test_a_wrong_wheel_is_refused_with_its_name(tmp_path):
    wheel = tmp_path / "pillow-13.0.0-cp312-cp312-macosx_11_0_arm64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("PIL/__init__.py", "")
    with pytest.raises(build_layer.LayerError, match="macosx_11_0_arm64.whl: not a cp312 manylinux x86_64"):
        build_layer.write_layer(wheel, tmp_path / "layer.zip")
    assert not (tmp_path / "layer.zip").exists()
