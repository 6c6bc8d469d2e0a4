"""Every answer of the local API is JSON `{"error", "message"}` naming what is wrong, over real HTTP to `serve`."""

from __future__ import annotations

import hashlib
import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from helpers import image_bytes
from snail_action.embedded.gateway import MAX_BODY
from snail_action.embedded.server import EmbeddedBackend


@pytest.fixture(scope="module")
def api():
    with EmbeddedBackend() as eb:
        yield eb


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; read the answer until the server closes (status, headers, body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_error_json(headers: dict[str, str], body: bytes) -> dict:
    assert headers["content-type"].startswith("application/json")
    payload = json.loads(body)
    assert set(payload) >= {"error", "message"} and payload["message"]
    return payload


def test_a_body_over_10_mib_is_a_json_413(api):
    status, headers, body = raw_exchange(api.api_url, (
        f"PUT /images/big.png HTTP/1.1\r\nHost: x\r\nx-api-key: {api.api_key}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode())
    assert status == 413
    payload = assert_error_json(headers, body)
    assert payload == {"error": "REQUEST_TOO_LARGE", "message": f"HTTP content length exceeded {MAX_BODY} bytes."}


def test_oversized_headers_are_a_json_431(api):
    status, headers, body = raw_exchange(api.api_url, (
        f"GET /images HTTP/1.1\r\nHost: x\r\nx-api-key: {api.api_key}\r\nX-Big: {'a' * 70000}\r\n\r\n").encode())
    assert status == 431
    assert assert_error_json(headers, body)["error"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


def test_too_many_headers_are_a_json_431(api):
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, headers, body = raw_exchange(api.api_url, f"GET /images HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    assert status == 431
    assert "headers" in assert_error_json(headers, body)["message"].lower()


def test_a_malformed_request_line_is_a_json_400(api):
    status, headers, body = raw_exchange(api.api_url, b"GET /images with spaces HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400
    assert_error_json(headers, body)


def test_deeply_nested_json_to_uploads_is_a_400_not_a_500(api):
    r = requests.post(f"{api.api_url}/uploads", data=b"[" * 50_000, timeout=30,
                      headers={"x-api-key": api.api_key, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request" and "nested" in r.json()["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_put_without_an_image_content_type_says_so(api, content_type):
    data = image_bytes("PNG", (20, 10))
    headers = {"x-api-key": api.api_key, "filename": "a.png", "x-content-sha256": hashlib.sha256(data).hexdigest()}
    if content_type:
        headers["Content-Type"] = content_type
    r = requests.put(f"{api.api_url}/images/a.png", data=data, headers=headers, timeout=30)
    if content_type is None:
        assert "Content-Type" not in r.request.headers  # requests sent none: the case under test
    assert r.status_code == 415
    body = r.json()
    assert body["error"] == "unsupported_media_type"
    assert "Content-Type image/png" in body["message"] and "send it again" not in body["message"]
    assert (repr(content_type) if content_type else "no Content-Type") in body["message"]
    # nothing was registered
    assert requests.get(f"{api.api_url}/images/a.png", headers={"x-api-key": api.api_key}, timeout=30).status_code \
        == 404
