"""`snail-images sync` and `status`: apply the plan to the backend over HTTP.

Order of work: plan; pick what to send (diff: the plan; reconcile: the repository at `after`
against the live catalog); check every put with the backend's own validation; then deletes,
then puts, each group concurrently over one pooled session. A file that fails is reported and
the others go on; the exit status is 1 when anything failed or was rejected, after all were tried.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import requests

from .client import AUTH_REFUSED_STATUSES, NOT_SENT, ApiClient, ApiError, ApiResponse, RetryPolicy
from .delivery_links import finish_extras, urls_of
from .model import Operation, Plan
from .report import (
    Console,
    Result,
    SyncReport,
    add_mask,
    annotation_prefix,
    append_summary,
    outputs_for,
    progress_line,
    summary_line,
    summary_markdown,
    write_outputs,
    write_results,
)
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

def _object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or {} when the answer has something else there."""
    return value if isinstance(value, dict) else {}


def _registration_result(op: Operation, resp: ApiResponse) -> Result:
    body = resp.fields
    images = _object(body.get("images"))
    raw = _object(images.get("raw"))
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
        return Result(op.op, op.path, "unchanged", resp.status, key, "", urls_of(body) or None)
    if status == "completed":
        note = "duplicate content" if body.get("duplicate") else ""
        return Result(op.op, op.path, "completed", resp.status, key, note, urls_of(body) or None)
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
            headers = _object(body.get("headers"))
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

def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret and text else text


def _make_client(settings: Settings, session: requests.Session | None, options: SyncOptions,
                 console: Console) -> ApiClient:
    if not settings.api_url:
        raise SettingsError("no api-url: give --api-url or SNAIL_API_URL (the API stage URL)")

    def on_retry(what: str, why: str) -> None:
        console.line(f"  retrying {what}: {why}")

    return ApiClient(settings.api_url, api_key=settings.api_key, sign_aws=settings.aws_sign,
                     region=settings.aws_region, session=session, pool_size=settings.concurrency,
                     retry=options.retry, on_retry=on_retry)


def sync(settings: Settings, session: requests.Session | None = None, *, out: TextIO | None = None,
         options: SyncOptions | None = None) -> SyncReport:
    """Plan, check and apply; returns every file's outcome. Raises SettingsError for bad setup."""
    from .blobs import open_blob_reader
    from .checks import check_puts
    from .planning import Policy, build_plan

    options = options or SyncOptions()
    console = Console(out, actions=settings.github_actions, file_prefix=_file_prefix(settings))
    mode = settings.mode
    dry = settings.dry_run or mode == "check"
    if (not dry and (settings.event_name or "").startswith("pull_request") and settings.before is None
            and settings.after is None and not settings.all):
        # The range would be the pull request's own, not yet merged changes: sending them would put
        # images into the backend that the branch it mirrors does not have (and may never have).
        raise SettingsError(f"mode {mode} in a {settings.event_name} event would send the pull request's unmerged "
                            "changes: use mode check there (or give the range explicitly: before, after or --all)")
    plan = build_plan(replace(settings, all=True) if mode == "reconcile" else settings)
    report = SyncReport(mode=mode, before=None if mode == "reconcile" else plan.before, after=plan.after,
                        dry_run=dry, warnings=[(f.path, f.reason) for f in plan.warnings],
                        skipped=len(plan.skipped))
    client: ApiClient | None = None
    try:
        same: list[Operation] = []
        deletes, puts = plan.deletes, plan.puts
        if mode == "reconcile":
            client = _make_client(settings, session, options, console)
            with console.group("Reading the backend catalog"):
                catalog = list(client.list_images())
                console.line(f"catalog: {len(catalog)} live file(s); repository at {plan.after[:12]}: "
                             f"{len(plan.puts)} image(s)")
            deletes, puts, same = reconcile_operations(plan, catalog, Policy.from_settings(settings).out_of_scope)
        elif not dry:
            client = _make_client(settings, session, options, console)

        with open_blob_reader(settings.repo) as reader:
            findings = check_puts(Plan(plan.before, plan.after, list(puts)), reader, settings)
            refused = {f.path for f in findings}
            puts = [op for op in puts if op.path not in refused]
            rejected = [*plan.rejected, *findings]
            total = len(rejected) + len(same) + len(deletes) + len(puts)
            counter = _Counter(console, report, total, settings.api_key)
            for f in rejected:
                counter.add(Result("put", f.path, "rejected", None, None, f.reason))
            for op in same:
                counter.add(Result("put", op.path, "unchanged", None, None, "already in the catalog"))
            if dry:
                for op in [*deletes, *puts]:
                    counter.add(Result(op.op, op.path, "planned", None, None, _describe(op)))
            else:
                assert client is not None  # noqa: S101 - set above whenever not dry
                applier = _Applier(client, reader, settings, options)
                _run_all(console, counter, f"Deleting {len(deletes)} file(s)", applier.delete, deletes,
                         settings.concurrency)
                _run_all(console, counter, f"Sending {len(puts)} image(s)", applier.put, puts, settings.concurrency)
    finally:
        if client is not None:
            report.setup_error = client.refused
            client.close()
    for path, reason in report.warnings:
        console.annotate("warning", path, reason)
    for r in report.results:
        if r.is_failure and r.message != NOT_SENT:  # the one setup error stands for all of those
            console.annotate("error", r.path, f"{r.op} {r.outcome}: {r.message}" if r.message else r.outcome)
    console.line(summary_line(report))
    return report


