"""HTTP client for the snail-images API (docs/contracts.md, "HTTP API"): one pooled session, auth, retries.

Every request goes through `ApiClient.request`, which signs (x-api-key and/or SigV4 for
execute-api), retries what is worth retrying (connection errors, 429, 5xx) with exponential
backoff and full jitter, honours `Retry-After`, and gives up within a bounded total time.
A 4xx other than 429 is the server telling us the request itself is wrong: it is returned at once.
The API key never appears in a message, an exception or a log line. What goes on the wire (URL
paths, headers, the answer's shape) is wire.py's.

The retry loop stays hand-written rather than urllib3's `Retry` or a retry library: each attempt
is signed afresh (SigV4 covers the time), the loop stops within a total time budget and then
returns the last HTTP answer instead of raising, and each retry is reported to the sync's log;
a library would take over exactly those decisions.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .settings import SettingsError

# The wire format lives in wire.py; these names stay importable from here, where their importers look.
from .wire import (
    ApiResponse,
    encode_filename_header,
    encode_path,
    parse_retry_after,
    response_from,
    short_url,
    sync_target,
)

# Retried: the request may well succeed if sent again. PUT and DELETE are idempotent in this API
# (a PUT of the same content answers `unchanged`), and POST /uploads only mints a URL.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Retried like a lost connection: a response cut off mid-body (ChunkedEncodingError) is one too.
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


# API Gateway's answers to a missing or wrong key, a bad signature, or a URL outside the stage.
AUTH_REFUSED_STATUSES = (401, 403)
NOT_SENT = "not sent: the API refused an earlier request's credentials (see the error at the end)"


class ApiError(Exception):
    """The request could not be completed (after retries); the message is for a person, key-free."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # at most this many sends of one request
    base_delay: float = 0.5  # seconds; the n-th retry waits uniform(0, min(cap, base * 2**n))
    max_delay: float = 20.0
    total_seconds: float = 180.0  # no new attempt starts after this much time on one request

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        # Full jitter: concurrent clients hitting the same throttle spread out instead of in waves.
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2 ** retry_number)))


def region_from_url(api_url: str) -> str | None:
    host = (urlsplit(api_url).hostname or "").lower()
    m = _EXECUTE_API_HOST.match(host)
    return m.group(1) if m else None


def credentials_from_env(env: Mapping[str, str]):
    """AWS credentials as aws-actions/configure-aws-credentials leaves them (env variables)."""
    from botocore.credentials import Credentials

    key = env.get("AWS_ACCESS_KEY_ID")
    secret = env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise SettingsError("aws-sign needs AWS credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: "
                            "run aws-actions/configure-aws-credentials before this step")
    return Credentials(key, secret, env.get("AWS_SESSION_TOKEN") or None)


