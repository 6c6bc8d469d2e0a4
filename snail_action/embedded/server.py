"""`snail-images serve`: the backend's own handlers behind a local API Gateway, over moto's S3 and DynamoDB.

    with EmbeddedBackend() as eb:
        requests.put(f"{eb.api_url}/images/a.png", data=..., headers={"x-api-key": eb.api_key, ...})
        eb.s3.list_objects_v2(Bucket=eb.bucket)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from snail_backend.config import ENVIRONMENT_VARIABLES, ConfigError

from ..cfn_template import load_template
from . import aws, definitions
from .delivery import Delivery
from .http_server import Gateway
from .incoming import IncomingWatcher

BackendFactory = Callable[[Mapping[str, str], Any, Any], Any]

# module -> what to install; they come with the `embedded` extra, which `pip install .` alone leaves out.
EMBEDDED_MODULES = {"moto": "moto[s3,dynamodb,server]", "flask": "moto[server]", "yaml": "PyYAML", "jinja2": "Jinja2"}


def missing_extra() -> str | None:
    """One line saying what to install when the embedded backend's dependencies are missing, else None."""
    missing = sorted({pkg for module, pkg in EMBEDDED_MODULES.items() if importlib.util.find_spec(module) is None})
    if not missing:
        return None
    return (f"the embedded backend needs {' and '.join(missing)}, which are not installed: "
            "pip install 'snail-images-action[embedded]' (or run `make demo` in a clone)")


def default_backend_factory(env: Mapping[str, str], s3: Any, dynamodb: Any) -> Any:
    """The real backend, configured from the same environment variables as the deployed Lambda."""
    from snail_backend.app import Backend
    from snail_backend.config import BackendConfig

    return Backend(BackendConfig.from_environ(env), s3=s3, dynamodb=dynamodb)


def backend_environment(template: dict[str, Any], environ: Mapping[str, str], bucket: str,
                        table: str, delivery_url: str = "") -> dict[str, str]:
    """The functions' environment: the template's (parameter defaults), overridden by the backend's own
    variables from `environ` (as stack parameters would be), then this instance's bucket, table and
    delivery port."""
    env = definitions.function_environment(template)
    env.update({k: environ[k] for k in ENVIRONMENT_VARIABLES if k in environ})
    env.update(S3_BUCKET_NAME=bucket, DYNAMODB_TABLE_NAME=table, DELIVERY_URL=delivery_url)
    return env


