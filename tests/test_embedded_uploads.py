"""Late, duplicate and replayed S3 events against `serve` (the embedded backend, real HTTP over
loopback): once a path's intent has moved on (DELETE, a new PUT), an upload presigned before it
registers nothing. Also `snail-images audit` against the same backend."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from typing import Any

import pytest
import requests

from helpers import image_bytes
from snail_action.audit_cmd import run_audit
from snail_action.cli import build_parser
from snail_action.embedded.server import EmbeddedBackend, default_backend_factory

BIG = image_bytes("PNG", (96, 64), seed=31)
OTHER = image_bytes("PNG", (80, 60), seed=32)


class HeldEvents:
    """The real backend; S3 events wait at a gate until the test opens it (a late delivery)."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.gate = threading.Event()
        self.arrived = threading.Event()
        self.events: list[dict] = []
        self.results: list[dict] = []

    def handle(self, event: dict) -> dict:
        return self.backend.handle(event)

    def handle_s3_event(self, event: dict) -> dict:
        self.events.append(event)
        self.arrived.set()
        self.gate.wait(30)
        result = self.backend.handle_s3_event(event)
        self.results.append(result)
        return result


@pytest.fixture
def held():
    box: dict[str, HeldEvents] = {}

    def factory(env, s3, dynamodb):
        box["held"] = HeldEvents(default_backend_factory(env, s3, dynamodb))
        return box["held"]

    with EmbeddedBackend(backend_factory=factory, environ={}) as eb:
        try:
            yield eb, box["held"]
        finally:
            box["held"].gate.set()


@pytest.fixture
def eb():
    with EmbeddedBackend(environ={}) as backend:
        yield backend


def _api(eb: EmbeddedBackend, method: str, target: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, eb.api_url + target, headers={"x-api-key": eb.api_key, **kwargs.pop("headers", {})},
                            timeout=30, **kwargs)


def presign(eb: EmbeddedBackend, path: str, data: bytes) -> dict:
    r = _api(eb, "POST", "/uploads", json={"filename": path, "size": len(data),
                                            "sha256": hashlib.sha256(data).hexdigest()})
    assert r.status_code == 200, r.text
    return r.json()


def upload(signed: dict, data: bytes) -> None:
    r = requests.put(signed["url"], data=data, headers=signed["headers"], timeout=30)
    assert r.status_code == 200, r.text


def put_direct(eb: EmbeddedBackend, path: str, data: bytes) -> requests.Response:
    return _api(eb, "PUT", f"/images/{path}", data=data, headers={
        "Content-Type": "image/png", "filename": path, "x-content-sha256": hashlib.sha256(data).hexdigest()})


def wait_completed(eb: EmbeddedBackend, path: str, data: bytes) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = _api(eb, "GET", f"/images/{path}")
        if r.status_code == 200 and r.json()["hash"] == hashlib.sha256(data).hexdigest() \
                and r.json()["status"] == "completed":
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not completed: {r.status_code} {r.text}")


def image_objects(eb: EmbeddedBackend) -> set[str]:
    out = eb.s3.list_objects_v2(Bucket=eb.bucket, Prefix="images/").get("Contents", [])
    return {o["Key"] for o in out}


def audit_cli(eb: EmbeddedBackend, *extra: str) -> tuple[int, str]:
    args = build_parser().parse_args(["audit", "--endpoint-url", eb.aws_endpoint_url, "--bucket", eb.bucket,
                                      "--table", eb.table, "--region", eb.region, *extra])
    out = io.StringIO()
    return run_audit(args, out), out.getvalue()


def assert_clean(eb: EmbeddedBackend) -> None:
    eb.wait_incoming(30)
    code, text = audit_cli(eb, "--at-rest")
    assert code == 0, text


def test_a_url_replayed_after_delete_does_not_bring_the_file_back(eb) -> None:
    signed = presign(eb, "p/big.png", BIG)
    upload(signed, BIG)
    reg = wait_completed(eb, "p/big.png", BIG)
    assert _api(eb, "DELETE", "/images/p/big.png").json()["deleted"] == 4
    upload(signed, BIG)  # the same URL again: still valid for UPLOAD_URL_EXPIRES seconds
    assert eb.wait_incoming(30)
    assert _api(eb, "GET", "/images/p/big.png").status_code == 404
    assert not image_objects(eb) & {i["key"] for i in reg["images"].values()}
    assert_clean(eb)


def test_a_url_replayed_after_completion_changes_nothing(eb) -> None:
    signed = presign(eb, "p/big.png", BIG)
    upload(signed, BIG)
    before = wait_completed(eb, "p/big.png", BIG)
    upload(signed, BIG)
    assert eb.wait_incoming(30)
    assert _api(eb, "GET", "/images/p/big.png").json() == before
    assert_clean(eb)


