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

from .blobs import open_blob_reader
from .checks import check_puts
from .client import NOT_SENT, ApiClient, ApiError, ApiResponse, RetryPolicy
from .gitrange import GitRunner, MarkerGone, Range, resolve_range
from .marker import NoSyncRoute, marker_key, read_marker
from .model import Operation, Plan
from .planning import Policy, git_failures, plan_range
from .report import Console, Result, SyncReport, annotation_prefix, progress_line, summary_line
from .settings import Settings, SettingsError

FINAL_STATUSES = ("completed", "failed")


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


# -- applying one operation ------------------------------------------------------------------------

def _registration_result(op: Operation, resp: ApiResponse) -> Result:
    body = resp.fields
    images = body.get("images") if isinstance(body.get("images"), dict) else {}
    raw = images.get("raw") if isinstance(images.get("raw"), dict) else {}
    key = raw.get("key")
    if not resp.ok:
        return Result(op.op, op.path, "failed", resp.status, None, resp.error_message)
    if body.get("hash") and op.sha256 and body["hash"] != op.sha256:
        return Result(op.op, op.path, "failed", resp.status, key,
                      f"the backend registered hash {str(body['hash'])[:12]}, not {op.sha256[:12]}")
    status = body.get("status")
    if status == "failed":
        return Result(op.op, op.path, "failed", resp.status, key,
                      str(body.get("error_message") or body.get("message") or "processing failed"))
    if body.get("unchanged"):
        return Result(op.op, op.path, "unchanged", resp.status, key, "")
    if status == "completed":
        note = "duplicate content" if body.get("duplicate") else ""
        return Result(op.op, op.path, "completed", resp.status, key, note)
    return Result(op.op, op.path, "failed", resp.status, key, f"unexpected registration status {status!r}")


