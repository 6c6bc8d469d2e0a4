"""The local API Gateway over real HTTP: the proxy events it builds, and its answers before Lambda."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading

import pytest
import requests

from snail_action.cfn_template import load_template
from snail_action.embedded import definitions
from snail_action.embedded.events import proxy_event
from snail_action.embedded.gateway import MAX_BODY, match_route, proxy_reply
from snail_action.embedded.http_server import Gateway
from snail_backend import routes as api_routes

KEY = "test-key-123"


class Recorder:
    """A handler that keeps every event and answers with a fixed proxy response."""

    def __init__(self, response=None):
        self.events = []
        self.response = response or {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                                     "body": json.dumps({"ok": True})}

    def __call__(self, event):
        self.events.append(event)
        return self.response


@pytest.fixture
def gateway():
    started = []

    def start(handler, **kw):
        gw = Gateway(handler, KEY, binary_media_types=kw.pop("binary_media_types", ("image/*",)), **kw)
        gw.start()
        started.append(gw)
        return f"http://127.0.0.1:{gw.port}"

    yield start
    for gw in started:
        gw.stop()


def test_put_event_has_decoded_proxy_raw_path_and_base64_body(gateway):
    rec = Recorder()
    url = gateway(rec)
    body = bytes(range(256)) * 4
    r = requests.put(f"{url}/images/photos/a%20b/%E2%98%83%2Bc.png?x=1&x=2&y=",
                     data=body, headers={"x-api-key": KEY, "Content-Type": "image/png", "filename": "f%20g"})
    assert r.status_code == 200
    (event,) = rec.events
    assert event["resource"] == "/images/{proxy+}"
    assert event["path"] == "/images/photos/a%20b/%E2%98%83%2Bc.png"
    assert event["pathParameters"] == {"proxy": "photos/a b/\u2603+c.png"}
    assert event["httpMethod"] == "PUT"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert event["headers"]["filename"] == "f%20g"
    assert event["multiValueHeaders"]["Content-Type"] == ["image/png"]
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["httpMethod"] == "PUT"
    assert ctx["resourcePath"] == "/images/{proxy+}"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["requestId"] and ctx["stage"]
    assert ctx["path"].endswith(event["path"])
    assert r.headers["x-amzn-RequestId"] == ctx["requestId"]


def test_get_list_event_has_no_body_no_path_parameters_no_query(gateway):
    rec = Recorder()
    url = gateway(rec)
    assert requests.get(f"{url}/images", headers={"x-api-key": KEY}).status_code == 200
    (event,) = rec.events
    assert event["resource"] == "/images"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_json_body_stays_text(gateway):
    rec = Recorder()
    url = gateway(rec)
    payload = {"filename": "big.tif", "size": 5}
    requests.post(f"{url}/uploads", json=payload, headers={"x-api-key": KEY})
    (event,) = rec.events
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == payload


def test_multiple_header_values_keep_last_in_headers(gateway):
    rec = Recorder()
    url = gateway(rec)
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as s:
        s.sendall(b"GET /images HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.encode()
                  + b"\r\nX-Thing: one\r\nX-Thing: two\r\nConnection: close\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
    (event,) = rec.events
    assert event["headers"]["X-Thing"] == "two"
    assert event["multiValueHeaders"]["X-Thing"] == ["one", "two"]


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": ""}])
def test_missing_or_wrong_key_is_forbidden_and_never_reaches_the_handler(gateway, headers):
    rec = Recorder()
    url = gateway(rec)
    r = requests.put(f"{url}/images/a.png", data=b"x", headers=headers)
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}
    assert r.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert rec.events == []


@pytest.mark.parametrize("method,path", [("GET", "/"), ("GET", "/nothing"), ("POST", "/images/a.png"),
                                         ("PUT", "/images"), ("GET", "/images/"), ("GET", "/uploads")])
def test_unknown_route_is_missing_authentication_token(gateway, method, path):
    rec = Recorder()
    url = gateway(rec)
    r = requests.request(method, url + path, headers={"x-api-key": KEY})
    assert r.status_code == 403
    assert r.json() == {"message": "Missing Authentication Token"}
    assert rec.events == []


def test_body_over_10_mib_is_413_without_reading_it(gateway):
    rec = Recorder()
    url = gateway(rec)
    port = int(url.rsplit(":", 1)[1])
    # Only the headers are sent: the answer must come without the gateway waiting for the body.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"PUT /images/big.png HTTP/1.1\r\nHost: x\r\nx-api-key: {KEY}\r\nContent-Type: image/png\r\n"
                  f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body) == {"message": f"HTTP content length exceeded {MAX_BODY} bytes."}
    assert rec.events == []


def test_oversized_body_announced_with_expect_100_continue_gets_413_instead_of_continue(gateway):
    url = gateway(Recorder())
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(f"PUT /images/big.png HTTP/1.1\r\nHost: x\r\nx-api-key: {KEY}\r\nExpect: 100-continue\r\n"
                  f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 413")


def test_small_body_with_expect_100_continue_goes_through(gateway):
    rec = Recorder()
    url = gateway(rec)
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(f"PUT /images/a.png HTTP/1.1\r\nHost: x\r\nx-api-key: {KEY}\r\nExpect: 100-continue\r\n"
                  "Content-Type: image/png\r\nContent-Length: 3\r\nConnection: close\r\n\r\n".encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 100")
        s.sendall(b"abc")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert b"HTTP/1.1 200" in answer
    assert base64.b64decode(rec.events[0]["body"]) == b"abc"


def test_chunked_body_over_10_mib_is_413(gateway):
    rec = Recorder()
    url = gateway(rec)
    chunks = (b"\0" * (1024 * 1024) for _ in range(11))
    r = requests.put(f"{url}/images/big.png", data=chunks, headers={"x-api-key": KEY, "Content-Type": "image/png"})
    assert r.status_code == 413
    assert rec.events == []


def test_chunked_body_under_the_limit_arrives_whole(gateway):
    rec = Recorder()
    url = gateway(rec)
    parts = [b"abc" * 1000, b"def" * 2000]
    r = requests.put(f"{url}/images/c.png", data=iter(parts), headers={"x-api-key": KEY, "Content-Type": "image/png"})
    assert r.status_code == 200
    assert base64.b64decode(rec.events[0]["body"]) == b"".join(parts)


def test_event_over_6_mib_is_413_request_too_long(gateway):
    rec = Recorder()
    url = gateway(rec)
    body = b"\x01" * (5 * 1024 * 1024)  # under 10 MiB, but its base64 is over 6 MiB
    r = requests.put(f"{url}/images/five.png", data=body, headers={"x-api-key": KEY, "Content-Type": "image/png"})
    assert r.status_code == 413
    assert r.json() == {"message": "Request Too Long"}
    assert rec.events == []


def test_event_just_under_6_mib_goes_through(gateway):
    rec = Recorder()
    url = gateway(rec)
    body = b"\x01" * (4 * 1024 * 1024)
    r = requests.put(f"{url}/images/four.png", data=body, headers={"x-api-key": KEY, "Content-Type": "image/png"})
    assert r.status_code == 200
    assert len(base64.b64decode(rec.events[0]["body"])) == len(body)


def test_handler_failure_is_502_internal_server_error(gateway):
    def broken(event):
        raise RuntimeError("boom")

    log = io.StringIO()
    url = gateway(broken, error_log=log)
    r = requests.get(f"{url}/images/a.png", headers={"x-api-key": KEY})
    assert r.status_code == 502
    assert r.json() == {"message": "Internal server error"}
    assert "boom" in log.getvalue()


def test_proxy_response_headers_status_and_base64_body_are_returned(gateway):
    rec = Recorder({"statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"X-Many": ["a", "b"]},
                    "isBase64Encoded": True, "body": base64.b64encode(b"\x00\xff").decode()})
    url = gateway(rec)
    r = requests.get(f"{url}/images/a.png", headers={"x-api-key": KEY})
    assert r.status_code == 201
    assert r.content == b"\x00\xff"
    assert r.headers["X-One"] == "1"
    assert r.headers["X-Many"] == "a, b"


def test_requests_are_served_in_parallel(gateway):
    n = 4
    barrier = threading.Barrier(n, timeout=20)

    def waits_for_the_others(event):
        barrier.wait()  # only returns when n requests are inside the handler at once
        return {"statusCode": 200, "body": "{}"}

    url = gateway(waits_for_the_others)
    results = []

    def call(i):
        results.append(requests.get(f"{url}/images/{i}.png", headers={"x-api-key": KEY}, timeout=30).status_code)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * n


@pytest.mark.parametrize("method,path,headers,status,error,message", [
    ("GET", "/images/a.png", {}, 403, "INVALID_API_KEY", "Forbidden"),
    ("GET", "/images/a.png", {"x-api-key": "wrong"}, 403, "INVALID_API_KEY", "Forbidden"),
    ("GET", "/elsewhere", {"x-api-key": KEY}, 403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"),
])
def test_gateway_responses_of_the_template_shape_gateway_errors(gateway, method, path, headers, status, error,
                                                                 message):
    # The deployed API maps its own errors through the template's DEFAULT_4XX/5XX gateway responses.
    url = gateway(Recorder(), responses=definitions.gateway_responses(load_template()))
    r = requests.request(method, url + path, headers=headers)
    assert r.status_code == status
    assert r.json() == {"error": error, "message": message}


def test_build_event_binary_only_for_configured_media_types():
    common = dict(method="PUT", raw_path="/images/a.txt", query="", body=b"hello", resource="/images/{proxy+}",
                  path_params={"proxy": "a.txt"}, source_ip="1.2.3.4", stage="s", request_id="r", now=0)
    text = proxy_event(headers=[("Content-Type", "text/plain")], binary_media_types=("image/*",), **common)
    binary = proxy_event(headers=[("Content-Type", "image/gif; x=y")], binary_media_types=("image/*",), **common)
    assert (text["body"], text["isBase64Encoded"]) == ("hello", False)
    assert (binary["body"], binary["isBase64Encoded"]) == (base64.b64encode(b"hello").decode(), True)


def test_the_templates_routes_are_the_route_table():
    assert definitions.routes(load_template()) == api_routes.RESOURCES


@pytest.mark.parametrize("method,path,want", [
    ("GET", "/images/a/b.png", ("/images/{proxy+}", {"proxy": "a/b.png"})),
    ("GET", "/images", ("/images", None)),
    ("GET", "/images/", None),
    ("GET", "/images/a//b.png", None),
    ("POST", "/uploads", ("/uploads", None)),
    ("GET", "/items/7", ("/items/{id}", {"id": "7"})),
    ("GET", "/items/special", ("/items/special", None)),
    ("GET", "/items/7/x", None),
    ("DELETE", "/items/7", None),
    ("GET", "/", None),
])
def test_match_route_prefers_literal_then_parameter_then_greedy(method, path, want):
    routes = {"/images/{proxy+}": frozenset({"GET"}), "/images": frozenset({"GET"}), "/uploads": frozenset({"POST"}),
              "/items/{id}": frozenset({"GET"}), "/items/special": frozenset({"GET"})}
    assert match_route(method, path, routes) == want


@pytest.mark.parametrize("bad", [None, {"statusCode": "x"}, {"statusCode": 200, "body": {"not": "a string"}}])
def test_malformed_proxy_response_is_rejected(bad):
    with pytest.raises(ValueError):
        proxy_reply(bad)


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_are_methods_the_api_does_not_define(gateway, method):
    # API Gateway answers them itself (no ANY method, no CORS preflight in the template); HEAD without a body.
    rec = Recorder()
    url = gateway(rec)
    r = requests.request(method, f"{url}/images/a.png", headers={"x-api-key": KEY}, timeout=10)
    assert r.status_code == 403
    assert r.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    if method == "HEAD":
        assert r.content == b"" and int(r.headers["Content-Length"]) > 0
    else:
        assert r.json() == {"message": "Missing Authentication Token"}
    assert rec.events == []


def test_a_body_of_exactly_10_mib_passes_the_size_check_and_one_byte_more_does_not(gateway):
    rec = Recorder()
    url = gateway(rec)
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}  # text: no base64, so 10 MiB fits the event
    at_limit = requests.post(f"{url}/uploads", data=b" " * MAX_BODY, headers=headers, timeout=60)
    over = requests.post(f"{url}/uploads", data=b" " * (MAX_BODY + 1), headers=headers, timeout=60)
    # 10 MiB of text is still over Lambda's 6 MiB event: refused as too long, not as too large a request.
    assert at_limit.status_code == 413 and at_limit.json() == {"message": "Request Too Long"}
    assert over.status_code == 413 and over.json() == {"message": f"HTTP content length exceeded {MAX_BODY} bytes."}


def test_the_backends_largest_direct_put_fits_in_the_lambda_event(gateway):
    from snail_backend.http import MAX_DIRECT_BODY

    rec = Recorder()
    url = gateway(rec)
    body = b"\x89" * MAX_DIRECT_BODY
    r = requests.put(f"{url}/images/photos/largest%20direct.png", data=body, timeout=60, headers={
        "x-api-key": KEY, "Content-Type": "image/png", "filename": "photos/largest%20direct.png",
        "x-content-sha256": "0" * 64, "User-Agent": "snail-images/0.1.0 " + "x" * 200})
    assert r.status_code == 200
    assert len(base64.b64decode(rec.events[0]["body"])) == MAX_DIRECT_BODY