def new_session(pool_size: int) -> requests.Session:
    """One session whose connection pool holds as many connections as requests in flight."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), pool_block=True, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = True  # proxies from the environment, as curl would
    return session


class ApiClient:
    """The API's operations over one shared `requests.Session` (safe to use from many threads)."""

    def __init__(
        self,
        api_url: str,
        *,
        api_key: str | None = None,
        sign_aws: bool = False,
        region: str | None = None,
        env: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        pool_size: int = 16,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_retry: Callable[[str, str], None] | None = None,
    ):
        if not api_url or not urlsplit(api_url).scheme.startswith("http"):
            raise SettingsError("api-url must be the API's http(s) base URL, e.g. "
                                "https://abc123.execute-api.us-east-1.amazonaws.com/prod")
        if not api_key and not sign_aws:
            raise SettingsError("no authentication: give an API key (SNAIL_API_KEY or --api-key) and/or --aws-sign")
        self.base_url = api_url.rstrip("/")
        self._api_key = api_key
        self._signer = None
        if sign_aws:
            from botocore.auth import SigV4Auth

            env = os.environ if env is None else env
            region = region or region_from_url(api_url)
            if not region:
                raise SettingsError("aws-sign needs a region: set aws-region (or AWS_REGION)")
            self.region = region
            self._signer = SigV4Auth(credentials_from_env(env), "execute-api", region)
        self._owns_session = session is None
        self.session = session if session is not None else new_session(pool_size)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._on_retry = on_retry
        self.refused: str | None = None  # set by the first 401/403 from the API; nothing is sent after it

    # -- the API ---------------------------------------------------------------------------------

    def put_image(self, path: str, data: bytes, content_type: str, sha256: str) -> ApiResponse:
        headers = {"Content-Type": content_type, "filename": encode_filename_header(path),
                   "x-content-sha256": sha256}
        return self.request("PUT", "/images/" + encode_path(path), data=data, headers=headers)

    def delete_image(self, path: str) -> ApiResponse:
        return self.request("DELETE", "/images/" + encode_path(path))

    def get_image(self, path: str) -> ApiResponse:
        return self.request("GET", "/images/" + encode_path(path))

    def create_upload(self, path: str, content_type: str, size: int, sha256: str) -> ApiResponse:
        body = {"filename": path, "content_type": content_type, "size": size, "sha256": sha256}
        return self.request("POST", "/uploads", json_body=body)

    def upload_presigned(self, url: str, method: str, headers: Mapping[str, str], data: bytes) -> ApiResponse:
        """Send the bytes to the presigned URL with exactly the headers it was signed for.

        No API key and no SigV4 here: the URL carries its own authorisation, and a key sent to S3
        would leak it to another service for nothing.
        """
        return self._send(method.upper(), url, data=data, headers=dict(headers), authenticate=False)

    def get_marker(self, repository: str, ref: str) -> ApiResponse:
        """The sync marker of a branch (404: none yet)."""
        return self.request("GET", sync_target(repository, ref))

    def move_marker(self, repository: str, ref: str, commit: str, expected: str | None) -> ApiResponse:
        """Move the marker to `commit` if it is still `expected` (None: if there is none); 409 if not."""
        return self.request("PUT", sync_target(repository, ref), json_body={"commit": commit, "expected": expected})

    def list_images(self) -> Iterator[dict[str, Any]]:
        """Every live catalog entry, following the cursor until it is null."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            target = "/images" + (f"?cursor={quote(cursor, safe='')}" if cursor else "")
            resp = self.request("GET", target)
            if not resp.ok:
                raise ApiError(f"listing the catalog failed: HTTP {resp.status} {resp.error_message}", resp.status)
            body = resp.fields
            yield from body.get("files") or []
            cursor = body.get("cursor")
            if not cursor:
                return
            if cursor in seen:  # a server bug must not become an endless loop
                raise ApiError("listing the catalog failed: the server repeated a cursor")
            seen.add(cursor)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------------

    def request(self, method: str, target: str, *, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, json_body: Any = None) -> ApiResponse:
        """A request to the API; `target` is the already-encoded path (and query) below the base URL."""
        hdrs = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if self.refused is not None:
            raise ApiError(NOT_SENT, code="not_sent")
        resp = self._send(method, self.base_url + target, data=data, headers=hdrs, authenticate=True)
        if resp.status in AUTH_REFUSED_STATUSES and self.refused is None:
            # Every later request would meet the same answer: stop sending, so a wrong key on a push
            # of 500 files is one setup error, not 500 identical failures.
            self.refused = (f"the API answered HTTP {resp.status} ({resp.error_message or 'Forbidden'}): "
                            "check the API key, aws-sign and the stack's AuthMode, and that api-url is the "
                            "stage URL")
        return resp

    def _send(self, method: str, url: str, *, data: bytes | None, headers: dict[str, str],
              authenticate: bool) -> ApiResponse:
        policy = self.retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            hdrs = self._auth_headers(method, url, data, headers) if authenticate else dict(headers)
            wait: float | None = None
            try:
                r = self.session.request(method, url, data=data, headers=hdrs, timeout=self.timeout,
                                         allow_redirects=False)
            except _TRANSIENT as exc:
                failure = f"{type(exc).__name__}"
                if attempt >= policy.attempts:
                    raise ApiError(f"{method} {short_url(url)}: no answer after {attempt} attempts "
                                   f"({failure})") from None
            except requests.RequestException as exc:
                # Anything else requests raises (a bad URL, an undecodable body) will not improve on a
                # retry: one line, by type only (its text may quote the URL's query or a header).
                raise ApiError(f"{method} {short_url(url)}: request failed ({type(exc).__name__})") from None
            else:
                resp = response_from(r, attempt)
                if r.status_code not in RETRY_STATUSES or attempt >= policy.attempts:
                    return resp
                failure = f"HTTP {r.status_code}"
                wait = parse_retry_after(r.headers.get("Retry-After"))
            with self._rng_lock:
                jitter = policy.backoff(attempt - 1, self._rng)
            delay = jitter if wait is None else max(wait, jitter)
            remaining = policy.total_seconds - (self._clock() - started)
            if delay > remaining:
                # Out of time: report what the last attempt got instead of waiting past the budget.
                if failure.startswith("HTTP"):
                    return resp
                raise ApiError(f"{method} {short_url(url)}: gave up after {attempt} attempts in "
                               f"{policy.total_seconds:.0f}s ({failure})")
            if self._on_retry:
                self._on_retry(f"{method} {short_url(url)}", f"{failure}; retry {attempt} in {delay:.1f}s")
            self._sleep(delay)

    def _auth_headers(self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]) -> dict[str, str]:
        out = dict(headers)
        if self._api_key:
            out["x-api-key"] = self._api_key
        if self._signer is not None:
            from botocore.awsrequest import AWSRequest

            # Signed afresh for every attempt: the signature covers the time (X-Amz-Date).
            req = AWSRequest(method=method, url=url, data=data or b"", headers=out)
            self._signer.add_auth(req)
            out = {k: v for k, v in req.headers.items()}
        return out
