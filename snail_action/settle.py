"""After a clean run: move the sync marker, and what a run does when another moved it first.

The move is conditional (from the commit this run read, to its `after`). When it fails, another
run moved the marker to N meanwhile, and its sends and ours may have interleaved:
- N is an ancestor of `after` (the other run was behind this one): the backend holds N's tree
  except where our sends won; sending N..after completes `after`'s tree, then the move N -> after
  is tried again (a few times at most);
- otherwise (this run is behind N, or on unrelated history): the marker stays at N, never moved
  back. The paths this run wrote may now hold our content instead of N's, so they are set back to
  N's (the diff after -> N, limited to them). When `after` is not in N's history at all, this
  run's own commit is not what the backend holds: the run fails with that said, for a person to
  re-run or reconcile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .gitrange import Range, ensure_commit
from .marker import ancestry, move_marker
from .model import Plan
from .settings import SettingsError

if TYPE_CHECKING:
    from .sync import _Run

ATTEMPTS = 3


def _only(plan: Plan, paths: set[str]) -> Plan:
    return Plan(plan.before, plan.after, [op for op in plan.operations if op.path in paths],
                [f for f in plan.rejected if f.path in paths])


def settle(run: _Run, read: str | None, after: str) -> None:
    """Move the marker from `read` to `after`; when another run moved it first, re-plan or put back (above)."""
    key, client, report = run.key, run.client, run.report
    assert key is not None and client is not None  # noqa: S101 - settle runs only with both
    expected = read
    for _ in range(ATTEMPTS):
        moved, now = move_marker(client, key, expected, after)
        if moved or now == after:
            report.synced_commit = after
            if expected != after:
                run.note(f"moved from {expected[:12] if expected else 'nothing'} to {after[:12]}")
            return
        run.note(f"another run moved the marker to {now[:12] if now else 'nothing'} while this one was sending")
        if now is None:  # removed meanwhile: start it afresh
            expected = None
            continue
        try:
            newer = ensure_commit(run.runner, now, "sync marker", lambda m: run.console.line(m))
        except SettingsError as exc:
            report.synced_commit = now
            run.marker_failed(f"the marker moved to {now[:12]}, which this clone cannot fetch ({exc}); not moving it")
            return
        if ancestry(run.runner, newer, after):
            rng = Range(newer, after, "the sync marker, moved by a concurrent run (an ancestor of after)", "marker")
            run.note(f"re-planning from {newer[:12]}")
            plan = run.plan(rng)
            run.send(plan, plan.deletes, plan.puts, [])
            if not run.clean():
                report.synced_commit = now
                return
            expected = newer
            continue
        _restore(run, newer, after)
        report.synced_commit = now
        if ancestry(run.runner, after, newer):
            run.note(f"left at {newer[:12]}, which already holds this run's commit {after[:12]}")
        else:
            run.marker_failed(f"the marker moved to {newer[:12]}, whose history does not hold {after[:12]}: not "
                              "moving it back; re-run this job (it diffs from the marker) or run a reconcile")
        return
    report.synced_commit = now
    run.marker_failed(f"the marker kept moving ({ATTEMPTS} attempts); left at {now[:12] if now else 'nothing'}")


def _restore(run: _Run, newer: str, after: str) -> None:
    """The paths this run wrote, set back to the marker's content (another run may have written them after us)."""
    written = {r.path for r in run.report.results if r.outcome in ("completed", "deleted")}
    if not written:
        return
    plan = _only(run.plan(Range(after, newer, "this run's writes, back to the marker", "marker")), written)
    run.note(f"setting {len(plan.operations)} path(s) this run wrote back to the marker's content")
    run.send(plan, plan.deletes, plan.puts, [])