class EmbeddedBackend:
    """moto (S3 + DynamoDB) on one loopback port, the API gateway on another, the handlers in-process.

    Several may run in one process: each has its own bucket and table names (moto's state is global).
    """

    def __init__(self, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 bucket: str | None = None, table: str | None = None, environ: Mapping[str, str] | None = None,
                 template_path: Path | None = None, backend_factory: BackendFactory | None = None,
                 access_log: TextIO | None = None, error_log: TextIO | None = None):
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.host = host
        self.port = port
        self.region = aws.REGION
        self._want_bucket, self._want_table = bucket, table
        self._environ = os.environ if environ is None else environ
        self._template_path = template_path  # None: the packaged or the source copy (cfn_template)
        self._factory = backend_factory or default_backend_factory
        self._access_log = access_log
        self._error_log = error_log
        self.bucket = ""
        self.table = ""
        self.api_url = ""
        self.delivery_url = ""
        self.aws_endpoint_url = ""
        self.s3: Any = None
        self.dynamodb: Any = None
        self.backend: Any = None
        self._aws: aws.LocalAws | None = None
        self._gateway: Gateway | None = None
        self._delivery: Delivery | None = None
        self._watcher: IncomingWatcher | None = None
        self._resources = False

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> EmbeddedBackend:
        template = load_template(self._template_path)
        try:
            self._start(template)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, template: dict[str, Any]) -> None:
        self._aws = aws.LocalAws(self.host, 0)
        endpoint = self._aws.start()
        self.aws_endpoint_url = _reachable(endpoint, self.host)
        self.s3 = aws.client("s3", self.aws_endpoint_url, self.region)
        self.dynamodb = aws.client("dynamodb", self.aws_endpoint_url, self.region)
        self.bucket, self.table = aws.claim_names(self._want_bucket, self._want_table,
                                                  definitions.default_table_name(template))
        aws.create_resources(self.s3, self.dynamodb, self.bucket, self.table, template)
        self._resources = True
        # The delivery port first: the backend's answers carry its URL (the stack's CloudFront domain).
        self._delivery = Delivery(aws.client("s3", self.aws_endpoint_url, self.region), self.bucket, self.host)
        self.delivery_url = _reachable(f"http://{self.host}:{self._delivery.port}", self.host)
        # The handlers get clients of their own, as each Lambda function creates its own.
        env = backend_environment(template, self._environ, self.bucket, self.table, self.delivery_url)
        self.backend = self._factory(env, aws.client("s3", self.aws_endpoint_url, self.region),
                                     aws.client("dynamodb", self.aws_endpoint_url, self.region))
        self._delivery.handler = self.backend.handle
        self._delivery.start()
        self._watcher = IncomingWatcher(self.s3, self.bucket, self.backend.handle_s3_event, region=self.region,
                                        error_log=self._error_log)
        self._watcher.start()
        self._gateway = Gateway(self.backend.handle, self.api_key, self.host, self.port,
                                binary_media_types=definitions.binary_media_types(template),
                                stage=definitions.stage_name(template),
                                responses=definitions.gateway_responses(template),
                                access_log=self._access_log, error_log=self._error_log)
        self._gateway.start()
        self.api_url = _reachable(f"http://{self.host}:{self._gateway.port}", self.host)

    def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self._delivery is not None:
            self._delivery.stop()
            self._delivery = None
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._resources:
            try:
                aws.delete_resources(self.s3, self.dynamodb, self.bucket, self.table)
            except Exception as exc:  # noqa: BLE001 - cleanup of an in-memory store; report and go on
                print(f"snail-images serve: could not clean up {self.bucket}/{self.table}: {exc}", file=sys.stderr)
            self._resources = False
        if self.table:
            aws.release_names(self.table)
        if self._aws is not None:
            self._aws.stop()
            self._aws = None

    def __enter__(self) -> EmbeddedBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------------------------
    def ready_info(self) -> dict[str, str]:
        return {"api_url": self.api_url, "api_key": self.api_key, "delivery_url": self.delivery_url,
                "aws_endpoint_url": self.aws_endpoint_url,
                "region": self.region, "bucket": self.bucket, "table": self.table}

    def s3_events_delivered(self) -> int:
        """How many S3 events the handler has processed without error so far."""
        return self._watcher.delivered if self._watcher is not None else 0

    def wait_incoming(self, timeout: float = 30.0) -> bool:
        """Wait until every object now under images/incoming/ has gone through the S3 event handler."""
        return self._watcher.wait_idle(timeout) if self._watcher is not None else True


def _reachable(url: str, host: str) -> str:
    """A URL a local client can use: a wildcard bind address is reached through loopback."""
    if host in ("0.0.0.0", "", "::"):
        return url.replace(f"//{host}:", "//127.0.0.1:", 1) if host else url
    return url


def _write_ready_file(path: Path, line: str) -> None:
    # Written whole under a temporary name first, so a waiting reader never sees half a line.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # Created 0600 from the start: it holds the API key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def settings_problem(exc: Exception, environ: Mapping[str, str]) -> str:
    """A backend setting the user's environment overrides is malformed: say which, and what to do."""
    own = {"S3_BUCKET_NAME", "DYNAMODB_TABLE_NAME", "DELIVERY_URL"}  # always this instance's own
    given = [f"{name}={environ[name]}" for name in ENVIRONMENT_VARIABLES if name in environ and name not in own]
    if not given:
        return str(exc)
    return f"{exc} (your environment sets {', '.join(given)}: fix or unset it)"


def run_serve(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    problem = missing_extra()
    if problem:
        print(f"snail-images serve: error: {problem}", file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, on_signal)
    embedded = EmbeddedBackend(api_key=args.api_key, host=args.host, port=args.port, access_log=sys.stderr)
    wrote_ready_file = False
    try:
        try:
            embedded.start()
        except (OSError, definitions.TemplateError) as exc:
            print(f"snail-images serve: error: could not start: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            print(f"snail-images serve: error: could not start: {settings_problem(exc, os.environ)}", file=sys.stderr)
            return 2
        line = json.dumps(embedded.ready_info())
        # The file first: a reader of stdout must never see "ready" from a server about to exit.
        if args.ready_file is not None:
            try:
                _write_ready_file(args.ready_file, line)
            except OSError as exc:
                print(f"snail-images serve: error: cannot write --ready-file {args.ready_file}: "
                      f"{exc.strerror or exc}: give a writable file path", file=sys.stderr)
                return 2
            wrote_ready_file = True
        print(line, flush=True)
        print(f"snail-images serve: API at {embedded.api_url}, delivery at {embedded.delivery_url}, "
              f"S3 and DynamoDB at {embedded.aws_endpoint_url}; "
              "Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("snail-images serve: stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        embedded.stop()
        signal.signal(signal.SIGTERM, previous)
        if wrote_ready_file:
            args.ready_file.unlink(missing_ok=True)
