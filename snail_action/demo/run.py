"""`snail-images demo`: the whole pipeline on this machine, and the proof that it did what it should.

A sample image repository with real history is synced push by push (each push a before..after
range, as GitHub's push event gives it) through the same `sync` the action runs, into the
embedded backend. Then the catalog and the bucket are read back and checked against what the
repository says must be there, and a gallery page shows every registered image and its variants.
Exit 0 only when every push had exactly its expected outcomes and every check held.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO, cast

from snail_backend.naming import INCOMING_PREFIX

from .delivery_fetch import DeliveryFetch
from .folder import DemoError, prepare_out
from .sample_repo import LARGE_MIN_BYTES, Push, SampleRepo, build_sample_repo
from .tui import Indented, Ui


@dataclass
class Check:
    name: str
    ok: bool
    detail: str  # shown when the check failed
    info: str = ""  # shown when it held, where the evidence is worth seeing


# -- reading back -----------------------------------------------------------------------------------

def _git_blob(repo: Path, rev: str, path: str) -> bytes:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, check=True, capture_output=True).stdout


def _images_at(repo: Path, rev: str) -> list[str]:
    from snail_backend.formats import format_for_path

    out = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", rev], cwd=repo, check=True,
                         capture_output=True).stdout.decode("utf-8", "surrogateescape")
    return sorted(p for p in out.split("\0") if p and format_for_path(p) is not None)


def _stored_keys(s3: Any, bucket: str, prefix: str = "images/") -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(o["Key"] for o in page.get("Contents", []))
    return keys


def _keys_of(record: dict[str, Any]) -> set[str]:
    return {str(v["key"]) for v in (record.get("images") or {}).values() if isinstance(v, dict) and v.get("key")}


def _catalog_items(dynamodb: Any, table: str, path: str) -> dict[str, str]:
    """A few attributes of the path's raw catalog item, straight from DynamoDB (what the gallery shows)."""
    resp = dynamodb.query(TableName=table, IndexName="RegisteredFile-Status-index",
                          KeyConditionExpression="RegisteredFile = :p", ExpressionAttributeValues={":p": {"S": path}})
    for item in resp.get("Items", []):
        if item.get("ImageType", {}).get("S") == "raw" and item.get("Status", {}).get("S") != "deleted":
            return {k: next(iter(item[k].values())) for k in ("UploadDate", "ContentType", "Resolution", "ImageSize",
                                                                "ImageId") if k in item}
    return {}


# -- the run ----------------------------------------------------------------------------------------

def _sync_push(ui: Ui, push: Push, n: int, total: int, repo: SampleRepo, eb: Any) -> tuple[Any, list[Check]]:
    from ..settings import Settings
    from ..sync import SyncOptions, sync

    ui.heading(f"Push {n} of {total}: {push.title}   {push.before[:7]}..{push.after[:7]}")
    for sha in push.commits:
        subject = subprocess.run(["git", "log", "-1", "--format=%s", sha], cwd=repo.path, check=True,
                                 capture_output=True, text=True).stdout.strip()
        ui.line(f"  commit {sha[:7]} {subject}")
    settings = Settings(path=repo.path, before=push.before, after=push.after, api_url=eb.api_url,
                        api_key=eb.api_key, concurrency=8)
    report = sync(settings, out=cast(TextIO, Indented(ui)),
                  options=replace(SyncOptions(), poll_interval=0.1, poll_max_interval=0.5, poll_timeout=120))
    got = {r.path: r.outcome for r in report.results}
    checks = []
    for path, want in push.expect.items():
        checks.append(Check(f"push {n}: {path} {want}", got.get(path) == want,
                            f"got {got.get(path, 'nothing')}"))
    unexpected = sorted(set(got) - set(push.expect))
    checks.append(Check(f"push {n}: no other file touched", not unexpected, ", ".join(unexpected)))
    checks.append(Check(f"push {n}: reported as {'succeeded' if push.expect_ok else 'failed'}",
                        report.ok == push.expect_ok, f"sync said ok={report.ok}"))
    for c in checks:
        if not c.ok:
            ui.line(f"  {ui.mark(False)} {c.name}: {c.detail}")
    ok = all(c.ok for c in checks)
    ui.line(f"  {ui.mark(ok)} {'as expected' if ok else 'NOT as expected'}"
            + (f" \u2014 {push.note}" if push.note else ""))
    return report, checks


def _catalog(eb: Any) -> dict[str, dict[str, Any]]:
    from ..client import ApiClient

    with ApiClient(eb.api_url, api_key=eb.api_key) as client:
        records = {}
        for item in client.list_images():
            path = item["registered_file"]
            resp = client.get_image(path)
            records[path] = resp.body if resp.ok else {"registered_file": path, "status": f"HTTP {resp.status}"}
        return records


