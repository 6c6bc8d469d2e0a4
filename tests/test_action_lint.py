"""The workflows `make lint` checks are all there.

`make lint` runs check-jsonschema (GitHub's action and workflow schemas) and `zizmor --offline` on
action.yml and every workflow, naming each file explicitly: zizmor given a plain folder such as
examples/workflows/ looks for .github/workflows inside it and audits nothing there. Each linter runs
once, there, and not again in the tests.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "examples/workflows").glob("*.yml"),
                                                      *(ROOT / ".github/workflows").glob("*.yml")])


def test_there_are_workflows_to_check():
    assert {"examples/workflows/push.yml", "examples/workflows/pull-request-check.yml",
            "examples/workflows/reconcile.yml", ".github/workflows/selftest.yml"} <= set(WORKFLOWS)
