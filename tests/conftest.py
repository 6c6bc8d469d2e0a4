from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import GitRepo  # noqa: E402


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty real git repository with a test identity."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The CLI reads os.environ: a runner's own GitHub variables (GITHUB_REPOSITORY and GITHUB_REF key the
    sync marker) and any SNAIL_* setting must not leak into a test."""
    for name in list(os.environ):
        if name.startswith(("SNAIL_", "GITHUB_")):
            monkeypatch.delenv(name)
    return monkeypatch