def _invariant_checks(repo: SampleRepo, eb: Any, before: dict[str, dict[str, Any]],
                      records: dict[str, dict[str, Any]], reports: list[Any]) -> list[Check]:
    from PIL import Image

    head = repo.pushes[-1].after
    checks: list[Check] = []
    images = _images_at(repo.path, head)
    stored = _stored_keys(eb.s3, eb.bucket)

    missing = [p for p in images if p not in records]
    extra = sorted(set(records) - set(images))
    checks.append(Check("the catalog lists exactly the images at HEAD", not missing and not extra,
                        f"missing {missing}, extra {extra}"))
    wrong = [p for p in images if p in records and (
        records[p].get("status") != "completed"
        or records[p].get("hash") != hashlib.sha256(_git_blob(repo.path, head, p)).hexdigest()
        or set(records[p].get("images") or {}) != {"raw", "sg", "md", "lg"})]
    checks.append(Check("each is completed, hashed (SHA-256 of its content) and has raw, sg, md, lg",
                        not wrong, f"not so: {wrong}"))
    from snail_action.audit import audit

    findings = audit(eb.s3, eb.dynamodb, eb.bucket, eb.table, at_rest=True)
    checks.append(Check("`snail-images audit`: every invariant holds (no orphan, no missing object, refcounts agree)",
                        not findings, "; ".join(map(str, findings))))

    keeper, copy = repo.duplicates
    shared = _keys_of(before.get(copy, {}))
    raw_shared = sorted(k for k in shared if k.startswith("images/raw/"))
    checks.append(Check(f"deleting {copy} kept the objects {keeper} shares with it",
                        bool(shared) and shared == _keys_of(records.get(keeper, {})) and shared <= stored,
                        f"shared {sorted(shared)}", f"{len(shared)} objects, e.g. {', '.join(raw_shared)}"))
    gone_paths = [p for p in repo.deleted if p != copy]
    gone = set().union(*(_keys_of(before.get(p, {})) for p in gone_paths)) if gone_paths else set()
    old_edit = _keys_of(before.get(repo.edited, {})) - _keys_of(records.get(repo.edited, {}))
    checks.append(Check(f"deleted files' objects are gone ({', '.join(gone_paths)}, the old {repo.edited})",
                        bool(gone) and bool(old_edit) and not ((gone | old_edit) & stored),
                        f"still stored: {sorted((gone | old_edit) & stored)}"))

    rejected = [r for rep in reports for r in rep.results if r.path == repo.non_image]
    checks.append(Check(f"the non-image {repo.non_image} was rejected and never reached the backend",
                        bool(rejected) and all(r.outcome == "rejected" for r in rejected)
                        and repo.non_image not in records, f"results {[r.outcome for r in rejected]}"))

    exif = records.get(repo.exif_file, {}).get("images") or {}
    try:
        raw = Image.open(io.BytesIO(eb.s3.get_object(Bucket=eb.bucket, Key=exif["raw"]["key"])["Body"].read()))
        sg = Image.open(io.BytesIO(eb.s3.get_object(Bucket=eb.bucket, Key=exif["sg"]["key"])["Body"].read()))
        turned = raw.width > raw.height and sg.height > sg.width
        detail = f"stored original {raw.width}x{raw.height} (EXIF 6), sg variant {sg.width}x{sg.height}"
    except (KeyError, OSError) as exc:
        turned, detail = False, f"could not read the objects: {exc}"
    checks.append(Check(f"{repo.exif_file}: variants follow EXIF orientation (width and height swapped)",
                        turned, detail, detail))

    large = [r for rep in reports for r in rep.results if r.path == repo.large_file]
    size = len(_git_blob(repo.path, head, repo.large_file))
    delivered = eb.s3_events_delivered()
    leftovers = sorted(_stored_keys(eb.s3, eb.bucket, INCOMING_PREFIX))
    checks.append(Check(f"{repo.large_file} ({size / 1048576:.1f} MiB) went through a presigned upload and completed",
                        size > LARGE_MIN_BYTES and bool(large) and large[-1].outcome == "completed"
                        and delivered >= 1 and not leftovers,
                        f"outcome {[r.outcome for r in large]}, S3 events {delivered}, incoming left {leftovers}",
                        "POST /uploads, PUT to the presigned S3 URL, the S3 event handler made the variants"))
    return checks


