"""What moto cannot check, checked against AWS's documented behaviour: the Lambda's clients sign with
SigV4 for the function's region on S3's regional virtual-hosted endpoint, presigned uploads carry
their size and SHA-256 as signed headers, timeouts fit in the function's timeout, and every log
line of an invocation carries its request id, path and outcome."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from backend_support import TABLE, aws_env, create_resources, item_event, put_event, uploads_event
from helpers import image_bytes
from snail_backend import clients, handlers

BUCKET = "snail-images-123456789012-x"


class Context:
    """The parts of Lambda's context object the handlers read (documented by AWS)."""

    def __init__(self, request_id: str, remaining_ms: int = 28000):
        self.aws_request_id = request_id
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


@pytest.fixture
def lambda_env(monkeypatch):
    def configure(region: str) -> None:
        aws_env()
        for name, value in {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "S3_BUCKET_NAME": BUCKET,
                            "DYNAMODB_TABLE_NAME": TABLE}.items():
            monkeypatch.setenv(name, value)
        handlers.reset()

    yield configure
    handlers.reset()


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-northeast-2"])
def test_the_upload_url_is_sigv4_on_the_regional_virtual_hosted_endpoint(lambda_env, region) -> None:
    lambda_env(region)
    data = image_bytes("PNG", (64, 48), seed=3)
    digest = hashlib.sha256(data).hexdigest()
    with mock_aws():
        boto3.client("dynamodb", region_name=region).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("ImageType", "ImageId")],
            KeySchema=[{"AttributeName": "ImageType", "KeyType": "HASH"},
                       {"AttributeName": "ImageId", "KeyType": "RANGE"}])
        response = handlers.insert_handler(uploads_event({"filename": "a/b.png", "size": len(data),
                                                          "sha256": digest}), Context("req-1"))
    assert response["statusCode"] == 200, response["body"]

    body = json.loads(response["body"])
    url = urlsplit(body["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.scheme, url.hostname) == ("https", f"{BUCKET}.s3.{region}.amazonaws.com")
    assert url.path.startswith("/images/incoming/")  # virtual-hosted: the bucket is not in the path
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].split("/")[2:] == [region, "s3", "aws4_request"]
    assert "Signature" not in query and "AWSAccessKeyId" not in query  # no SigV2
    signed = query["X-Amz-SignedHeaders"].split(";")
    # S3 refuses a PUT whose signed headers differ: another size, other content, another path's token.
    assert {"host", "content-length", "x-amz-checksum-sha256", "content-type", "x-amz-meta-token"} <= set(signed)
    assert body["headers"]["Content-Length"] == str(len(data))
    assert body["headers"]["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert set(signed) - {"host"} == {k.lower() for k in body["headers"]}  # every signed header is handed out


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-northeast-2"])
def test_every_client_of_the_factory_is_sigv4_regional_with_standard_retries(region) -> None:
    s3, dynamodb = clients.make_clients(region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    assert s3.meta.config.signature_version == "s3v4"
    assert s3.meta.config.s3 == {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
    assert s3.meta.region_name == dynamodb.meta.region_name == region
    assert dynamodb.meta.endpoint_url == f"https://dynamodb.{region}.amazonaws.com"
    for client in (s3, dynamodb):
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": clients.MAX_ATTEMPTS}
    # Any operation's URL, not only the presigned PUT: a GET URL too is regional SigV4.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "images/raw/x.png"})
    assert url.startswith(f"https://{BUCKET}.s3.{region}.amazonaws.com/images/raw/x.png?X-Amz-Algorithm=AWS4-HMAC")


def test_a_client_without_a_region_is_refused() -> None:
    with pytest.raises(ValueError, match="AWS_REGION"):
        clients.make_client("s3", "")


@pytest.mark.parametrize("timeout", [3, 10, 28, 300, 900])
def test_all_attempts_of_one_call_fit_in_the_function_timeout(timeout) -> None:
    config = clients.client_config("dynamodb", timeout)
    worst = clients.MAX_ATTEMPTS * (config.connect_timeout + config.read_timeout) + clients.RETRY_SLEEP_SECONDS
    assert config.connect_timeout > 0 and config.read_timeout > 0
    assert worst <= max(timeout - clients.MARGIN_SECONDS, clients.MAX_ATTEMPTS * 1.0 + clients.RETRY_SLEEP_SECONDS)
    if timeout >= 28:
        assert worst <= timeout - clients.MARGIN_SECONDS


def test_the_handler_builds_its_clients_with_the_factory_for_the_invocation(lambda_env) -> None:
    lambda_env("eu-central-1")
    with mock_aws():
        create_resources(boto3.client("s3", region_name="us-east-1"), boto3.client("dynamodb",
                                                                                   region_name="eu-central-1"))
        handlers.insert_handler(item_event("GET", "x.png"), Context("r", remaining_ms=10000))
        s3 = handlers._backend.storage.s3
    assert s3.meta.config.signature_version == "s3v4" and s3.meta.region_name == "eu-central-1"
    assert (s3.meta.config.connect_timeout, s3.meta.config.read_timeout) == clients.timeouts(10.0)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_every_log_line_of_an_invocation_has_its_request_id_path_and_outcome(lambda_env) -> None:
    lambda_env("us-east-1")
    root = logging.getLogger()
    capture = Records()
    root.addHandler(capture)  # stands in for the runtime's handler, whose JSON formatter writes extras
    try:
        with mock_aws():
            s3, db = boto3.client("s3", region_name="us-east-1"), boto3.client("dynamodb", region_name="us-east-1")
            create_resources(s3, db)
            s3.create_bucket(Bucket=BUCKET)
            data = image_bytes("PNG", (40, 30), seed=5)
            handlers.insert_handler(put_event("logs/a.png", data), Context("req-put"))
            handlers.insert_handler(put_event("logs/bad.png", b"not a png"), Context("req-bad"))
    finally:
        root.removeHandler(capture)
    mine = [r for r in capture.records if r.name.startswith("snail_backend")]
    assert mine
    for r in mine:
        assert r.request_id in ("req-put", "req-bad"), r.getMessage()
        assert r.path == {"req-put": "/images/logs/a.png", "req-bad": "/images/logs/bad.png"}[r.request_id]
        assert r.outcome
    last = {r.request_id: r.outcome for r in mine}
    assert last == {"req-put": "200", "req-bad": "400"}