def _file_prefix(settings: Settings) -> str:
    if not (settings.github_actions and settings.workspace):
        return ""
    from .gitrange import GitRunner

    return annotation_prefix(GitRunner(settings.repo).root, settings.workspace)


def _describe(op: Operation) -> str:
    if op.op == "delete":
        return f"{op.change}" + (f", renamed to {op.renamed_to}" if op.renamed_to else "")
    return f"{op.change}, {op.content_type}, {op.size} bytes"


class _Counter:
    """Collects results in finishing order and prints the running `[n/total]` line for each."""

    def __init__(self, console: Console, report: SyncReport, total: int, secret: str | None):
        self.console, self.report, self.total, self.secret = console, report, total, secret

    def add(self, result: Result) -> None:
        result.message = _scrub(result.message, self.secret)
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


# -- commands --------------------------------------------------------------------------------------

def finish(report: SyncReport, settings: Settings, env: Mapping[str, str]) -> int:
    """Results file, step outputs and job summary; then the exit status."""
    results_path = settings.results
    if results_path is None and env.get("GITHUB_OUTPUT") and env.get("RUNNER_TEMP"):
        # A file of its own for each run: a job may use the action several times (a sync, then a
        # reconcile), and each step's `results` output must still point at that step's results.
        fd, name = tempfile.mkstemp(prefix="snail-images-results-", suffix=".json", dir=env["RUNNER_TEMP"])
        os.close(fd)
        results_path = Path(name)
    if results_path is not None:
        write_results(results_path, report)
    url_outputs, url_table = finish_extras(report, results_path)
    if env.get("GITHUB_OUTPUT"):
        write_outputs(Path(env["GITHUB_OUTPUT"]), {**outputs_for(report, results_path), **url_outputs})
    if env.get("GITHUB_STEP_SUMMARY"):
        append_summary(Path(env["GITHUB_STEP_SUMMARY"]),
                       _scrub(summary_markdown(report) + url_table, settings.api_key))
    return 0 if report.ok else 1


def run_sync(args: argparse.Namespace | None, settings: Settings, env: Mapping[str, str] | None = None, *,
             masked: bool = False, options: SyncOptions | None = None) -> int:
    env = os.environ if env is None else env
    if settings.github_actions and settings.api_key and not masked:
        add_mask(settings.api_key)  # the action did this already; a plain `run: snail-images sync` has not
    try:
        report = sync(settings, options=options)
    except ApiError as exc:
        print(f"snail-images: error: {_scrub(str(exc), settings.api_key)}", file=sys.stderr)
        return 2 if exc.status in AUTH_REFUSED_STATUSES else 1
    status = finish(report, settings, env)
    if report.setup_error:
        print(f"snail-images: error: {_scrub(report.setup_error, settings.api_key)}", file=sys.stderr)
        return 2
    return status


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print the catalog record of each path (one JSON object per path); 1 if any is not registered."""
    console = Console(sys.stderr)  # stdout holds only the records
    status = 0
    with _make_client(settings, None, SyncOptions(), console) as client:
        for path in args.paths:
            try:
                resp = client.get_image(path)
            except ApiError as exc:
                print(f"snail-images: {path}: {_scrub(str(exc), settings.api_key)}", file=sys.stderr)
                status = 1
                continue
            if resp.ok:
                print(json.dumps(resp.body, ensure_ascii=False, indent=2))
            elif resp.status == 404:
                print(f"snail-images: {path}: not registered", file=sys.stderr)
                status = 1
            else:
                print(f"snail-images: {path}: HTTP {resp.status} {_scrub(resp.error_message, settings.api_key)}",
                      file=sys.stderr)
                status = 1
    return status

