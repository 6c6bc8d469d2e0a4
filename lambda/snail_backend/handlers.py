"""AWS Lambda entry points. boto3 clients are made on the first call and then reused by the
warm container; nothing AWS-related happens at import (which would also escape moto in tests)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from .app import Backend
from .config import BackendConfig

logging.getLogger().setLevel(logging.INFO)

_lock = threading.Lock()
_backend: Backend | None = None


def get_backend() -> Backend:
    global _backend
    with _lock:
        if _backend is None:
            import boto3  # noqa: PLC0415 -- imported here so importing this module stays cheap

            config = BackendConfig.from_environ(os.environ)
            _backend = Backend(config, s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"))
        return _backend


def reset() -> None:
    """Forget the cached backend (tests that change the environment)."""
    global _backend
    with _lock:
        _backend = None


def insert_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """PUT /images/{proxy+}, GET /images/{proxy+}, GET /images, POST /uploads, GET and PUT /sync/{repository}/{ref}."""
    return get_backend().handle(event)


def delete_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """DELETE /images/{proxy+}."""
    return get_backend().handle(event)


def s3_event_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """ObjectCreated notifications for images/incoming/."""
    return get_backend().handle_s3_event(event)
