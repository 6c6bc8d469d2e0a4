"""Backend settings, read once from the Lambda environment (or any mapping, for tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .delivery import check_base
from .validation import DEFAULT_MAX_PIXELS, HIGHEST_MAX_PIXELS

# Every variable the backend reads; the template and the embedded backend set these.
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "S3_BUCKET_NAME",
    "DYNAMODB_TABLE_NAME",
    "VARIANT_SIZES",
    "KEY_SCHEME",
    "MAX_IMAGE_PIXELS",
    "UPLOAD_URL_EXPIRES",
    "DELIVERY_URL",
)

VARIANT_TYPES: tuple[str, ...] = ("sg", "md", "lg")
DEFAULT_VARIANT_SIZES = "sg=320,md=800,lg=1600"
KEY_SCHEMES: tuple[str, ...] = ("hash", "timestamp")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def parse_sizes(text: str) -> dict[str, int]:
    """'sg=320,md=800,lg=1600' -> {'sg': 320, 'md': 800, 'lg': 1600}; all three types required."""
    sizes: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.strip().lower()
        if not sep or name not in VARIANT_TYPES:
            raise ConfigError(f"variant sizes {text!r}: expected sg=N,md=N,lg=N")
        try:
            size = int(value)
        except ValueError:
            raise ConfigError(f"variant sizes {text!r}: {value!r} is not a whole number") from None
        if not 1 <= size <= 10000:
            raise ConfigError(f"variant sizes {text!r}: {name} must be between 1 and 10000 pixels")
        sizes[name] = size
    if set(sizes) != set(VARIANT_TYPES):
        raise ConfigError(f"variant sizes {text!r}: give all of sg, md and lg")
    return {t: sizes[t] for t in VARIANT_TYPES}


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high}")
    return value


@dataclass(frozen=True)
class BackendConfig:
    bucket: str
    table: str = "image-metadata"
    variant_sizes: dict[str, int] = field(default_factory=lambda: parse_sizes(DEFAULT_VARIANT_SIZES))
    key_scheme: str = "hash"
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    upload_url_expires: int = 900
    delivery_url: str = ""  # the CDN (or the embedded delivery port); "" when the stack has none

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BackendConfig:
        bucket = env.get("S3_BUCKET_NAME", "").strip()
        if not bucket:
            raise ConfigError("S3_BUCKET_NAME is not set: the bucket that holds images/")
        scheme = (env.get("KEY_SCHEME", "").strip().lower() or "hash")
        if scheme not in KEY_SCHEMES:
            raise ConfigError(f"KEY_SCHEME={scheme!r}: use hash or timestamp")
        return cls(
            bucket=bucket,
            table=env.get("DYNAMODB_TABLE_NAME", "").strip() or "image-metadata",
            variant_sizes=parse_sizes(env.get("VARIANT_SIZES", "").strip() or DEFAULT_VARIANT_SIZES),
            key_scheme=scheme,
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS, 1, HIGHEST_MAX_PIXELS),
            upload_url_expires=_int(env, "UPLOAD_URL_EXPIRES", 900, 1, 7 * 24 * 3600),
            delivery_url=_delivery(env.get("DELIVERY_URL", "")),
        )


def _delivery(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return check_base(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
