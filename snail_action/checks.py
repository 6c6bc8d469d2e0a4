"""Every put validated before anything is sent, with the very function the backend's insert uses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from snail_backend.validation import InvalidImage, validate_image

from .model import Finding, Operation, Plan
from .settings import Settings


class Reader(Protocol):
    def read(self, blob_id: str) -> bytes: ...


def check_one(op: Operation, reader: Reader) -> Finding | None:
    """None when the put's content at `after` is an image the backend will accept; else why not."""
    if not op.blob:
        return Finding(op.path, "no content recorded for this file in the plan")
    try:
        data = reader.read(op.blob)
    except KeyError:
        return Finding(op.path, f"content {op.blob} is missing from the repository: fetch it and try again")
    try:
        validate_image(data, op.path)
    except InvalidImage as exc:
        return Finding(op.path, str(exc))
    return None


def check_puts(plan: Plan, reader: Reader, settings: Settings) -> list[Finding]:
    """The puts the backend would refuse, each with its reason, in plan order.

    Decoding runs on a few threads (Pillow releases the GIL while it decodes); the reader
    serialises the git reads itself.
    """
    puts = plan.puts
    if not puts:
        return []
    workers = max(1, min(settings.concurrency, 8, len(puts)))
    if workers == 1:
        results = [check_one(op, reader) for op in puts]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snail-check") as pool:
            results = list(pool.map(lambda op: check_one(op, reader), puts))
    return [f for f in results if f is not None]
