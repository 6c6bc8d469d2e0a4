"""action.yml and every workflow pass check-jsonschema's GitHub schemas and `zizmor --offline`.

`make lint` runs the same tools; this names every file explicitly, since zizmor given a plain folder
such as examples/workflows/ looks for .github/workflows inside it and audits nothing there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "examples/workflows").glob("*.yml"),
                                                      *(ROOT / ".github/workflows").glob("*.yml")])


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (it is in the dev extra)")
    return found


def test_there_are_workflows_to_check():
    assert {"examples/workflows/push.yml", "examples/workflows/pull-request-check.yml",
            "examples/workflows/reconcile.yml", ".github/workflows/selftest.yml"} <= set(WORKFLOWS)


def test_action_matches_the_github_actions_schema():
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_match_the_github_workflows_schema():
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing():
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "action.yml", *WORKFLOWS],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ["action.yml", *WORKFLOWS]:
        assert f"completed {name}" in proc.stderr, f"zizmor did not audit {name}"
