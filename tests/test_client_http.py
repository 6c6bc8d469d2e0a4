"""The HTTP client against a scripted loopback server: retries, auth, SigV4, name encoding, presign."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from urllib.parse import unquote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from httpstub import Received, Reply, StubServer
from snail_action.client import ApiClient, ApiError, RetryPolicy, encode_path, parse_retry_after, region_from_url
from snail_action.settings import SettingsError

KEY = "k3y-Secret-VALUE"
FAST = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05, total_seconds=30)
AWS_ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
           "AWS_SESSION_TOKEN": "session-token-from-oidc"}


def client(url: str, **kw) -> ApiClient:
    kw.setdefault("api_key", KEY)
    kw.setdefault("retry", FAST)
    return ApiClient(url, **kw)


def fails_then_ok(n: int, status: int = 503, headers: dict | None = None):
    def script(req: Received, i: int) -> Reply:
        if i < n:
            return Reply(status, {"error": "busy", "message": "try later"}, headers)
        return Reply(200, {"registered_file": "a.png", "status": "completed"})
    return script


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retries_retryable_status_until_success(status):
    with StubServer(fails_then_ok(2, status)) as srv, client(srv.url) as c:
        resp = c.put_image("a.png", b"x", "image/png", "0" * 64)
    assert resp.status == 200
    assert resp.attempts == 3
    assert [r.method for r in srv.received] == ["PUT"] * 3


def test_retries_dropped_connections():
    def script(req, i):
        return Reply(drop=True) if i < 2 else Reply(200, {"ok": True})

    with StubServer(script) as srv, client(srv.url) as c:
        resp = c.delete_image("gone.png")
    assert resp.status == 200
    assert len(srv.received) == 3


def test_connection_refused_raises_after_attempts():
    slept: list[float] = []
    with StubServer(lambda r, i: Reply()) as srv:
        url = srv.url
    # The server is gone: every attempt is refused.
    with client(url, sleep=slept.append) as c, pytest.raises(ApiError, match="no answer after 5 attempts"):
        c.get_image("a.png")
    assert len(slept) == 4


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413])
def test_client_errors_are_not_retried(status):
    with StubServer(fails_then_ok(5, status)) as srv, client(srv.url) as c:
        resp = c.put_image("a.png", b"x", "image/png", "0" * 64)
    assert resp.status == status
    assert len(srv.received) == 1
    assert resp.error_message == "busy: try later"


def test_gives_up_after_max_attempts_and_returns_last_answer():
    with StubServer(fails_then_ok(100, 500)) as srv, client(srv.url) as c:
        resp = c.get_image("a.png")
    assert resp.status == 500
    assert len(srv.received) == FAST.attempts


def test_honours_retry_after_seconds():
    slept: list[float] = []
    with StubServer(fails_then_ok(1, 429, {"Retry-After": "2"})) as srv, client(srv.url, sleep=slept.append) as c:
        resp = c.get_image("a.png")
    assert resp.status == 200
    assert slept and slept[0] >= 2.0


def test_retry_after_beyond_total_time_returns_at_once():
    slept: list[float] = []
    policy = RetryPolicy(attempts=5, base_delay=0.01, total_seconds=10)
    with StubServer(fails_then_ok(5, 503, {"Retry-After": "3600"})) as srv, \
            client(srv.url, sleep=slept.append, retry=policy) as c:
        resp = c.get_image("a.png")
    assert resp.status == 503
    assert slept == []
    assert len(srv.received) == 1


def test_backoff_is_exponential_with_full_jitter():
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    for n, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        samples = [policy.backoff(n, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # really spread over the whole range


def test_parse_retry_after_http_date():
    now = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == pytest.approx(30)
    assert parse_retry_after("5") == 5
    assert parse_retry_after("soon") is None


def test_api_key_header_on_api_requests_only():
    def script(req, i):
        if req.path == "/uploads":
            return Reply(200, {"url": srv.url + "/s3/incoming/x?X-Amz-Signature=abc", "method": "PUT",
                               "headers": {"Content-Type": "image/png"}})
        return Reply(200, {})

    with StubServer(script) as srv, client(srv.url) as c:
        up = c.create_upload("big.png", "image/png", 3, "a" * 64)
        c.upload_presigned(up.body["url"], up.body["method"], up.body["headers"], b"abc")
    api, s3 = srv.received
    assert api.headers["x-api-key"] == KEY
    assert "x-api-key" not in s3.headers
    assert "authorization" not in s3.headers


def test_presign_path_sends_exactly_the_returned_headers():
    data = b"\x89PNG" + b"x" * 1000
    digest = hashlib.sha256(data).hexdigest()
    signed = {"Content-Type": "image/png", "x-amz-meta-registered-file": "photos%2Fbig.png",
              "x-amz-checksum-sha256": "q1w2e3"}

    def script(req, i):
        if req.path == "/uploads":
            return Reply(200, {"url": srv.url + "/bucket/images/incoming/abc?X-Amz-Signature=s", "method": "PUT",
                               "headers": signed})
        return Reply(200, {})

    with StubServer(script) as srv, client(srv.url) as c:
        up = c.create_upload("photos/big.png", "image/png", len(data), digest)
        resp = c.upload_presigned(up.body["url"], up.body["method"], up.body["headers"], data)
    assert resp.status == 200
    post, put = srv.received
    assert post.method == "POST"
    assert json.loads(post.body) == {"filename": "photos/big.png", "content_type": "image/png",
                                     "size": len(data), "sha256": digest}
    assert put.method == "PUT"
    assert put.path == "/bucket/images/incoming/abc?X-Amz-Signature=s"
    assert put.body == data
    for k, v in signed.items():
        assert put.headers[k.lower()] == v


UNUSUAL = ["with space.png", "100%.png", "hash#tag.png", "what?.png", "사진/고양이.jpg", "emoji 🐌.gif",
           "new\nline.png", "plus+and&amp=.png", "dir with space/a;b,c.webp", "-leading-dash.png",
           "quote\"s'.png", "back\\slash.png", "tab\tname.png"]


@pytest.mark.parametrize("name", UNUSUAL)
def test_unusual_names_are_encoded_per_segment(name):
    data = b"bytes"
    digest = hashlib.sha256(data).hexdigest()
    with StubServer(lambda r, i: Reply(200, {})) as srv, client(srv.url) as c:
        c.put_image(name, data, "image/png", digest)
    (req,) = srv.received
    prefix = "/images/"
    assert req.path.startswith(prefix)
    raw_segments = req.path[len(prefix):].split("/")
    # Each segment decodes back to the name's segment, and nothing unsafe is left raw on the wire.
    assert [unquote(s) for s in raw_segments] == name.split("/")
    for seg in raw_segments:
        assert all(ch.isascii() and (ch.isalnum() or ch in "-._~%") for ch in seg), seg
    assert unquote(req.headers["filename"]) == name
    assert req.headers["x-content-sha256"] == digest
    assert req.headers["content-type"] == "image/png"
    assert req.body == data


def test_invalid_utf8_path_round_trips_to_the_same_bytes():
    raw = b"caf\xe9.png"  # latin-1 name in a git tree
    name = raw.decode("utf-8", "surrogateescape")
    assert encode_path(name) == "caf%E9.png"


def _verify_sigv4(req: Received, host: str, creds: Credentials, region: str) -> bool:
    """Recompute the signature from what arrived, with botocore, and compare."""
    auth = req.headers["authorization"]
    signed_names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {n: req.headers[n] for n in signed_names if n != "host"}
    headers["host"] = host
    aws_req = AWSRequest(method=req.method, url=f"http://{host}{req.path}", data=req.body, headers=headers)
    aws_req.context["timestamp"] = req.headers["x-amz-date"]
    signer = SigV4Auth(creds, "execute-api", region)
    canonical = signer.canonical_request(aws_req)
    expected = signer.signature(signer.string_to_sign(aws_req, canonical), aws_req)
    return auth.endswith("Signature=" + expected)


@pytest.mark.parametrize("name", ["photos/a.png", "사진/with space #1.png"])
def test_sigv4_signature_verifies_with_botocore(name):
    data = b"image-bytes"
    with StubServer(lambda r, i: Reply(200, {})) as srv, \
            client(srv.url, api_key=None, sign_aws=True, region="ap-northeast-2", env=AWS_ENV) as c:
        c.put_image(name, data, "image/png", hashlib.sha256(data).hexdigest())
        c.get_image(name)
    host = srv.url.removeprefix("http://")
    creds = Credentials(AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"])
    for req in srv.received:
        assert req.headers["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/ap-northeast-2/execute-api/aws4_request" in req.headers["authorization"]
        assert req.headers["x-amz-security-token"] == "session-token-from-oidc"
        assert "x-api-key" not in req.headers
        assert _verify_sigv4(req, host, creds, "ap-northeast-2")
    put = srv.received[0]
    signed = put.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-content-sha256", "filename", "content-type"} <= set(signed)


def test_sigv4_detects_a_tampered_body():
    with StubServer(lambda r, i: Reply(200, {})) as srv, \
            client(srv.url, api_key=None, sign_aws=True, region="us-east-1", env=AWS_ENV) as c:
        c.put_image("a.png", b"original", "image/png", "0" * 64)
    (req,) = srv.received
    req.body = b"tampered"
    creds = Credentials(AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"])
    assert not _verify_sigv4(req, srv.url.removeprefix("http://"), creds, "us-east-1")


def test_sigv4_resigns_each_retry_and_sends_api_key_too():
    with StubServer(fails_then_ok(1, 503)) as srv, \
            client(srv.url, sign_aws=True, region="us-east-1", env=AWS_ENV) as c:
        c.delete_image("a.png")
    assert len(srv.received) == 2
    for req in srv.received:
        assert req.headers["x-api-key"] == KEY
        assert "x-api-key" in req.headers["authorization"].split("SignedHeaders=")[1]


def test_sigv4_without_credentials_is_a_setup_error():
    with pytest.raises(SettingsError, match="configure-aws-credentials"):
        ApiClient("https://x.execute-api.us-east-1.amazonaws.com/prod", sign_aws=True, env={})


def test_region_comes_from_an_execute_api_url():
    assert region_from_url("https://abc123.execute-api.eu-west-2.amazonaws.com/prod") == "eu-west-2"
    assert region_from_url("http://127.0.0.1:8000") is None
    c = ApiClient("https://abc123.execute-api.eu-west-2.amazonaws.com/prod", sign_aws=True, env=AWS_ENV)
    assert c.region == "eu-west-2"


def test_no_authentication_is_a_setup_error():
    with pytest.raises(SettingsError, match="API key"):
        ApiClient("http://127.0.0.1:1")


def test_list_images_follows_the_cursor():
    pages = {None: ([{"registered_file": "a.png", "hash": "1", "status": "completed"}], "c1/+="),
             "c1/+=": ([{"registered_file": "b.png", "hash": "2", "status": "completed"}], None)}

    def script(req, i):
        cursor = unquote(req.path.split("cursor=")[1]) if "cursor=" in req.path else None
        files, nxt = pages[cursor]
        return Reply(200, {"files": files, "cursor": nxt})

    with StubServer(script) as srv, client(srv.url) as c:
        files = list(c.list_images())
    assert [f["registered_file"] for f in files] == ["a.png", "b.png"]
    assert srv.received[1].path == "/images?cursor=c1%2F%2B%3D"


def test_errors_never_contain_the_api_key():
    with StubServer(lambda r, i: Reply(drop=True)) as srv, client(srv.url) as c:
        with pytest.raises(ApiError) as info:
            c.get_image("a.png")
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


class FakeClock:
    """Time that passes only when the client sleeps (plus a fixed cost per request), to test budgets."""

    def __init__(self, per_call: float = 0.0):
        self.now, self.per_call, self.sleeps = 1000.0, per_call, []

    def __call__(self) -> float:
        self.now += self.per_call
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_total_time_bounds_the_retries_however_many_attempts_are_allowed():
    clock = FakeClock(per_call=4.0)  # each look at the clock: an attempt that took seconds to fail
    policy = RetryPolicy(attempts=1000, base_delay=5.0, max_delay=5.0, total_seconds=60)
    with StubServer(fails_then_ok(10**6, 503)) as srv, \
            client(srv.url, retry=policy, sleep=clock.sleep, clock=clock) as c:
        resp = c.get_image("a.png")
    assert resp.status == 503  # the last answer, returned once the budget is spent
    assert 2 <= len(srv.received) < 20
    assert sum(clock.sleeps) <= 60


def test_connection_failures_end_with_a_clear_error_once_the_budget_is_spent():
    clock = FakeClock(per_call=10.0)
    with StubServer(lambda r, i: Reply()) as srv:
        url = srv.url
    policy = RetryPolicy(attempts=1000, base_delay=1.0, max_delay=1.0, total_seconds=30)
    with client(url, retry=policy, sleep=clock.sleep, clock=clock) as c, \
            pytest.raises(ApiError, match=r"GET /images/a.png: gave up after \d+ attempts in 30s \(ConnectionError\)"):
        c.get_image("a.png")


def test_retry_log_lines_name_method_and_path_never_the_key_or_a_presigned_query():
    lines: list[str] = []
    def every_first_try_fails(req, i):
        return Reply(503, {"message": "busy"}) if i % 2 == 0 else Reply(200, {})

    with StubServer(every_first_try_fails) as srv, \
            client(srv.url, on_retry=lambda what, why: lines.append(f"{what}: {why}")) as c:
        c.get_image("사진/a b.png")
        c.upload_presigned(srv.url + "/bucket/k?X-Amz-Signature=SIGNATURE&X-Amz-Credential=CRED", "PUT", {}, b"x")
    assert len(lines) == 2
    assert lines[0].startswith("GET /images/%EC%82%AC%EC%A7%84/a%20b.png: HTTP 503; retry 1 in ")
    assert lines[1].startswith("PUT /bucket/k: HTTP 503; retry 1 in ")
    assert not any(KEY in ln or "SIGNATURE" in ln or "CRED" in ln for ln in lines)


def test_a_response_cut_off_mid_body_is_retried_like_a_lost_connection():
    def script(req, i):
        return Reply(200, {"files": [{"registered_file": "a.png"}], "cursor": None}, cut=i < 2)

    with StubServer(script) as srv, client(srv.url) as c:
        files = list(c.list_images())
    assert [f["registered_file"] for f in files] == ["a.png"]
    assert len(srv.received) == 3


def test_a_response_cut_off_every_time_ends_in_one_clear_api_error():
    with StubServer(lambda r, i: Reply(200, {"files": []}, cut=True)) as srv, client(srv.url) as c, \
            pytest.raises(ApiError, match=r"^GET /images: no answer after 5 attempts \(ChunkedEncodingError\)$"):
        list(c.list_images())


def test_other_request_failures_become_one_line_api_errors():
    with client("http://127.0.0.1:1") as c, pytest.raises(ApiError, match=r"request failed \(InvalidURL\)"):
        c.upload_presigned("http:///bucket/k?X-Amz-Signature=SECRET", "PUT", {}, b"x")


def test_honours_retry_after_as_an_http_date():
    import email.utils
    import time

    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    slept: list[float] = []
    with StubServer(fails_then_ok(1, 429, {"Retry-After": when})) as srv, client(srv.url, sleep=slept.append) as c:
        resp = c.get_image("a.png")
    assert resp.status == 200
    assert len(slept) == 1 and 3.0 <= slept[0] <= 5.0  # the date's distance, not the 0.05 s jitter ceiling
