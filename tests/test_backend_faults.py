"""S3 or DynamoDB failing at each step in turn, before or after the call takes effect (a lost
reply). After every failure: no completed registration misses an object, no object a live row
uses is gone; and a retry of the same request repairs everything (the full invariants hold)."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from backend_support import TYPES, World
from helpers import image_bytes

X = image_bytes("PNG", (40, 30), seed=11)
Y = image_bytes("PNG", (40, 30), seed=12)


WRITES = frozenset({"put_object", "delete_object", "transact_write_items", "put_item", "update_item", "delete_item"})


class Faults:
    """Counts calls across both clients; call number `fail_at` raises a service error. A lost
    reply only matters for writes (a read that took effect is a read that failed), so in that
    mode only writes are counted."""

    def __init__(self, fail_at: int | None = None, after: bool = False):
        self.fail_at, self.after, self.calls, self.fired = fail_at, after, 0, False

    def wrap(self, client):
        return _Faulty(client, self)


class _Faulty:
    def __init__(self, client, faults: Faults):
        self._client, self._faults = client, faults

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith(("generate", "get_paginator")):
            return attr

        def call(*args, **kwargs):
            f = self._faults
            if f.after and name not in WRITES:
                return attr(*args, **kwargs)
            f.calls += 1
            fire = f.calls == f.fail_at
            if fire and not f.after:
                f.fired = True
                raise ClientError({"Error": {"Code": "InternalError", "Message": f"injected before {name}"}}, name)
            result = attr(*args, **kwargs)
            if fire:
                f.fired = True
                raise ClientError({"Error": {"Code": "InternalError", "Message": f"injected after {name}"}}, name)
            return result

        return call


def _put(path, data):
    return lambda world, backend: world.put(path, data, backend=backend)


def _delete(path):
    return lambda world, backend: world.delete(path, backend=backend)


SCENARIOS = {
    # name: (setup steps, operation, expected (path -> hash or None))
    "put_new": ([], _put("a.png", X), {"a.png": X}),
    "put_supersede_last_reference": ([_put("a.png", X)], _put("a.png", Y), {"a.png": Y}),
    "put_supersede_shared": ([_put("a.png", X), _put("b.png", X)], _put("a.png", Y), {"a.png": Y, "b.png": X}),
    "delete_last_reference": ([_put("a.png", X)], _delete("a.png"), {"a.png": None}),
    "delete_shared": ([_put("a.png", X), _put("b.png", X)], _delete("a.png"), {"a.png": None, "b.png": X}),
}


def _safe_after_failure(world: World) -> None:
    items = world.items()
    objects = world.object_keys()
    for row in items:
        if row["ImageType"] in TYPES and row["Status"] == "completed":
            assert row["StoredKey"] in objects, f"completed row lost its object: {row['ImageId']}"
            name = row["StoredKey"].rsplit("/", 1)[1]
            assert {f"images/{t}/{name}" for t in TYPES} <= objects
    for head in items:
        if head["ImageType"] == "file" and head.get("State") == "completed":
            assert {f"images/{t}/{head['Name']}" for t in TYPES} <= objects


def _run(world: World, scenario: str, fail_at: int | None, after: bool) -> tuple[int, Faults]:
    setup, operation, expected = SCENARIOS[scenario]
    world.reset()
    for step in setup:
        assert step(world, world.backend)[0] == 200
    faults = Faults(fail_at, after)
    faulty = world.make_backend(s3=faults.wrap(world.s3), dynamodb=faults.wrap(world.dynamodb))
    status, body = operation(world, faulty)
    if faults.fired:
        assert status in (200, 500), body
        _safe_after_failure(world)
        status, body = operation(world, world.backend)  # the client's retry
    assert status == 200, body
    world.check_invariants()
    for path, data in expected.items():
        got = world.get(path)
        if data is None:
            assert got[0] == 404
        else:
            assert (got[1]["status"], got[1]["hash"]) == ("completed", hashlib.sha256(data).hexdigest())
    return status, faults


@pytest.mark.parametrize("after", [False, True], ids=["fails_before", "reply_lost"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.slow
def test_a_failure_at_any_step_is_repaired_by_a_retry(scenario: str, after: bool) -> None:
    with mock_aws():
        world = World(sizes="sg=8,md=16,lg=24")
        _, clean = _run(world, scenario, None, after)
        assert clean.calls >= 1
        for fail_at in range(1, clean.calls + 1):
            _run(world, scenario, fail_at, after)