class _Applier:
    def __init__(self, client: ApiClient, reader: Any, settings: Settings, options: SyncOptions):
        self.client = client
        self.reader = reader
        self.limit = settings.direct_upload_limit
        self.options = options

    def delete(self, op: Operation) -> Result:
        resp = self.client.delete_image(op.path)
        if not resp.ok:
            return Result("delete", op.path, "failed", resp.status, None, resp.error_message)
        if resp.fields.get("deleted") == 0:
            return Result("delete", op.path, "unchanged", resp.status, None, "was not registered")
        return Result("delete", op.path, "deleted", resp.status, None, "")

    def put(self, op: Operation) -> Result:
        data = self.reader.read(op.blob)
        if len(data) > self.limit:
            return self._put_large(op, data)
        resp = self.client.put_image(op.path, data, op.content_type or "application/octet-stream", op.sha256 or "")
        if resp.status == 413:
            # The gateway in front may allow less than our limit assumes: the presigned path has no such cap.
            return self._put_large(op, data)
        result = _registration_result(op, resp)
        if resp.ok and resp.fields.get("status") == "pending":
            return self._wait(op)
        return result

    def _put_large(self, op: Operation, data: bytes) -> Result:
        """POST /uploads, the bytes straight to storage with the presigned URL, then wait for processing.

        A 403 from storage usually means the URL expired before its turn came (a long queue, a slow
        runner; it lives UPLOAD_URL_EXPIRES seconds): a fresh URL is asked for once before giving up.
        """
        for fresh in (False, True):
            up = self.client.create_upload(op.path, op.content_type or "application/octet-stream", len(data),
                                           op.sha256 or "")
            if not up.ok:
                return Result("put", op.path, "failed", up.status, None,
                              f"upload request refused: {up.error_message}")
            body = up.fields
            url, method = body.get("url"), body.get("method") or "PUT"
            if not isinstance(url, str):
                return Result("put", op.path, "failed", up.status, None, "upload request answered without a URL")
            headers = body.get("headers") if isinstance(body.get("headers"), dict) else {}
            sent = self.client.upload_presigned(url, method, headers, data)
            if sent.ok:
                return self._wait(op)
            if sent.status != 403 or fresh:
                again = " (with a fresh upload URL too)" if fresh else ""
                return Result("put", op.path, "failed", sent.status, None,
                              f"presigned upload to storage failed{again}: HTTP {sent.status} {sent.error_message}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, op: Operation) -> Result:
        """Poll GET until the registration of this content is completed or failed."""
        opts = self.options
        deadline = time.monotonic() + opts.poll_timeout
        interval = opts.poll_interval
        last = "not registered yet"
        while True:
            resp = self.client.get_image(op.path)
            body = resp.fields
            if resp.ok and body.get("hash") == op.sha256 and body.get("status") in FINAL_STATUSES:
                return _registration_result(op, resp)
            if resp.ok:
                last = f"status {body.get('status')!r}"
            elif resp.status != 404:
                last = f"HTTP {resp.status} {resp.error_message}"
            if time.monotonic() + interval > deadline:
                return Result("put", op.path, "failed", resp.status if resp.ok else None, None,
                              f"not processed within {opts.poll_timeout:.0f}s ({last}); "
                              f"look later with `snail-images status {op.path}`")
            opts.sleep(interval)
            interval = min(opts.poll_max_interval, interval * 1.5)


def _guard(fn: Callable[[Operation], Result], op: Operation) -> Result:
    """One file's failure is its own: reported, never allowed to stop the others."""
    try:
        return fn(op)
    except ApiError as exc:
        return Result(op.op, op.path, "failed", exc.status, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - any surprise on one file must not stop the rest
        return Result(op.op, op.path, "failed", None, None, f"{type(exc).__name__}: {exc}")


# -- the whole sync --------------------------------------------------------------------------------

def scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret and text else text


def make_client(settings: Settings, session: requests.Session | None, options: SyncOptions,
                console: Console) -> ApiClient:
    if not settings.api_url:
        raise SettingsError("no api-url: give --api-url or SNAIL_API_URL (the API stage URL)")

    def on_retry(what: str, why: str) -> None:
        console.line(f"  retrying {what}: {why}")

    return ApiClient(settings.api_url, api_key=settings.api_key, sign_aws=settings.sign_aws,
                     region=settings.aws_region, session=session, pool_size=settings.concurrency,
                     retry=options.retry, on_retry=on_retry)


def console_for(settings: Settings, stream: TextIO | None = None) -> Console:
    """The one console of a run: workflow commands in Actions, files named relative to the workspace."""
    prefix = ""
    if settings.github_actions and settings.workspace:
        prefix = annotation_prefix(GitRunner(settings.repo).root, settings.workspace)
    return Console(stream, actions=settings.github_actions, file_prefix=prefix)


def _refuse_pull_request(settings: Settings, dry: bool) -> None:
    if (not dry and (settings.event_name or "").startswith("pull_request") and settings.before is None
            and settings.after is None and not settings.all_files):
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
    runner = GitRunner(settings.repo)
    client = make_client(settings, session, options, console) if settings.mode == "reconcile" or not dry else None
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
        report, settings = self.report, self.settings
        marker = self._read_marker()
        mode = settings.mode
        try:
            rng = self._range(marker) if mode != "reconcile" else None
        except MarkerGone as gone:
            self._note(f"{gone}: reconciling against the catalog instead")
            mode = report.mode = "reconcile"
            rng = None
        if rng is None:
            rng = replace(self._resolve(replace(settings, all_files=True)), basis="reconcile",
                          source="the repository at after against the catalog")
        report.before, report.after = (None if mode == "reconcile" else rng.before), rng.after
        report.basis, report.why = rng.basis, rng.source
        plan = self._plan(rng)
        report.warnings = [(f.path, f.reason) for f in plan.warnings]
        report.skipped = len(plan.skipped)
        with open_blob_reader(self.runner.root) as self.reader:
            if mode == "reconcile":
                assert self.client is not None  # noqa: S101 - reconcile always makes one
                with self.console.group("Reading the backend catalog"):
                    catalog = list(self.client.list_images())
                    self.console.line(f"catalog: {len(catalog)} live file(s); repository at {plan.after[:12]}: "
                                      f"{len(plan.puts)} image(s)")
                deletes, puts, same = reconcile_operations(plan, catalog,
                                                           Policy.from_settings(settings).out_of_scope)
                self._send(plan, deletes, puts, same)
            else:
                self._send(plan, plan.deletes, plan.puts, [])
            if self.key is None:
                return
            report.synced_commit = marker
            if self.dry or not self._clean():
                return
            if mode != "reconcile" and marker is not None and rng.before != marker:
                # An explicit range that does not start at the marker says nothing of the marker's tree.
                self._note(f"the range started at {(rng.before or 'nothing')[:12]}, not at the marker "
                           f"{marker[:12]}: the marker stays")
                return
            self._settle(marker, rng.after, reconciling=mode == "reconcile")

    # -- range and plan ----------------------------------------------------------------------------
    def _read_marker(self) -> str | None:
        if self.key is None or self.settings.mode == "check":
            return None
        assert self.client is not None  # noqa: S101 - a key is only made with a client
        try:
            return read_marker(self.client, self.key)
        except NoSyncRoute as exc:
            self._note(str(exc))
            self.key = None
            return None

    def _resolve(self, settings: Settings, marker: str | None = None) -> Range:
        with git_failures(settings):
            return resolve_range(settings, self.runner, marker=marker)

    def _range(self, marker: str | None) -> Range:
        return self._resolve(self.settings, marker)

    def _plan(self, rng: Range) -> Plan:
        with git_failures(self.settings):
            return plan_range(self.settings, self.runner, rng)

    # -- checks and sending ------------------------------------------------------------------------
    def _send(self, plan: Plan, deletes: list[Operation], puts: list[Operation], same: list[Operation]) -> None:
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
        applier = _Applier(self.client, self.reader, settings, self.options)
        try:
            _run_all(self.console, counter, f"Deleting {len(deletes)} file(s)", applier.delete, deletes,
                     settings.concurrency)
            _run_all(self.console, counter, f"Sending {len(puts)} image(s)", applier.put, puts, settings.concurrency)
        finally:
            self.report.setup_error = self.client.refused

    def _clean(self) -> bool:
        """Every operation ended put, deleted or unchanged (nothing failed, rejected or unsent)."""
        return self.report.ok and not self.report.setup_error

    def _note(self, text: str) -> None:
        self.report.notes.append(text)

    # -- the marker --------------------------------------------------------------------------------
    def _settle(self, read: str | None, after: str, *, reconciling: bool) -> None:
        """Move the marker from what this run read to `after`; on a lost race, re-plan or stop."""
        from .settle import settle

        settle(self, read, after, reconciling=reconciling)


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
        futures = [pool.submit(_guard, fn, op) for op in ops]
        for fut in as_completed(futures):
            counter.add(fut.result())