def _table(ui: Ui, records: dict[str, dict[str, Any]]) -> None:
    def dims(v: dict[str, Any] | None) -> str:
        return f"{v.get('width')}x{v.get('height')}" if v else "-"

    rows = [("file", "status", "resolution", "size", "sg", "md", "lg")]
    for path in sorted(records):
        im = records[path].get("images") or {}
        raw = im.get("raw") or {}
        rows.append((path, str(records[path].get("status")), dims(raw), _size(raw.get("size")),
                     dims(im.get("sg")), dims(im.get("md")), dims(im.get("lg"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        ui.line("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            ui.line("  " + "  ".join("-" * w for w in widths))


def _size(n: Any) -> str:
    from .gallery import human_size

    return human_size(n if isinstance(n, int) else None)


@contextmanager
def _backend_logging_to(stream: TextIO) -> Iterator[None]:
    """The handlers' own log goes to the demo's backend.log, not between the demo's lines."""
    logger = logging.getLogger("snail_backend")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _cannot_run_here() -> str | None:
    """Why the embedded backend cannot start in this installation (its extra, or the template missing)."""
    from ..cfn_template import TemplateNotFound, load_template
    from ..embedded.server import missing_extra

    problem = missing_extra()
    if problem is None:
        try:
            load_template()
        except TemplateNotFound as exc:
            problem = str(exc)
    return problem


def run_demo(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    ui = Ui(stream or sys.stdout)
    out: Path = args.out
    started = time.monotonic()
    problem = _cannot_run_here()
    if problem:
        print(f"snail-images demo: error: {problem}", file=sys.stderr)
        return 2
    try:
        prepare_out(out)
    except DemoError as exc:
        print(f"snail-images demo: error: {exc}", file=sys.stderr)
        return 2
    from ..embedded.server import EmbeddedBackend
    from . import gallery

    ui.line(f"{ui._bold}snail-images demo{ui._reset}: the whole pipeline on this machine, no AWS account needed")
    try:
        repo = build_sample_repo(out / "repo", log=lambda text: ui.line(ui.dim(f"  {text}")))
    except FileNotFoundError as exc:
        print(f"snail-images demo: error: {exc.filename or 'git'} not found: the demo needs git on PATH",
              file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        err = (exc.stderr or b"").decode("utf-8", "replace").strip() if isinstance(exc.stderr, bytes) else exc.stderr
        print(f"snail-images demo: error: {' '.join(map(str, exc.cmd))} failed: {err}", file=sys.stderr)
        return 2
    commits = sum(len(p.commits) for p in repo.pushes)
    ui.line(f"  sample repository  {out / 'repo'}  ({len(repo.pushes)} pushes, {commits} commits)")
    with open(out / "backend.log", "w", encoding="utf-8") as log, _backend_logging_to(log), \
            EmbeddedBackend(error_log=log, environ={}) as eb:  # the stack's defaults, whatever the shell sets
        ui.line(f"  embedded backend   API {eb.api_url}  \u00b7  S3 and DynamoDB (moto) {eb.aws_endpoint_url}")
        checks: list[Check] = []
        reports = []
        snapshots: dict[str, dict[str, Any]] = {}
        for n, push in enumerate(repo.pushes, 1):
            report, push_checks = _sync_push(ui, push, n, len(repo.pushes), repo, eb)
            reports.append(report)
            checks += push_checks
            snapshots.update({k: v for k, v in _catalog(eb).items() if k not in snapshots})
        eb.wait_incoming(timeout=30)
        records = _catalog(eb)

        ui.heading(f"Catalog: {len(records)} registered images")
        _table(ui, records)

        invariant = _invariant_checks(repo, eb, snapshots, records, reports)
        checks += invariant
        ui.heading("Checks")
        for c in invariant:
            ui.line(f"  {ui.mark(c.ok)} {c.name}")
            if not c.ok or c.info:
                ui.line("      " + (ui.dim(c.info) if c.ok else c.detail))
        pushes_ok = all(c.ok for c in checks if c.name.startswith("push "))
        ui.line(f"  {ui.mark(pushes_ok)} every push had exactly its expected outcome per file")

        page = out / "gallery.html"
        catalog = {p: _catalog_items(eb.dynamodb, eb.table, p) for p in records}

        fetch = DeliveryFetch(records)
        entries = gallery.collect(records.values(), fetch.read, gallery.files_dir_for(page), catalog)
        shown = sum(1 for e in entries for r in e.renditions if r.href)
        checks.append(Check("the gallery shows every rendition", shown == 4 * len(records),
                            f"{shown} of {4 * len(records)}"))
        checks.append(Check("the gallery loaded every image through its delivery URL, cached immutable",
                            fetch.fetched == shown and not fetch.problems, "; ".join(fetch.problems[:5]),
                            f"{fetch.fetched} objects from {eb.delivery_url}"))
        for c in checks[-2:]:
            ui.line(f"  {ui.mark(c.ok)} {c.name}")
            if not c.ok or c.info:
                ui.line("      " + (ui.dim(c.info) if c.ok else c.detail))
        # Written after the last check, so the page's count is the one printed below.
        gallery.write_page(
            page, entries, title="snail-images demo gallery",
            subtitle="Every registered image: the original and its sg, md and lg variants, fetched through the "
                     "delivery URLs the API gave and drawn to one scale per card. Click one to see it at full size.",
            facts={"images": str(len(records)), "objects in bucket": str(len(_stored_keys(eb.s3, eb.bucket))),
                   "pushes": str(len(repo.pushes)), "checks passed": f"{sum(c.ok for c in checks)}/{len(checks)}"},
            footer="Made by `snail-images demo`. Sizes are bytes as stored.")

    failed = [c for c in checks if not c.ok]
    elapsed = time.monotonic() - started
    ui.heading("Result")
    ui.line(f"  gallery   {page}  (open it in a browser; no server needed)")
    ui.line(f"  took      {elapsed:.1f} s")
    if failed:
        ui.line(f"  {ui.mark(False)} {len(failed)} of {len(checks)} checks failed: "
                + "; ".join(f"{c.name} ({c.detail})" for c in failed))
        ui.line(f"  the backend's log is in {out / 'backend.log'}")
        return 1
    ui.line(f"  {ui.mark(True)} all {len(checks)} checks passed")
    return 0
