"""`snail-images plan` and `snail-images check`: compute, show and check what a sync would send."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import TextIO

from .blobs import open_blob_reader
from .checks import check_puts
from .gitrange import GitRunner
from .model import Finding, Operation, Plan
from .plan_json import plan_json_text
from .planning import build_plan_and_range
from .planpipe import no_cycle_collection
from .report import Console, annotation_prefix, display_path, one_line, safe_text
from .settings import Settings


def _describe(op: Operation) -> str:
    if op.op == "delete":
        extra = f" -> {display_path(op.renamed_to)}" if op.renamed_to is not None else ""
        return f"  delete  {display_path(op.path)}  ({op.change}{extra})"
    bits = [op.change]
    if op.renamed_from is not None:
        bits[0] += f" from {display_path(op.renamed_from)}"
    bits += [op.content_type or "?", f"{op.size} bytes"]
    return f"  put     {display_path(op.path)}  ({', '.join(bits)})"


def _short(rev: str | None) -> str:
    return rev[:12] if rev else "(nothing)"


def print_plan(plan: Plan, source: str, out: TextIO) -> None:
    deletes, puts = plan.deletes, plan.puts
    print(f"Range {_short(plan.before)}..{_short(plan.after)} from {source}: {len(puts)} put(s), "
          f"{len(deletes)} delete(s), {len(plan.rejected)} rejected, "
          f"{len(plan.warnings)} warning(s), {len(plan.skipped)} skipped", file=out)
    for op in plan.operations:
        print(_describe(op), file=out)
    for f in plan.rejected:
        print(f"  REJECTED {display_path(f.path)}: {one_line(f.reason)}", file=out)
    for f in plan.warnings:
        print(f"  warning {display_path(f.path)}: {one_line(f.reason)}", file=out)
    for f in plan.skipped:
        print(f"  skipped {display_path(f.path)}: {one_line(f.reason)}", file=out)


def _report(plan: Plan) -> None:
    """With --json, stdout holds only the JSON: rejections and warnings go to stderr."""
    for f in plan.rejected:
        print(f"snail-images: rejected {display_path(f.path)}: {one_line(f.reason)}", file=sys.stderr)
    for f in plan.warnings:
        print(f"snail-images: warning {display_path(f.path)}: {one_line(f.reason)}", file=sys.stderr)


def _annotate_all(plan: Plan, settings: Settings, extra: list[Finding] | None = None) -> None:
    """In GitHub Actions, annotations on stdout (where the runner reads workflow commands)."""
    if not settings.github_actions:
        return
    console = Console(sys.stdout, actions=True,
                      file_prefix=annotation_prefix(GitRunner(settings.path).root, settings.workspace))
    for level, findings in (("error", [*plan.rejected, *(extra or [])]), ("warning", plan.warnings)):
        for f in findings:
            console.annotate(level, f.path, f"{safe_text(f.path)}: {f.reason}")


def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    with no_cycle_collection():  # the plan's objects are not rescanned while its text is written either
        plan, rng = build_plan_and_range(settings)
        text = plan_json_text(plan) if getattr(args, "json", False) else None
        # The plan's objects (a few per changed file, none in a cycle) live until the command ends: set
        # aside from the cycle collector, which would otherwise walk them all once it is back on and
        # once more when the interpreter exits (10 ms on 25,000 changes).
        gc.freeze()
    if text is not None:
        print(text)
        _report(plan)
    else:
        print_plan(plan, rng.source, sys.stdout)
        _annotate_all(plan, settings)
    return 1 if plan.rejected else 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    plan, rng = build_plan_and_range(settings)
    with open_blob_reader(GitRunner(settings.path).root) as reader:
        failed = check_puts(plan, reader, settings)
    rejected = [*plan.rejected, *failed]
    for f in rejected:
        print(f"REJECTED {display_path(f.path)}: {one_line(f.reason)}")
    for f in plan.warnings:
        print(f"warning {display_path(f.path)}: {one_line(f.reason)}")
    _annotate_all(plan, settings, failed)
    good = len(plan.puts) - len(failed)
    print(f"Checked {len(plan.puts)} image(s) in {_short(plan.before)}..{_short(plan.after)} from {rng.source}: "
          f"{good} ok, {len(rejected)} rejected")
    return 1 if rejected else 0
