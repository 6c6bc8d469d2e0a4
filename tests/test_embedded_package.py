"""`serve` and `demo` outside a clone: a built package carries the template; what is missing is said in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snail_action import cfn_template, cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cloudformation" / "template.yaml"


def _copy_sources(dest: Path) -> None:
    """What a package build reads, and nothing else (so no copy of the template sits beside the code)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "snail_action", dest / "snail_action", ignore=ignore)
    shutil.copytree(ROOT / "lambda" / "snail_backend", dest / "lambda" / "snail_backend", ignore=ignore)
    (dest / "cloudformation").mkdir()
    shutil.copy2(TEMPLATE, dest / "cloudformation" / "template.yaml")


@pytest.mark.slow
def test_a_built_package_carries_the_template_and_serve_runs_from_it(tmp_path):
    src, lib, work = tmp_path / "src", tmp_path / "lib", tmp_path / "elsewhere"
    src.mkdir()
    work.mkdir()
    _copy_sources(src)
    assert not (src / "snail_action" / cfn_template.PACKAGED_NAME).exists()
    # The build step a wheel build (`pip install .`) runs.
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=src,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    packaged = lib / "snail_action" / cfn_template.PACKAGED_NAME
    assert packaged.read_bytes() == TEMPLATE.read_bytes()
    assert not (src / "snail_action" / cfn_template.PACKAGED_NAME).exists()  # the source tree stays as it was
    # The gallery's template is package data: a wheel without it would fail the demo at its last step.
    shipped = lib / "snail_action" / "demo" / "templates" / "gallery.html.j2"
    assert shipped.read_bytes() == (ROOT / "snail_action" / "demo" / "templates" / "gallery.html.j2").read_bytes()

    # The built package alone, away from the clone: the template it finds is its own copy, and serve starts.
    env = {**os.environ, "PYTHONPATH": str(lib)}
    where = subprocess.run([sys.executable, "-c", "from snail_action import cfn_template as c; print(c.TEMPLATE_PATH)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == packaged.resolve()
    ready = work / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "snail_action", "serve", "--ready-file", str(ready)], cwd=work,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read() if proc.poll() is not None else "no ready file"
        assert json.loads(ready.read_text())["table"] == "image-metadata"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_without_the_template_serve_and_demo_say_what_to_do_in_one_line(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cfn_template, "TEMPLATE_PATH", tmp_path / "nowhere" / "template.yaml")
    out = tmp_path / "demo-output"
    assert cli.main([command] + (["--out", str(out)] if command == "demo" else [])) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"snail-images {command}: error:") and "template.yaml is not installed" in err
    assert "pip install ." in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_without_the_embedded_extra_serve_and_demo_name_what_to_install(command, tmp_path):
    # moto hidden, as after a plain `pip install .` (the action's own install) that leaves the extra out.
    out = tmp_path / "demo-output"
    args = [command] + (["--out", str(out)] if command == "demo" else [])
    code = ("import sys; sys.modules['moto'] = None\n"
            "from snail_action import cli\n"
            f"sys.exit(cli.main({args!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"snail-images {command}: error:")
    assert "moto" in line and "pip install 'snail-images-action[embedded]'" in line
    assert not out.exists()


def test_an_sdist_carries_the_template_so_a_wheel_built_from_it_gets_its_copy(tmp_path):
    import tarfile

    src, dist = tmp_path / "src", tmp_path / "dist"
    src.mkdir()
    _copy_sources(src)
    done = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], cwd=src,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    (archive,) = dist.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        assert "setup.py" in members
        assert tar.extractfile(members["cloudformation/template.yaml"]).read() == TEMPLATE.read_bytes()
