"""One settings object, filled from the environment (the action) and from the command line.

Every setting has one name. The table `OPTIONS` below is the only place that lists them; from a
row named `dry_run` follow the `Settings` field `dry_run`, the action input `dry-run` (when the row
says `action_input=True`), its environment variable `SNAIL_DRY_RUN` (action.yml passes each input
on as that variable; a test checks action.yml against this table) and the command-line option
`--dry-run` on the commands of the row's group (`cli.add_options`).

To add a setting: add the `Settings` field and one `Option` row; then, if it is an action input,
the input and its `env:` line in action.yml (the test names what is missing). Nothing else maps names.
Values GitHub's runner sets (GITHUB_*) are not settings of ours: `RUNNER_ENV` reads them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

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


def _globs(_: str, value: str) -> tuple[str, ...]:
    """Patterns separated by newlines or commas, as action inputs usually are."""
    parts = [p.strip() for line in value.splitlines() for p in line.split(",")]
    return tuple(p for p in parts if p)


@dataclass(frozen=True)
class Settings:
    path: Path = Path(".")
    before: str | None = None
    after: str | None = None
    all: bool = False
    on_non_image: str = "fail"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    api_url: str | None = None
    # repr=False: a settings object in a log line, a traceback's locals or a test failure must not
    # show the key (a dataclass repr prints every field).
    api_key: str | None = field(default=None, repr=False)
    aws_sign: bool = False
    aws_region: str | None = None
    mode: str = "diff"
    concurrency: int = 16
    dry_run: bool = False
    direct_upload_limit: int = DEFAULT_DIRECT_UPLOAD_LIMIT
    results: Path | None = None
    github_actions: bool = False
    event_path: Path | None = None
    event_name: str | None = None
    workspace: Path | None = None  # GITHUB_WORKSPACE: annotations name files relative to it
    # The sync marker's key (docs/sync-marker.md): without a repository name no marker is used.
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
        kw: dict[str, Any] = {}
        for opt in OPTIONS:
            for name in (opt.env, *opt.env_fallbacks):
                value = env.get(name)
                if value not in (None, ""):
                    kw[opt.name] = opt.parse(f"{opt.input} ({name})", value)
                    break
        for name, (var, parse) in RUNNER_ENV.items():
            value = env.get(var)
            if value not in (None, ""):
                kw[name] = parse(var, value)
        return cls(**kw)

    def with_args(self, args: argparse.Namespace) -> Settings:
        """Command-line values win over the environment; options not given leave it as it was."""
        names = {f.name for f in fields(self)}
        changes = {k: v for k, v in vars(args).items() if k in names and v is not None}
        for key in ("include", "exclude"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return replace(self, **changes)


# ---------------------------------------------------------------- the table


def _text(_: str, value: str) -> str:
    return value.strip()


def _raw(_: str, value: str) -> str:
    return value  # the API key: Settings strips and checks it without showing it


def _choice(_: str, value: str) -> str:
    return value.strip().lower()  # `Diff` or `WARN` in a workflow mean the same


def _path(_: str, value: str) -> Path:
    return Path(value)


@dataclass(frozen=True)
class Option:
    """One setting. `name` is the Settings field; the other spellings follow from it."""

    name: str
    group: str  # which commands take it: "all", "range" (plan, check, sync), "api" (sync, status), "sync"
    parse: Callable[[str, str], Any]  # (label for errors, environment value) -> field value
    help: str
    action_input: bool = True
    cli: Mapping[str, Any] = field(default_factory=dict)  # extra argparse arguments (type, action, choices, ...)
    env_fallbacks: tuple[str, ...] = ()  # other variables read when ours is unset

    @property
    def input(self) -> str:
        return self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "SNAIL_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.input


_FLAG = {"action": "store_true"}
OPTIONS: tuple[Option, ...] = (
    Option("path", "all", _path, "the git repository folder (default: .)", cli={"type": Path, "metavar": "DIR"}),
    Option("before", "range", _text, "the revision the backend holds (default: push event's before, else HEAD~1)"),
    Option("after", "range", _text, "the revision to sync to (default: push event's after, else HEAD)"),
    Option("all", "range", _bool, "treat every tracked image at --after as added", action_input=False, cli=_FLAG),
    Option("on_non_image", "range", _choice, "what a changed file that is not an image does (default: fail)",
           cli={"choices": NON_IMAGE_POLICIES}),
    Option("include", "range", _globs, "only consider paths matching this .gitignore-style pattern (repeatable)",
           cli={"action": "append", "metavar": "PATTERN"}),
    Option("exclude", "range", _globs, "ignore paths matching this .gitignore-style pattern (repeatable)",
           cli={"action": "append", "metavar": "PATTERN"}),
    Option("api_url", "api", _text, "base URL of the HTTP API (stage URL)"),
    Option("api_key", "api", _raw, "API key; better from the SNAIL_API_KEY environment variable"),
    Option("aws_sign", "api", _bool, "sign requests with SigV4 (execute-api) using the AWS credentials in the "
           "environment", cli=_FLAG),
    Option("aws_region", "api", _text, "region for SigV4 (default: AWS_REGION)",
           env_fallbacks=("AWS_REGION", "AWS_DEFAULT_REGION")),
    Option("mode", "sync", _choice, "diff: send the range's changes; reconcile: make the catalog match --after",
           cli={"choices": [m for m in MODES if m != "check"]}),
    Option("concurrency", "sync", _int, "requests in flight at once (default 16)", cli={"type": int}),
    Option("dry_run", "sync", _bool, "print the plan; send nothing", cli=_FLAG),
    Option("direct_upload_limit", "sync", _int,
           "bytes above which a file goes through a presigned upload (default 4 MiB)", cli={"type": int}),
    Option("results", "sync", _path, "write the results JSON here", action_input=False,
           cli={"type": Path, "metavar": "FILE"}),
    Option("repository_name", "api", _text, "the name the sync marker is kept under (default: GITHUB_REPOSITORY; "
           "none: no marker)", env_fallbacks=("GITHUB_REPOSITORY",), cli={"metavar": "NAME"}),
    Option("ref", "api", _text, "the branch or ref of the sync marker (default: GITHUB_REF, else the checked-out "
           "branch)", action_input=False, env_fallbacks=("GITHUB_REF",)),
)

# What GitHub's runner sets: field -> (variable, parse).
RUNNER_ENV: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "github_actions": ("GITHUB_ACTIONS", _bool),
    "event_path": ("GITHUB_EVENT_PATH", _path),
    "event_name": ("GITHUB_EVENT_NAME", lambda _, v: v),
    "workspace": ("GITHUB_WORKSPACE", _path),  # annotations name files relative to it
}


def add_options(parser: argparse.ArgumentParser, *groups: str) -> None:
    """The command-line options of the table's rows in these groups (each `--<name>`, dest the field)."""
    for opt in OPTIONS:
        if opt.group in groups:
            parser.add_argument(opt.flag, dest=opt.name, default=None, help=opt.help, **opt.cli)