def test_an_event_delivered_after_the_delete_registers_nothing(held) -> None:
    eb, backend = held
    upload(presign(eb, "late.png", BIG), BIG)
    assert backend.arrived.wait(30)  # the event is out, held back
    assert _api(eb, "DELETE", "/images/late.png").json()["deleted"] == 0
    backend.gate.set()
    assert eb.wait_incoming(30)
    assert backend.results[0]["results"][0]["outcome"] == "stale"
    assert _api(eb, "GET", "/images/late.png").status_code == 404
    assert image_objects(eb) == set()
    assert_clean(eb)


def test_an_event_delivered_after_a_newer_put_keeps_the_newer_content(held) -> None:
    eb, backend = held
    upload(presign(eb, "late.png", BIG), BIG)
    assert backend.arrived.wait(30)
    assert put_direct(eb, "late.png", OTHER).status_code == 200  # the path's intent moves on
    backend.gate.set()
    assert eb.wait_incoming(30)
    assert backend.results[0]["results"][0]["outcome"] == "stale"
    assert _api(eb, "GET", "/images/late.png").json()["hash"] == hashlib.sha256(OTHER).hexdigest()
    assert_clean(eb)


def test_an_event_delivered_twice_registers_once(held) -> None:
    eb, backend = held
    backend.gate.set()
    upload(presign(eb, "twice.png", BIG), BIG)
    first = wait_completed(eb, "twice.png", BIG)
    assert eb.wait_incoming(30)
    again = backend.backend.handle_s3_event(backend.events[0])  # S3 delivers at least once
    assert again["results"][0]["outcome"] == "gone"
    assert _api(eb, "GET", "/images/twice.png").json() == first
    assert_clean(eb)


def test_a_presign_made_stale_by_a_second_one_registers_nothing(held) -> None:
    eb, backend = held
    first, second = presign(eb, "two.png", BIG), presign(eb, "two.png", OTHER)
    upload(first, BIG)
    assert backend.arrived.wait(30)
    backend.gate.set()
    upload(second, OTHER)
    wait_completed(eb, "two.png", OTHER)
    assert eb.wait_incoming(30)
    assert [r["results"][0]["outcome"] for r in backend.results] == ["stale", "registered"]
    assert_clean(eb)


def test_audit_reports_every_broken_invariant_and_repairs_the_safe_ones(held) -> None:
    eb, _ = held  # S3 events are held back: the incoming object below stays a leftover
    assert put_direct(eb, "a.png", BIG).status_code == 200
    assert put_direct(eb, "b.png", OTHER).status_code == 200
    code, text = audit_cli(eb, "--at-rest")
    assert code == 0 and "every invariant holds" in text
    a = _api(eb, "GET", "/images/a.png").json()
    b = _api(eb, "GET", "/images/b.png").json()
    eb.s3.put_object(Bucket=eb.bucket, Key="images/md/orphan.png", Body=b"x")
    eb.s3.put_object(Bucket=eb.bucket, Key="images/incoming/left.png", Body=b"x")
    eb.s3.delete_object(Bucket=eb.bucket, Key=b["images"]["lg"]["key"])
    name = a["images"]["raw"]["key"].rsplit("/", 1)[1]
    eb.dynamodb.update_item(TableName=eb.table, Key={"ImageType": {"S": "ref"}, "ImageId": {"S": name}},
                            UpdateExpression="SET Refs = :n", ExpressionAttributeValues={":n": {"N": "2"}})

    code, text = audit_cli(eb, "--grace", "0", "--json")
    report = json.loads(text)
    assert code == 1
    assert {(f["kind"], f["subject"]) for f in report["findings"]} == {
        ("unused_object", "images/md/orphan.png"), ("leftover_incoming", "images/incoming/left.png"),
        ("missing_object", b["images"]["lg"]["key"]), ("refcount", name)}

    code, text = audit_cli(eb, "--grace", "0", "--repair")
    assert code == 1  # the missing object and the refcount are not safe to fix by hand
    assert "repaired: deleted images/md/orphan.png (unused object)" in text
    assert "repaired: deleted images/incoming/left.png (leftover incoming)" in text
    assert f"left: refcount: {name}" in text and "not safe to fix automatically" in text
    assert not {"images/md/orphan.png", "images/incoming/left.png"} & image_objects(eb)
    assert {a["images"]["raw"]["key"], b["images"]["raw"]["key"]} <= image_objects(eb)  # nothing in use went

    # With the default grace, what just changed may be work in flight: not reported.
    eb.s3.put_object(Bucket=eb.bucket, Key="images/sg/fresh.png", Body=b"x")
    code, text = audit_cli(eb, "--json")
    assert "images/sg/fresh.png" not in text


def test_audit_without_a_backend_named_says_what_to_give(eb, capsys) -> None:
    args = build_parser().parse_args(["audit", "--endpoint-url", eb.aws_endpoint_url, "--region", eb.region])
    assert run_audit(args) == 2
    assert "--stack NAME, or --bucket and --table" in capsys.readouterr().err
