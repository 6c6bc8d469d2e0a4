from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import GitRepo  # noqa: E402


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty real git repository with a test identity."""
    return GitRepo(tmp_path / "repo")
