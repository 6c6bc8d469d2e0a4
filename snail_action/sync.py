"""`snail-images sync`'s work: the range, its plan, the checks, the sends and the sync marker.

Order of work, one descent: read the sync marker; resolve the range (from the marker, the input or
the event); plan it (diff: its changes; reconcile: the repository at `after` against the live
catalog); check every put with the backend's own validation; then deletes, then puts, each group
concurrently over one pooled session; then, when every operation ended put, deleted or unchanged,
move the marker (settle.py). A file that fails is reported and the others go on. The command, its
outputs and its exit status are in sync_cmd.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any, TextIO

import requests

from .applier import Applier, guard
from .blobs import open_blob_reader
from .checks import check_puts
from .client import NOT_SENT, ApiClient, ApiError, RetryPolicy
from .gitcmd import GitRunner
from .gitrange import MarkerGone, Range, resolve_range
from .marker import NoSyncRoute, marker_key, read_marker
from .model import Operation, Plan
from .planning import Policy, git_failures, plan_range
from .report import Console, Result, SyncReport, annotation_prefix, progress_line, summary_line
from .settings import Settings, SettingsError
from .settle import settle


@dataclass(frozen=True)
class SyncOptions:
    """Knobs that are not user settings: tests shorten the waits."""

    retry: RetryPolicy = RetryPolicy()
    poll_timeout: float = 600.0  # how long a large upload may take to be processed
    poll_interval: float = 1.0
    poll_max_interval: float = 10.0
    sleep: Callable[[float], None] = time.sleep


# -- choosing the operations -----------------------------------------------------------------------

def reconcile_operations(plan: Plan, catalog: Iterable[Mapping[str, Any]],
                         out_of_scope: Callable[[str], object] = lambda path: None,
                         ) -> tuple[list[Operation], list[Operation], list[Operation]]:
    """(deletes, puts, unchanged puts) that make the catalog match the repository at `after`.

    `plan` lists every image at `after` as a put. A put is needed when the catalog lacks the path,
    holds another hash, or holds it in a state other than completed (failed or stuck pending).
    A catalog entry whose path is no longer a sendable image at `after` is deleted: gone, or now a
    symlink or submodule (a diff sync of that change deletes it too). Paths whose image is still
    there but refused (rejected: broken, LFS pointer) are left alone, as a diff sync leaves them,
    and so are catalog paths outside the include/exclude globs (`out_of_scope`): not ours to manage.
    """
    live: dict[str, Mapping[str, Any]] = {}
    for entry in catalog:
        path = entry.get("registered_file")
        if isinstance(path, str) and entry.get("status") != "deleted":
            live[path] = entry
    puts: list[Operation] = []
    same: list[Operation] = []
    for op in plan.puts:
        have = live.get(op.path)
        if have is not None and have.get("hash") == op.sha256 and have.get("status") == "completed":
            same.append(op)
        else:
            puts.append(op)
    # Not plan.skipped: with every tracked file listed, a skipped image path is a symlink or a
    # submodule (never sent), and the out-of-scope ones are kept by `out_of_scope` below.
    known = {op.path for op in plan.operations}
    known.update(f.path for f in [*plan.rejected, *plan.warnings])
    deletes = [Operation("delete", path, "D") for path in sorted(live) if path not in known and not out_of_scope(path)]
    return deletes, puts, same


# -- the whole sync --------------------------------------------------------------------------------

def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret and text else text


def make_client(settings: Settings, session: requests.Session | None, options: SyncOptions,
                console: Console) -> ApiClient:
    if not settings.api_url:
        raise SettingsError("no api-url: give --api-url or SNAIL_API_URL (the API stage URL)")

    def on_retry(what: str, why: str) -> None:
        console.line(f"  retrying {what}: {why}")

    return ApiClient(settings.api_url, api_key=settings.api_key, sign_aws=settings.aws_sign,
                     region=settings.aws_region, session=session, pool_size=settings.concurrency,
                     retry=options.retry, on_retry=on_retry)


def console_for(settings: Settings, stream: TextIO | None = None) -> Console:
    """The one console of a run: workflow commands in Actions, files named relative to the workspace."""
    prefix = ""
    if settings.github_actions and settings.workspace:
        prefix = annotation_prefix(GitRunner(settings.path).root, settings.workspace)
    return Console(stream, actions=settings.github_actions, file_prefix=prefix)


def _refuse_pull_request(settings: Settings, dry: bool) -> None:
    if (not dry and (settings.event_name or "").startswith("pull_request") and settings.before is None
            and settings.after is None and not settings.all):
        # The range would be the pull request's own, not yet merged changes: sending them would put
        # images into the backend that the branch it mirrors does not have (and may never have).
        raise SettingsError(f"mode {settings.mode} in a {settings.event_name} event would send the pull request's "
                            "unmerged changes: use mode check there (or give the range explicitly: before, after "
                            "or --all)")


def sync(settings: Settings, session: requests.Session | None = None, *, out: TextIO | None = None,
         options: SyncOptions | None = None, console: Console | None = None) -> SyncReport:
    """Range -> changes -> plan -> checks -> send -> marker; returns every file's outcome.

    Raises SettingsError for bad setup. `console` is the run's one console (sync_cmd makes it)."""
    options = options or SyncOptions()
    console = console or console_for(settings, out)
    dry = settings.dry_run or settings.mode == "check"
    _refuse_pull_request(settings, dry)
    runner = GitRunner(settings.path)
    # A dry run with an API to ask reads the marker too, so that it shows the range a sync would send.
    wanted = settings.mode == "reconcile" or not dry or (
        settings.mode == "diff" and bool(settings.api_url and settings.repository_name))
    client = make_client(settings, session, options, console) if wanted else None
    try:
        run = _Run(settings, runner, client, console, options, dry)
        run.all()
    finally:
        if client is not None:
            client.close()
    report = run.report
    for path, reason in report.warnings:
        console.annotate("warning", path, reason)
    for r in report.results:
        if r.is_failure and r.message != NOT_SENT:  # the one setup error stands for all of those
            console.annotate("error", r.path, f"{r.op} {r.outcome}: {r.message}" if r.message else r.outcome)
    for note in report.notes:
        console.line(f"sync marker: {note}")
    console.line(summary_line(report))
    return report


