"""Every input and output of action.yml is documented in README.md's tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def table_rows(markdown: str, header_first_cell: str) -> set[str]:
    """First-cell names (backticks stripped) of every table whose header starts with `header_first_cell`."""
    names: set[str] = set()
    in_table = False
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            in_table = False
            continue
        if not in_table:
            in_table = cells[0] == header_first_cell
            continue
        if re.fullmatch(r":?-+:?", cells[0]):
            continue
        names.add(cells[0].strip("`"))
    return names


@pytest.fixture(scope="module")
def readme() -> str:
    path = ROOT / "README.md"
    assert path.exists(), "README.md is missing"
    return path.read_text(encoding="utf-8")


def test_every_input_is_in_the_inputs_table(readme):
    documented = table_rows(readme, "input")
    missing = set(ACTION["inputs"]) - documented
    assert not missing, f"inputs not in README's `| input | default | description |` table: {sorted(missing)}"
    for name, spec in ACTION["inputs"].items():
        default = str(spec.get("default", ""))
        if default:
            row = next(ln for ln in readme.splitlines() if ln.startswith(f"| `{name}` |"))
            assert f"`{default}`" in row, f"README gives another default for {name} than action.yml ({default})"


def test_every_output_is_in_the_outputs_table(readme):
    documented = table_rows(readme, "output")
    missing = set(ACTION["outputs"]) - documented
    assert not missing, f"outputs not in README's `| output | description |` table: {sorted(missing)}"
