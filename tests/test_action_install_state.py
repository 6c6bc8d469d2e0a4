"""snail_action/install_state.py: the cache key of the action's environment follows what it is built from."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from snail_action import install_state

ROOT = Path(__file__).resolve().parents[1]


def action_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "action"
    for rel in (*install_state.SOURCES, install_state.LOCK):
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def test_the_source_digest_changes_with_the_package_and_only_with_it(tmp_path):
    action = action_copy(tmp_path)
    first = install_state.outputs(action, "Linux", "X64")
    (action / "snail_action" / "__pycache__").mkdir(exist_ok=True)
    (action / "snail_action" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"compiled")
    (action / "README.md").write_text("docs are not installed")
    assert install_state.outputs(action, "Linux", "X64") == first
    with open(action / "lambda" / "snail_backend" / "naming.py", "a") as f:
        f.write("# changed\n")
    second = install_state.outputs(action, "Linux", "X64")
    assert second["source"] != first["source"] and second["lock"] == first["lock"]
    assert second["restore-key"] == first["restore-key"] and second["key"] != first["key"]
    assert second["key"] == second["restore-key"] + second["source"]


def test_the_key_names_os_arch_interpreter_and_lock(tmp_path):
    action = action_copy(tmp_path)
    out = install_state.outputs(action, "macOS", "ARM64")
    assert out["restore-key"].startswith("snail-images-venv-macOS-ARM64-CPython3.")
    with open(action / install_state.LOCK, "a") as f:
        f.write("# regenerated\n")
    changed = install_state.outputs(action, "macOS", "ARM64")
    assert changed["lock"] != out["lock"] and changed["restore-key"] != out["restore-key"]


def test_it_runs_as_a_script_with_the_standard_library_only(tmp_path):
    action = action_copy(tmp_path)
    proc = subprocess.run([sys.executable, "-I", "-S", str(action / "snail_action" / "install_state.py"), str(action)],
                          capture_output=True, text=True, check=True, env={"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"})
    lines = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    assert lines == install_state.outputs(action, "Linux", "X64")
