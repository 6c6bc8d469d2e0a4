"""The two ways making variants fails."""

from __future__ import annotations


class ConversionError(RuntimeError):
    """The image validated but its variants could not be made."""


class UndecodableImage(ConversionError):
    """The pixels cannot be decoded (damaged or truncated): an invalid image, not a failure."""