class _Run:
    """One sync: everything the layers share, handed to each once."""

    def __init__(self, settings: Settings, runner: GitRunner, client: ApiClient | None, console: Console,
                 options: SyncOptions, dry: bool):
        self.settings, self.runner, self.client, self.console = settings, runner, client, console
        self.options, self.dry = options, dry
        self.report = SyncReport(mode=settings.mode, before=None, after=None, dry_run=dry)
        self.counter = _Counter(console, self.report, 0, settings.api_key)
        self.key = marker_key(settings.repository_name, settings.ref, runner) if client is not None else None

    def all(self) -> None:
        marker = self._read_marker()
        rng, mode = self._range(marker)
        plan = self.plan(rng)
        report = self.report
        report.mode, report.basis, report.why = mode, rng.basis, rng.source
        report.before, report.after = (None if mode == "reconcile" else rng.before), rng.after
        report.warnings = [(f.path, f.reason) for f in plan.warnings]
        report.skipped = len(plan.skipped)
        with open_blob_reader(self.runner.root) as self.reader:
            self.send(plan, *self._operations(plan, mode))
            self._record(marker, rng, mode)

    # -- range and plan ----------------------------------------------------------------------------
    def _read_marker(self) -> str | None:
        if self.key is None or self.settings.mode == "check":
            return None
        assert self.client is not None  # noqa: S101 - a key is only made with a client
        try:
            return read_marker(self.client, self.key)
        except NoSyncRoute as exc:
            self.note(str(exc))
            self.key = None
            return None

    def _range(self, marker: str | None) -> tuple[Range, str]:
        """(the range, the mode): from the marker, the input or the event; a marker gone means reconcile."""
        settings = self.settings
        with git_failures(settings):
            if settings.mode != "reconcile":
                try:
                    return resolve_range(settings, self.runner, marker=marker), settings.mode
                except MarkerGone as gone:
                    self.note(f"{gone}: reconciling against the catalog instead")
            rng = resolve_range(replace(settings, all=True), self.runner)
        return replace(rng, basis="reconcile", source="the repository at after against the catalog"), "reconcile"

    def plan(self, rng: Range) -> Plan:
        with git_failures(self.settings):
            return plan_range(self.settings, self.runner, rng)

    def _operations(self, plan: Plan, mode: str) -> tuple[list[Operation], list[Operation], list[Operation]]:
        """(deletes, puts, unchanged puts): the plan's, or in reconcile what the live catalog lacks."""
        if mode != "reconcile":
            return plan.deletes, plan.puts, []
        assert self.client is not None  # noqa: S101 - reconcile always makes one
        with self.console.group("Reading the backend catalog"):
            catalog = list(self.client.list_images())
            self.console.line(f"catalog: {len(catalog)} live file(s); repository at {plan.after[:12]}: "
                              f"{len(plan.puts)} image(s)")
        return reconcile_operations(plan, catalog, Policy.from_settings(self.settings).out_of_scope)

    # -- checks and sending ------------------------------------------------------------------------
    def send(self, plan: Plan, deletes: list[Operation], puts: list[Operation], same: list[Operation]) -> None:
        settings, counter = self.settings, self.counter
        findings = check_puts(Plan(plan.before, plan.after, list(puts)), self.reader, settings)
        refused = {f.path for f in findings}
        puts = [op for op in puts if op.path not in refused]
        rejected = [*plan.rejected, *findings]
        counter.total += len(rejected) + len(same) + len(deletes) + len(puts)
        for f in rejected:
            counter.add(Result("put", f.path, "rejected", None, None, f.reason))
        for op in same:
            counter.add(Result("put", op.path, "unchanged", None, None, "already in the catalog"))
        if self.dry:
            for op in [*deletes, *puts]:
                counter.add(Result(op.op, op.path, "planned", None, None, _describe(op)))
            return
        assert self.client is not None  # noqa: S101 - set whenever not dry
        applier = Applier(self.client, self.reader, settings, self.options)
        try:
            _run_all(self.console, counter, f"Deleting {len(deletes)} file(s)", applier.delete, deletes,
                     settings.concurrency)
            _run_all(self.console, counter, f"Sending {len(puts)} image(s)", applier.put, puts, settings.concurrency)
        finally:
            self.report.setup_error = self.client.refused

    def clean(self) -> bool:
        """Every operation ended put, deleted or unchanged (nothing failed, rejected or unsent)."""
        return self.report.ok and not self.report.setup_error

    def note(self, text: str) -> None:
        self.report.notes.append(text)

    # -- the marker --------------------------------------------------------------------------------
    def _record(self, marker: str | None, rng: Range, mode: str) -> None:
        """After a clean, real run whose range started at the marker: move it (settle.py)."""
        if self.key is None:
            return
        self.report.synced_commit = marker
        if self.dry or not self.clean() or (mode != "reconcile" and rng.before == rng.after != marker):
            return  # (an empty range that is not the marker's: a deleted branch, nothing to record)
        if mode != "reconcile" and marker is not None and rng.before != marker:
            # An explicit range that does not start at the marker says nothing of the marker's tree.
            self.note(f"the range started at {(rng.before or 'nothing')[:12]}, not at the marker {marker[:12]}: "
                      "the marker stays")
            return
        try:
            settle(self, marker, rng.after)
        except ApiError as exc:  # the images went through: report it with them, not instead of them
            self.marker_failed(f"the marker was not moved: {exc}", exc.status)

    def marker_failed(self, message: str, status: int | None = None) -> None:
        """The run's own files went through, but the marker could not be settled: the run fails with this."""
        assert self.key is not None  # noqa: S101 - only after a key was used
        self.counter.total += 1
        self.counter.add(Result("marker", self.key.ref, "failed", status, None, message))


def _describe(op: Operation) -> str:
    if op.op == "delete":
        return f"{op.change}" + (f", renamed to {op.renamed_to}" if op.renamed_to else "")
    return f"{op.change}, {op.content_type}, {op.size} bytes"


class _Counter:
    """Collects results in finishing order and prints the running `[n/total]` line for each."""

    def __init__(self, console: Console, report: SyncReport, total: int, secret: str | None):
        self.console, self.report, self.total, self.secret = console, report, total, secret

    def add(self, result: Result) -> None:
        result.message = scrub(result.message, self.secret)
        self.report.results.append(result)
        self.console.line(progress_line(len(self.report.results), self.total, result))


def _run_all(console: Console, counter: _Counter, title: str, fn: Callable[[Operation], Result],
             ops: list[Operation], concurrency: int) -> None:
    if not ops:
        return
    with console.group(title), ThreadPoolExecutor(max_workers=min(concurrency, len(ops)),
                                                  thread_name_prefix="snail-sync") as pool:
        futures = [pool.submit(guard, fn, op) for op in ops]
        for fut in as_completed(futures):
            counter.add(fut.result())


