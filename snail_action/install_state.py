"""What the action's cached virtual environment was built from, as GITHUB_OUTPUT lines.

Run by action.yml before anything is installed, so it uses the standard library only:

    python snail_action/install_state.py ACTION_PATH >> "$GITHUB_OUTPUT"

prints `lock=` (a digest of requirements-action.txt: the dependencies), `source=` (a digest of what
`pip install --no-deps` builds the action from), and `key=` / `restore-key=` for actions/cache: the
OS, the architecture, the exact interpreter, the lock, then the source. A cache restored by the
restore key (same dependencies, another version of the action) keeps its dependencies and
reinstalls only the action. hashFiles() cannot be used: it reads only the workspace.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path

LOCK = "requirements-action.txt"
SOURCES = ("pyproject.toml", "setup.py", "snail_action", "lambda/snail_backend", "cloudformation/template.yaml")


def lock_digest(root: Path) -> str:
    return hashlib.sha256((root / LOCK).read_bytes()).hexdigest()[:32]


def source_digest(root: Path) -> str:
    """Every file the action's package is built from, by relative path and content."""
    h = hashlib.sha256()
    for top in SOURCES:
        base = root / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            rel = path.relative_to(root).as_posix().encode()
            data = path.read_bytes()
            h.update(b"%d:%s%d:" % (len(rel), rel, len(data)) + data)
    return h.hexdigest()[:32]


def outputs(root: Path, runner_os: str, arch: str) -> dict[str, str]:
    interpreter = f"{platform.python_implementation()}{platform.python_version()}"
    prefix = f"snail-images-venv-{runner_os}-{arch}-{interpreter}-{lock_digest(root)}-"
    source = source_digest(root)
    return {"lock": lock_digest(root), "source": source, "key": prefix + source, "restore-key": prefix}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: install_state.py ACTION_PATH", file=sys.stderr)
        return 2
    values = outputs(Path(argv[1]), os.environ.get("RUNNER_OS", sys.platform), os.environ.get("RUNNER_ARCH",
                                                                                             platform.machine()))
    for name, value in values.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
