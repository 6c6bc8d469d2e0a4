"""The one place the backend's boto3 clients are built (the Lambda handlers and the embedded backend).

What only real AWS checks is fixed here, by construction, whatever the runtime's defaults are:
- SigV4 (`s3v4`): botocore still presigns with SigV2 on `us-east-1` by default, which S3 refuses
  for buckets created since June 2020;
- the function's own region and S3's regional virtual-hosted endpoint
  (`https://<bucket>.s3.<region>.amazonaws.com`): the global endpoint answers a PUT for a bucket of
  another region with a redirect, and `us-east-1` needs `us_east_1_regional_endpoint=regional`;
- the `standard` retry mode (bounded, jittered, retries throttling and transient errors);
- connect and read timeouts small enough that every attempt of one call fits inside the function's
  timeout (a hung socket is retried instead of eating the whole invocation).

The embedded backend passes its loopback `endpoint_url` and nothing else differs (botocore falls
back to path-style addressing for an IP-address endpoint by itself).
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

MAX_ATTEMPTS = 3  # the standard mode's default: the first try and two retries
CONNECT_TIMEOUT = 2.0
MARGIN_SECONDS = 2.0  # left to the function to answer after the last attempt gave up
# The standard mode sleeps random(0, 1) * 2**n seconds before retry n+1: at most 1 + 2 for two retries.
RETRY_SLEEP_SECONDS = 3.0
DEFAULT_FUNCTION_TIMEOUT = 28.0  # the API functions' timeout in the template


def timeouts(function_timeout: float) -> tuple[float, float]:
    """(connect, read) timeouts such that MAX_ATTEMPTS attempts fit in the function's timeout."""
    per_attempt = max(1.0, (function_timeout - MARGIN_SECONDS - RETRY_SLEEP_SECONDS) / MAX_ATTEMPTS)
    connect = min(CONNECT_TIMEOUT, per_attempt / 2)
    return connect, per_attempt - connect


def client_config(service: str, function_timeout: float = DEFAULT_FUNCTION_TIMEOUT) -> Config:
    connect, read = timeouts(function_timeout)
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},  # retries included
        "connect_timeout": connect, "read_timeout": read, "max_pool_connections": 32,
    }
    if service == "s3":
        options["signature_version"] = "s3v4"
        options["s3"] = {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
    return Config(**options)


def make_client(service: str, region: str, *, function_timeout: float = DEFAULT_FUNCTION_TIMEOUT,
                endpoint_url: str | None = None, session: Any = None, **credentials: str) -> Any:
    """A client for `service` ("s3" or "dynamodb") in `region`. `session` and `credentials`
    (aws_access_key_id=..., aws_secret_access_key=...) default to boto3's own chain."""
    if not region:
        raise ValueError("no AWS region: the Lambda runtime sets AWS_REGION; elsewhere give one")
    if session is None:
        import boto3  # noqa: PLC0415 -- only when a client is made: importing this module stays cheap

        session = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url,
                          config=client_config(service, function_timeout), **credentials)


def make_clients(region: str, **kwargs: Any) -> tuple[Any, Any]:
    """(s3, dynamodb), both from make_client."""
    return make_client("s3", region, **kwargs), make_client("dynamodb", region, **kwargs)
