"""The backend's side of delivery (real handlers on moto): every stored object is written cached
immutable under both key schemes, the by-path route answers 302/404 with its cache lifetimes, and
without a delivery URL the answers carry none."""

from __future__ import annotations

import dataclasses

import pytest
from moto import mock_aws

from backend_support import BUCKET, World
from helpers import image_bytes
from snail_backend.config import BackendConfig, ConfigError
from snail_backend.delivery import MISSING_MAX_AGE, PATH_MAX_AGE
from snail_backend.imaging import ConversionError

PNG = image_bytes("PNG", (120, 60), seed=3)


def files_event(proxy: str) -> dict:
    return {"resource": "/files/{proxy+}", "path": f"/files/{proxy}", "httpMethod": "GET", "headers": {},
            "queryStringParameters": None, "pathParameters": {"proxy": proxy}, "body": None,
            "isBase64Encoded": False}


@pytest.fixture
def world():
    with mock_aws():
        yield World()


@pytest.mark.parametrize("scheme", ["hash", "timestamp"])
def test_every_object_is_written_cached_immutable_under_both_key_schemes(scheme):
    with mock_aws():
        world = World(scheme=scheme)
        status, body = world.put("a.png", PNG)
        assert status == 200
        for kind, info in body["images"].items():
            head = world.s3.head_object(Bucket=BUCKET, Key=info["key"])
            assert head["CacheControl"] == "public, max-age=31536000, immutable", kind
            assert head["ContentType"] == "image/png"


def test_without_a_delivery_url_answers_carry_no_url_and_the_redirect_is_relative(world):
    _, body = world.put("p/a.png", PNG)
    assert all("url" not in info and "path_url" not in info for info in body["images"].values())
    answer = world.backend.handle(files_event("md/p/a.png"))
    assert answer["statusCode"] == 302
    assert answer["headers"]["Location"] == "/" + body["images"]["md"]["key"]
    assert answer["headers"]["Cache-Control"] == f"public, max-age={PATH_MAX_AGE}"


def test_with_a_delivery_url_the_redirect_is_absolute_and_a_missing_path_is_a_short_404(world):
    config = dataclasses.replace(world.config, delivery_url="https://cdn.example")
    backend = world.make_backend(config=config)
    assert backend.handle(files_event("raw/q.png"))["statusCode"] == 404  # not registered yet
    world.put("q.png", PNG, backend=backend)
    answer = backend.handle(files_event("raw/q.png"))
    assert answer["headers"]["Location"].startswith("https://cdn.example/images/raw/")
    world.delete("q.png", backend=backend)
    for proxy in ("raw/q.png", "xl/q.png", "raw/../q.png", "raw"):
        gone = backend.handle(files_event(proxy))
        assert gone["statusCode"] == 404, proxy
        assert gone["headers"]["Cache-Control"] == f"public, max-age={MISSING_MAX_AGE}", proxy


def test_a_failed_registration_is_an_uncached_404(world):
    def broken(data):
        raise ConversionError("no")

    backend = world.make_backend(render=broken)
    status, _ = world.put("f.png", PNG, backend=backend)
    assert status == 500
    answer = backend.handle(files_event("lg/f.png"))
    assert answer["statusCode"] == 404 and answer["headers"]["Cache-Control"] == "no-store"


@pytest.mark.parametrize("value", ["cdn.example", "ftp://cdn.example", "https://cdn.example/path", "https://"])
def test_a_malformed_delivery_url_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigError, match="DELIVERY_URL"):
        BackendConfig.from_environ({"S3_BUCKET_NAME": "b", "DELIVERY_URL": value})
    assert BackendConfig.from_environ({"S3_BUCKET_NAME": "b", "DELIVERY_URL": "https://cdn.example/"}
                                      ).delivery_url == "https://cdn.example"
