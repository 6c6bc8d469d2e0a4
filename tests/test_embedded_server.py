"""The embedded backend: moto resources made from the template, isolation, S3 events, `serve` as a process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
import requests

from snail_action.cfn_template import load_template, resources_of_type
from snail_action.embedded import definitions
from snail_action.embedded.events import s3_event
from snail_action.embedded.server import EmbeddedBackend

TEMPLATE = load_template()


class Recorder:
    """Stands in for the backend where the embedded plumbing, not the backend, is under test."""

    def __init__(self, env, s3, dynamodb, fail_times=0):
        self.env = env
        self.api_events = []
        self.s3_events = []
        self.fail_times = fail_times
        self.lock = threading.Lock()

    def handle(self, event):
        self.api_events.append(event)
        return {"statusCode": 200, "body": json.dumps({"seen": event["path"]})}

    def handle_s3_event(self, event):
        with self.lock:
            self.s3_events.append(event)
            if len(self.s3_events) <= self.fail_times:
                raise RuntimeError("transient")


@pytest.fixture(scope="module")
def pair():
    """Two embedded backends at once in this process, with stand-in handlers."""
    with EmbeddedBackend(backend_factory=Recorder) as a, EmbeddedBackend(backend_factory=Recorder) as b:
        yield a, b


def _table_props():
    (table,) = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table").values()
    return table["Properties"]


def test_table_is_created_as_the_template_defines_it(pair):
    eb, _ = pair
    desc = eb.dynamodb.describe_table(TableName=eb.table)["Table"]
    props = _table_props()
    assert desc["KeySchema"] == props["KeySchema"]
    assert sorted(desc["AttributeDefinitions"], key=str) == sorted(props["AttributeDefinitions"], key=str)
    assert desc["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
    got = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in desc["GlobalSecondaryIndexes"]}
    want = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in props["GlobalSecondaryIndexes"]}
    assert got == want


def test_bucket_has_the_templates_incoming_lifecycle_rule(pair):
    eb, _ = pair
    rules = eb.s3.get_bucket_lifecycle_configuration(Bucket=eb.bucket)["Rules"]
    assert any(r["Filter"].get("Prefix") == "images/incoming/" and r["Expiration"]["Days"] >= 1 for r in rules)


def test_two_backends_in_one_process_do_not_share_data(pair):
    a, b = pair
    assert a.bucket != b.bucket and a.table != b.table
    assert a.api_url != b.api_url and a.api_key != b.api_key
    a.s3.put_object(Bucket=a.bucket, Key="images/raw/only-in-a.png", Body=b"a")
    a.dynamodb.put_item(TableName=a.table, Item={"ImageType": {"S": "raw"}, "ImageId": {"S": "raw/x/y"}})
    assert b.s3.list_objects_v2(Bucket=b.bucket).get("KeyCount") == 0
    assert b.dynamodb.scan(TableName=b.table)["Count"] == 0
    assert requests.get(f"{b.api_url}/images", headers={"x-api-key": a.api_key}).status_code == 403
    assert requests.get(f"{b.api_url}/images", headers={"x-api-key": b.api_key}).status_code == 200


def test_ready_info_has_the_contract_keys_and_reachable_endpoints(pair):
    eb, _ = pair
    info = eb.ready_info()
    assert set(info) == {"api_url", "api_key", "delivery_url", "aws_endpoint_url", "region", "bucket", "table"}
    assert info["api_url"].startswith("http://127.0.0.1:") and info["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert info["table"].startswith(definitions.default_table_name(TEMPLATE))


def test_backend_gets_the_template_function_environment_and_its_own_names(pair):
    eb, _ = pair
    env = eb.backend.env
    assert env["S3_BUCKET_NAME"] == eb.bucket and env["DYNAMODB_TABLE_NAME"] == eb.table
    params = TEMPLATE["Parameters"]
    assert env["VARIANT_SIZES"] == params["VariantSizes"]["Default"]
    assert env["KEY_SCHEME"] == params["KeyScheme"]["Default"]


@pytest.mark.slow
def test_users_aws_settings_are_neither_needed_nor_touched(tmp_path, monkeypatch):
    broken = tmp_path / "config"
    broken.write_text("[default\nnot ini")
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(broken))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(broken))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "the-users-key")
    with EmbeddedBackend(backend_factory=Recorder) as eb:
        eb.s3.put_object(Bucket=eb.bucket, Key="images/raw/x.png", Body=b"x")
        assert eb.dynamodb.describe_table(TableName=eb.table)["Table"]["TableStatus"] == "ACTIVE"
        assert requests.get(f"{eb.api_url}/images", headers={"x-api-key": eb.api_key}).status_code == 200
    assert os.environ["AWS_ACCESS_KEY_ID"] == "the-users-key"
    assert os.environ["AWS_PROFILE"] == "no-such-profile"


def test_object_under_incoming_reaches_the_s3_handler_once_as_s3_sends_it(pair):
    eb, _ = pair
    key = "images/incoming/a b+c/\u00e9.png"
    eb.s3.put_object(Bucket=eb.bucket, Key=key, Body=b"12345")
    assert eb.wait_incoming(timeout=20)
    events = [e for e in eb.backend.s3_events if unquote_plus(e["Records"][0]["s3"]["object"]["key"]) == key]
    assert len(events) == 1
    record = events[0]["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put" and record["eventSource"] == "aws:s3"
    assert record["s3"]["bucket"]["name"] == eb.bucket
    assert record["s3"]["object"]["key"] == "images/incoming/a+b%2Bc/%C3%A9.png"
    assert record["s3"]["object"]["size"] == 5
    assert record["s3"]["object"]["eTag"] == "827ccb0eea8a706c4c34a16891f84e7b"  # md5 of the body, unquoted
    eb.s3.put_object(Bucket=eb.bucket, Key="images/raw/not-incoming.png", Body=b"x")
    assert eb.wait_incoming(timeout=20)  # later polls do not send it again, nor other prefixes
    keys = [unquote_plus(e["Records"][0]["s3"]["object"]["key"]) for e in eb.backend.s3_events]
    assert keys.count(key) == 1 and "images/raw/not-incoming.png" not in keys


def test_the_same_bytes_put_again_within_a_second_are_a_new_event_as_in_s3(pair):
    # S3 sends an event per PUT. The listing's LastModified has one-second steps, so the watcher tells two
    # puts of the same bytes under one key apart by when moto stored each (a URL replayed right after its
    # upload was registered used to be taken for the object already handled, and stayed in incoming/).
    eb, _ = pair
    key = "images/incoming/again.png"
    eb.s3.put_object(Bucket=eb.bucket, Key=key, Body=b"same bytes")
    assert eb.wait_incoming(timeout=20)
    eb.s3.put_object(Bucket=eb.bucket, Key=key, Body=b"same bytes")
    assert eb.wait_incoming(timeout=20)
    keys = [unquote_plus(e["Records"][0]["s3"]["object"]["key"]) for e in eb.backend.s3_events]
    assert keys.count(key) == 2


@pytest.mark.slow
def test_failing_s3_handler_is_retried_twice_like_async_lambda():
    def factory(env, s3, dynamodb):
        return Recorder(env, s3, dynamodb, fail_times=5)

    log = io.StringIO()
    with EmbeddedBackend(backend_factory=factory, error_log=log) as eb:
        eb.s3.put_object(Bucket=eb.bucket, Key="images/incoming/x.png", Body=b"x")
        assert eb.wait_incoming(timeout=20)
        assert len(eb.backend.s3_events) == 3
    assert "attempt 3 of 3" in log.getvalue()


def test_s3_event_key_is_url_encoded_like_s3():
    event = s3_event(bucket="b", key="images/incoming/my file+1%.png", size=1, etag='"abc"', region="us-east-1",
                     sequencer=1)
    obj = event["Records"][0]["s3"]["object"]
    assert obj["key"] == "images/incoming/my+file%2B1%25.png"
    assert unquote_plus(obj["key"]) == "images/incoming/my file+1%.png"
    assert obj["eTag"] == "abc"


def test_template_value_only_a_stack_can_evaluate_is_refused_with_its_place():
    template = {"Parameters": {}, "Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "AttributeDefinitions": {"Fn::If": ["c", [], []]}}}}}
    with pytest.raises(definitions.TemplateError, match=r"T\.AttributeDefinitions uses Fn::If"):
        definitions.table_kwargs(template, "x")


def test_ref_to_a_parameter_uses_its_default():
    template = {"Parameters": {"P": {"Type": "Number", "Default": 3}}}
    assert definitions.plain({"Days": {"Ref": "P"}}, "here", template) == {"Days": 3}


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, dict]:
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "snail_action", "serve", "--ready-file", str(ready), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"serve did not get ready (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())


@pytest.mark.slow
def test_serve_writes_ready_file_answers_and_stops_cleanly_on_sigterm(tmp_path):
    proc, info = _serve(tmp_path, "--api-key", "serve-test-key")
    try:
        assert info["api_key"] == "serve-test-key"
        assert (tmp_path / "ready.json").stat().st_mode & 0o777 == 0o600  # it holds the key
        r = requests.get(f"{info['api_url']}/images", headers={"x-api-key": "serve-test-key"}, timeout=30)
        assert r.status_code == 200
        assert requests.get(f"{info['api_url']}/images", timeout=30).status_code == 403
        import boto3

        s3 = boto3.client("s3", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                          aws_access_key_id="x", aws_secret_access_key="y")
        assert info["bucket"] in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[0]) == info  # the ready line is the first line on stdout
    assert not (tmp_path / "ready.json").exists()


@pytest.mark.slow
def test_serve_stops_cleanly_on_ctrl_c(tmp_path):
    proc, _ = _serve(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.mark.slow
def test_serve_on_a_port_in_use_exits_2_with_one_clear_line(capsys):
    import socket

    from snail_action import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert cli.main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "could not start" in err and "Address already in use" in err


@pytest.mark.slow
def test_serve_with_an_unwritable_ready_file_exits_2_before_announcing_ready(tmp_path, capsys):
    from snail_action import cli

    taken = tmp_path / "a-folder"
    taken.mkdir()
    assert cli.main(["serve", "--ready-file", str(taken)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no ready line from a server that is about to exit
    (line,) = [x for x in err.splitlines() if "error" in x]
    assert line.startswith("snail-images serve: error: cannot write --ready-file") and str(taken) in line
    assert "Traceback" not in err
    assert taken.is_dir() and list(taken.iterdir()) == []


@pytest.mark.slow
def test_serve_with_a_malformed_backend_setting_in_the_environment_names_it(monkeypatch, capsys):
    from snail_action import cli

    monkeypatch.setenv("VARIANT_SIZES", "sg=big")
    assert cli.main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("snail-images serve: error: could not start:")
    assert "VARIANT_SIZES=sg=big" in line and "fix or unset it" in line
