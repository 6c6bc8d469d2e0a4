"""Request id, path and outcome on every log line of an invocation.

The functions use Lambda's JSON log format (template: LoggingConfig.LogFormat JSON), whose runtime
formatter writes each record's extra attributes as JSON keys next to its own `requestId`. A filter
on the root logger's handlers gives every record, whichever module logs it, `request_id`, `path`
and `outcome` from the invocation's context: `outcome` is "in progress" until the answer is known.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

IN_PROGRESS = "in progress"
_current: ContextVar[dict[str, str] | None] = ContextVar("snail_log_context", default=None)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get() or {}
        record.request_id = ctx.get("request_id", "-")
        record.path = ctx.get("path", "-")
        record.outcome = ctx.get("outcome", "-")
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on the handlers of `logger` (the root logger), once each."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


@contextmanager
def request_context(request_id: str, path: str) -> Iterator[dict[str, str]]:
    token = _current.set({"request_id": request_id or "-", "path": path or "-", "outcome": IN_PROGRESS})
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def update(**fields: Any) -> None:
    """Set `path` or `outcome` of the current invocation (nothing outside one)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.update({k: str(v) for k, v in fields.items()})
