"""The composite action's entry: its inputs arrive as SNAIL_* environment variables (see action.yml).

Thin on purpose: mask the key, build the settings, run the sync (or the check) and return its status.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def main(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    key = env.get("SNAIL_API_KEY") or ""
    # First of all, before any import could fail and print: the runner hides the key from here on.
    # Each line stripped (a pasted trailing newline or space is not part of the key; the stripped
    # form is also a substring of the raw one). The runner unescapes command data (%25 -> %).
    for part in key.splitlines():
        if part.strip():
            print(f"::add-mask::{part.strip().replace('%', '%25')}", flush=True)

    from snail_action.settings import Settings, SettingsError
    from snail_action.sync_cmd import run_sync

    try:
        settings = Settings.from_environ(env)
        # mode `check` is a dry run that needs no API: plan, validate, annotate, summarise.
        return run_sync(None, settings, env, masked=True)
    except SettingsError as exc:
        from snail_action.report import escape_data

        stripped = key.strip()
        message = str(exc).replace(stripped, "***") if stripped else str(exc)
        # escape_data: a `%` or a newline in the message (a path, git's words) must not end the command.
        print(f"::error title=snail-images setup::{escape_data(message)}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
