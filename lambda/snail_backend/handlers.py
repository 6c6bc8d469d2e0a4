"""AWS Lambda entry points. boto3 clients are made on the first call and then reused by the
warm container; nothing AWS-related happens at import (which would also escape moto in tests).

The clients come from clients.make_clients: SigV4, the function's region (AWS_REGION, which the
runtime sets), regional endpoints, standard retries, and timeouts within the function's own
timeout (read from the invocation context on the first call: the time it has left is at most
its timeout). Every log line carries the request id, the path and the outcome (logcontext).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from . import logcontext
from .app import Backend
from .clients import DEFAULT_FUNCTION_TIMEOUT, make_clients
from .config import BackendConfig

logging.getLogger().setLevel(logging.INFO)

_lock = threading.Lock()
_backend: Backend | None = None


def function_timeout(context: Any) -> float:
    """Seconds this invocation has left (at most the function's timeout); the default without a context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else DEFAULT_FUNCTION_TIMEOUT


def get_backend(context: Any = None) -> Backend:
    global _backend
    with _lock:
        if _backend is None:
            config = BackendConfig.from_environ(os.environ)
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
            s3, dynamodb = make_clients(region, function_timeout=function_timeout(context))
            _backend = Backend(config, s3=s3, dynamodb=dynamodb)
            logcontext.install()
        return _backend


def reset() -> None:
    """Forget the cached backend (tests that change the environment)."""
    global _backend
    with _lock:
        _backend = None


def _http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with logcontext.request_context(getattr(context, "aws_request_id", ""), str(event.get("path") or "")):
        return get_backend(context).handle(event)


def insert_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Every route of routes.ROUTES whose function is InsertFunction (all but DELETE /images/{proxy+})."""
    return _http(event, context)


def delete_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """DELETE /images/{proxy+}."""
    return _http(event, context)


def s3_event_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """ObjectCreated notifications for images/incoming/."""
    with logcontext.request_context(getattr(context, "aws_request_id", ""), "s3-event"):
        return get_backend(context).handle_s3_event(event)
