"""`snail-images`: one console script; each subcommand's work lives in its own module.

Exit status: 0 all good; 1 something failed (a rejected file, a failed upload); 2 bad usage or setup.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .settings import Settings, SettingsError, add_options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snail-images", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *groups: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_options(p, "all", *groups)  # the settings' options: see settings.OPTIONS
        return p

    p = command("plan", "compute what a sync would send; sends nothing", "range")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")

    command("check", "validate the images of the range as the backend would; sends nothing", "range")

    command("sync", "plan and apply: send the changed images to the backend", "range", "api", "sync")

    p = command("status", "print the catalog records of registered files; with no PATH, the sync marker of this "
                          "repository and branch", "api")
    p.add_argument("paths", nargs="*", metavar="PATH")

    p = command("serve", "run the embedded backend (moto S3 + DynamoDB + local API gateway)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="API port; 0 (the default) picks a free one")
    p.add_argument("--api-key", default=None, metavar="KEY",
                   help="the key clients must send in x-api-key (default: generated)")
    p.add_argument("--ready-file", type=Path, default=None, metavar="FILE",
                   help="also write the ready JSON line here (mode 0600, removed on exit)")

    p = command("variants", "make the sg/md/lg variants of local files exactly as the backend does")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--out", type=Path, required=True, help="directory for the variants")
    p.add_argument("--sizes", default=None, help="e.g. sg=320,md=800,lg=1600")
    p.add_argument("--json", action="store_true", help="one JSON object per file")

    p = command("audit", "check a backend's bucket and table against the catalog invariants (--repair: the safe fixes)")
    from .audit_cmd import add_arguments as audit_arguments

    audit_arguments(p)

    p = command("demo", "the whole pipeline on this machine, with a report and a gallery page")
    p.add_argument("--out", type=Path, default=Path("demo-output"), metavar="DIR",
                   help="folder for the sample repository, gallery.html and backend.log (default: demo-output)")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_environ(os.environ).with_args(args)
        return _dispatch(args, settings)
    except SettingsError as exc:
        print(f"snail-images: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Imports are local so that, say, `plan` never loads requests or moto.
    cmd = args.command
    if cmd == "plan":
        from .plan_cmd import run_plan

        return run_plan(args, settings)
    if cmd == "check":
        from .plan_cmd import run_check

        return run_check(args, settings)
    if cmd == "sync":
        from .sync_cmd import run_sync

        return run_sync(args, settings)
    if cmd == "status":
        from .sync_cmd import run_status

        return run_status(args, settings)
    if cmd == "serve":
        from .embedded.server import run_serve

        return run_serve(args)
    if cmd == "variants":
        from .variants_cmd import run_variants

        return run_variants(args)
    if cmd == "audit":
        from .audit_cmd import run_audit

        return run_audit(args)
    if cmd == "demo":
        from .demo.run import run_demo

        return run_demo(args)
    raise SettingsError(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
