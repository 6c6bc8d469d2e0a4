"""One settings object, filled from the environment (the action) and from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

NON_IMAGE_POLICIES = ("fail", "warn", "ignore")
MODES = ("diff", "reconcile", "check")
DEFAULT_DIRECT_UPLOAD_LIMIT = 4 * 1024 * 1024


class SettingsError(ValueError):
    """Bad usage or setup; the CLI exits 2 with this message."""


def _bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: {value!r} is not a boolean: use true or false")


def _int(name: str, value: str, minimum: int = 1) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise SettingsError(f"{name}: {value!r} is not a whole number") from None
    if n < minimum:
        raise SettingsError(f"{name}: {value!r} must be at least {minimum}")
    return n


def _globs(value: str) -> tuple[str, ...]:
    """Globs separated by newlines or commas, as action inputs usually are."""
    parts = [p.strip() for line in value.splitlines() for p in line.split(",")]
    return tuple(p for p in parts if p)


@dataclass(frozen=True)
class Settings:
    repo: Path = Path(".")
    before: str | None = None
    after: str | None = None
    all_files: bool = False
    on_non_image: str = "fail"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    api_url: str | None = None
    # repr=False: a settings object in a log line, a traceback's locals or a test failure must not
    # show the key (a dataclass repr prints every field).
    api_key: str | None = field(default=None, repr=False)
    sign_aws: bool = False
    aws_region: str | None = None
    mode: str = "diff"
    concurrency: int = 16
    dry_run: bool = False
    direct_upload_limit: int = DEFAULT_DIRECT_UPLOAD_LIMIT
    results_file: Path | None = None
    github_actions: bool = False
    event_path: Path | None = None
    event_name: str | None = None
    workspace: Path | None = None  # GITHUB_WORKSPACE: annotations name files relative to it
    # The sync marker's key: the repository name (GITHUB_REPOSITORY, or configured) and the ref
    # (GITHUB_REF, else the checked-out branch). Without a repository name no marker is used.
    repository_name: str | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.on_non_image not in NON_IMAGE_POLICIES:
            raise SettingsError(f"on-non-image={self.on_non_image!r}: use one of {', '.join(NON_IMAGE_POLICIES)}")
        if self.mode not in MODES:
            raise SettingsError(f"mode={self.mode!r}: use one of {', '.join(MODES)}")
        if self.concurrency < 1:
            raise SettingsError(f"concurrency={self.concurrency}: must be at least 1")
        if self.direct_upload_limit < 1:
            raise SettingsError(f"direct-upload-limit={self.direct_upload_limit}: must be a positive number of bytes")
        if self.api_key is not None:
            # A secret pasted with a trailing newline is the usual mistake: surrounding whitespace is
            # never part of an API key. Anything else that is not printable ASCII cannot go in an HTTP
            # header as is, and the HTTP library's error might quote the key: refuse it here, unshown.
            key = self.api_key.strip() or None
            if key is not None and not all(c.isascii() and c.isprintable() and not c.isspace() for c in key):
                raise SettingsError("api-key contains spaces, control or non-ASCII characters: copy the key "
                                    "again (the value is not shown)")
            object.__setattr__(self, "api_key", key)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        """Settings from SNAIL_* variables (set by action.yml from its inputs) and GitHub's own."""

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        kw: dict[str, object] = {}
        if (v := get("SNAIL_REPO")) is not None:
            kw["repo"] = Path(v)
        for key, name in (("before", "SNAIL_BEFORE"), ("after", "SNAIL_AFTER"), ("api_url", "SNAIL_API_URL"),
                          ("api_key", "SNAIL_API_KEY"), ("mode", "SNAIL_MODE"),
                          ("on_non_image", "SNAIL_ON_NON_IMAGE")):
            if (v := get(name)) is not None:
                if key == "api_key":
                    kw[key] = v
                elif key in ("mode", "on_non_image"):  # choices: `Diff` or `WARN` in a workflow mean the same
                    kw[key] = v.strip().lower()
                else:
                    kw[key] = v.strip()
        region = get("SNAIL_AWS_REGION") or get("AWS_REGION") or get("AWS_DEFAULT_REGION")
        if region:
            kw["aws_region"] = region
        if (v := get("SNAIL_ALL")) is not None:
            kw["all_files"] = _bool("all (SNAIL_ALL)", v)
        if (v := get("SNAIL_SIGN_AWS")) is not None:
            kw["sign_aws"] = _bool("aws-sign (SNAIL_SIGN_AWS)", v)
        if (v := get("SNAIL_DRY_RUN")) is not None:
            kw["dry_run"] = _bool("dry-run (SNAIL_DRY_RUN)", v)
        if (v := get("SNAIL_CONCURRENCY")) is not None:
            kw["concurrency"] = _int("concurrency (SNAIL_CONCURRENCY)", v)
        if (v := get("SNAIL_DIRECT_UPLOAD_LIMIT")) is not None:
            kw["direct_upload_limit"] = _int("direct-upload-limit (SNAIL_DIRECT_UPLOAD_LIMIT)", v)
        if (v := get("SNAIL_INCLUDE")) is not None:
            kw["include"] = _globs(v)
        if (v := get("SNAIL_EXCLUDE")) is not None:
            kw["exclude"] = _globs(v)
        if (v := get("SNAIL_RESULTS")) is not None:
            kw["results_file"] = Path(v)
        if (v := get("GITHUB_ACTIONS")) is not None:
            kw["github_actions"] = _bool("GITHUB_ACTIONS", v)
        if (v := get("GITHUB_EVENT_PATH")) is not None:
            kw["event_path"] = Path(v)
        if (v := get("GITHUB_EVENT_NAME")) is not None:
            kw["event_name"] = v
        if (v := get("GITHUB_WORKSPACE")) is not None:
            kw["workspace"] = Path(v)
        if (v := get("SNAIL_REPOSITORY_NAME") or get("GITHUB_REPOSITORY")) is not None:
            kw["repository_name"] = v.strip()
        if (v := get("SNAIL_REF") or get("GITHUB_REF")) is not None:
            kw["ref"] = v.strip()
        return cls(**kw)  # type: ignore[arg-type]

    def with_args(self, args: argparse.Namespace) -> Settings:
        """Command-line values win over the environment; options not given leave it as it was."""
        names = {f.name for f in fields(self)}
        changes = {k: v for k, v in vars(args).items() if k in names and v is not None}
        for key in ("include", "exclude"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return replace(self, **changes)
