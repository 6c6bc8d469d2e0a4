"""`snail-images sync` and `status`: the commands, their GitHub outputs and their exit status.

The command sets up what every layer below shares once -- the masking of the API key, the console
(workflow commands and the annotation prefix) -- and hands them down: sync.sync runs the descent
range -> changes -> plan -> checks -> send -> marker, and `finish` writes the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .client import AUTH_REFUSED_STATUSES, ApiError
from .delivery_links import finish_extras
from .gitcmd import GitRunner
from .marker import NoSyncRoute, marker_key, read_marker
from .report import (
    Console,
    SyncReport,
    add_mask,
    append_summary,
    outputs_for,
    summary_markdown,
    write_outputs,
    write_results,
)
from .settings import Settings, SettingsError
from .sync import SyncOptions, console_for, make_client, scrub, sync


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
                       scrub(summary_markdown(report) + url_table, settings.api_key))
    return 0 if report.ok else 1


def run_sync(args: argparse.Namespace | None, settings: Settings, env: Mapping[str, str] | None = None, *,
             masked: bool = False, options: SyncOptions | None = None) -> int:
    env = os.environ if env is None else env
    if settings.github_actions and settings.api_key and not masked:
        add_mask(settings.api_key)  # the action did this already; a plain `run: snail-images sync` has not
    try:
        report = sync(settings, options=options, console=console_for(settings))
    except ApiError as exc:
        print(f"snail-images: error: {scrub(str(exc), settings.api_key)}", file=sys.stderr)
        return 2 if exc.status in AUTH_REFUSED_STATUSES else 1
    status = finish(report, settings, env)
    if report.setup_error:
        print(f"snail-images: error: {scrub(report.setup_error, settings.api_key)}", file=sys.stderr)
        return 2
    return status


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print the catalog record of each path (one JSON object per path); 1 if any is not registered.

    With no path: the sync marker of this repository and branch, as JSON; 1 when there is none."""
    console = Console(sys.stderr)  # stdout holds only the records
    if not args.paths:
        return _marker_status(settings, console)
    status = 0
    with make_client(settings, None, SyncOptions(), console) as client:
        for path in args.paths:
            try:
                resp = client.get_image(path)
            except ApiError as exc:
                print(f"snail-images: {path}: {scrub(str(exc), settings.api_key)}", file=sys.stderr)
                status = 1
                continue
            if resp.ok:
                print(json.dumps(resp.body, ensure_ascii=False, indent=2))
            elif resp.status == 404:
                print(f"snail-images: {path}: not registered", file=sys.stderr)
                status = 1
            else:
                print(f"snail-images: {path}: HTTP {resp.status} {scrub(resp.error_message, settings.api_key)}",
                      file=sys.stderr)
                status = 1
    return status


def _marker_status(settings: Settings, console: Console) -> int:
    key = marker_key(settings.repository_name, settings.ref, GitRunner(settings.path))
    if key is None:
        raise SettingsError("no repository name for the sync marker: give --repository-name (or GITHUB_REPOSITORY)"
                            " and --ref when HEAD is detached")
    with make_client(settings, None, SyncOptions(), console) as client:
        try:
            commit = read_marker(client, key)
        except (ApiError, NoSyncRoute) as exc:
            print(f"snail-images: {scrub(str(exc), settings.api_key)}", file=sys.stderr)
            return 1
    print(json.dumps({"repository": key.repository, "ref": key.ref, "commit": commit}, ensure_ascii=False))
    if commit is None:
        print(f"snail-images: no sync marker for {key} yet: the next sync sets it", file=sys.stderr)
        return 1
    return 0
