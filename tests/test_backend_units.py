"""Configuration, naming and the Lambda entry points."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from backend_support import BUCKET, TABLE, World, item_event, put_event, s3_event
from helpers import image_bytes
from snail_backend import naming
from snail_backend.config import ENVIRONMENT_VARIABLES, BackendConfig, ConfigError

DIGEST = hashlib.sha256(b"x").hexdigest()


def test_config_defaults_and_environment_variables() -> None:
    cfg = BackendConfig.from_environ({"S3_BUCKET_NAME": "b"})
    assert (cfg.bucket, cfg.table, cfg.key_scheme, cfg.upload_url_expires) == ("b", "image-metadata", "hash", 900)
    assert cfg.variant_sizes == {"sg": 320, "md": 800, "lg": 1600} and cfg.max_image_pixels == 89478485
    assert set(ENVIRONMENT_VARIABLES) == {"S3_BUCKET_NAME", "DYNAMODB_TABLE_NAME", "VARIANT_SIZES", "KEY_SCHEME",
                                         "MAX_IMAGE_PIXELS", "UPLOAD_URL_EXPIRES", "DELIVERY_URL"}


def test_config_reads_every_variable() -> None:
    cfg = BackendConfig.from_environ({"S3_BUCKET_NAME": "b", "DYNAMODB_TABLE_NAME": "t", "KEY_SCHEME": "Timestamp",
                                      "VARIANT_SIZES": "lg=1000, md=500,sg=100", "MAX_IMAGE_PIXELS": "1000",
                                      "UPLOAD_URL_EXPIRES": "60"})
    assert (cfg.table, cfg.key_scheme, cfg.max_image_pixels, cfg.upload_url_expires) == ("t", "timestamp", 1000, 60)
    assert list(cfg.variant_sizes.items()) == [("sg", 100), ("md", 500), ("lg", 1000)]


@pytest.mark.parametrize(("env", "names"), [
    ({}, "S3_BUCKET_NAME"), ({"KEY_SCHEME": "random"}, "KEY_SCHEME"), ({"VARIANT_SIZES": "sg=1"}, "sg, md and lg"),
    ({"VARIANT_SIZES": "sg=a,md=1,lg=2"}, "whole number"), ({"MAX_IMAGE_PIXELS": "-1"}, "MAX_IMAGE_PIXELS"),
    ({"MAX_IMAGE_PIXELS": "178956971"}, "between 1 and 178956970"),
])
def test_config_errors_name_the_variable(env: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        BackendConfig.from_environ({"S3_BUCKET_NAME": "b", **env} if env else {})


def test_hash_names_share_content_and_lower_case_the_extension() -> None:
    assert naming.stored_name(DIGEST, "JPEG") == DIGEST[:20] + ".jpeg"
    assert naming.object_key("md", naming.stored_name(DIGEST, "png")) == f"images/md/{DIGEST[:20]}.png"


def test_timestamp_names_carry_the_utc_time_and_the_digest_prefix() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert naming.stored_name(DIGEST, "Png", "timestamp", when) == f"260304050607-{DIGEST[:8]}.png"
    assert re.fullmatch(r"\d{12}-[0-9a-f]{8}\.gif", naming.stored_name(DIGEST, "gif", "timestamp"))


@pytest.mark.parametrize("ext", ["txt", "png/../x", ""])
def test_names_refuse_anything_but_a_known_extension(ext: str) -> None:
    with pytest.raises(ValueError):
        naming.stored_name(DIGEST, ext)


def test_names_refuse_a_malformed_digest() -> None:
    with pytest.raises(ValueError):
        naming.stored_name("../../etc", "png")


@pytest.mark.slow
def test_handlers_create_no_client_at_import_and_one_backend_per_container(monkeypatch) -> None:
    import snail_backend.handlers as handlers

    handlers = importlib.reload(handlers)
    assert handlers._backend is None
    with mock_aws():
        world = World()
        monkeypatch.setenv("S3_BUCKET_NAME", BUCKET)
        monkeypatch.setenv("DYNAMODB_TABLE_NAME", TABLE)
        monkeypatch.setenv("VARIANT_SIZES", "sg=8,md=16,lg=24")
        try:
            data = image_bytes("PNG", (40, 30))
            put = handlers.insert_handler(put_event("a b/c.png", data), None)
            assert put["statusCode"] == 200 and json.loads(put["body"])["status"] == "completed"
            backend = handlers._backend
            got = handlers.insert_handler(item_event("GET", "a b/c.png"), None)
            assert got["statusCode"] == 200 and handlers._backend is backend
            gone = handlers.delete_handler(item_event("DELETE", "a b/c.png"), None)
            assert json.loads(gone["body"])["deleted"] == 4
            out = handlers.s3_event_handler(s3_event("images/incoming/none.png"), None)
            assert out["results"][0]["outcome"] == "gone"
            world.check_invariants()
        finally:
            handlers.reset()
