"""The audit's findings for states a request that died leaves behind, made by really interrupting
the backend on moto: a registration stuck `pending`, a collection whose collector stopped. Work in
flight (younger than the grace) is not reported unless the caller says nothing is in flight."""

from __future__ import annotations

import time

import pytest
from moto import mock_aws

from backend_support import BUCKET, TABLE, Hooked, World
from helpers import image_bytes
from snail_action.audit import audit, repair

PNG = image_bytes("PNG", (60, 40), seed=41)


@pytest.fixture
def world():
    with mock_aws():
        yield World()


def _kinds(findings) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in findings}


def test_a_registration_left_pending_is_stuck_once_older_than_the_grace(world: World) -> None:
    def die():
        raise ConnectionError("the function was stopped")

    status, _ = world.put("p.png", PNG, backend=world.make_backend(s3=Hooked(world.s3, "put_object", die)))
    assert status == 500
    assert ("stuck_pending", "p.png") in _kinds(audit(world.s3, world.dynamodb, BUCKET, TABLE, at_rest=True))
    assert audit(world.s3, world.dynamodb, BUCKET, TABLE) == []  # just now: maybe still in flight
    later = audit(world.s3, world.dynamodb, BUCKET, TABLE, now=time.time() + 7200)
    assert ("stuck_pending", "p.png") in _kinds(later)
    assert repair(world.s3, world.dynamodb, BUCKET, TABLE, later) == []  # not safe to fix: nothing is done
    world.put("p.png", PNG)  # the same PUT again repairs it, as the finding says
    world.check_invariants()


def test_a_collection_whose_collector_stopped_is_finished_by_the_repair(world: World) -> None:
    assert world.put("c.png", PNG)[0] == 200

    def die():
        raise ConnectionError("the function was stopped")

    dying = world.make_backend(s3=Hooked(world.s3, "delete_object", die), lease_seconds=0.0)
    assert world.delete("c.png", backend=dying)[0] == 500  # released, objects not yet deleted
    found = audit(world.s3, world.dynamodb, BUCKET, TABLE, now=time.time() + 7200)
    # Its objects are the collection's to delete, not reported as unused on their own.
    assert {k for k, _ in _kinds(found)} == {"unfinished_collection"}
    done = repair(world.s3, world.dynamodb, BUCKET, TABLE, found)
    assert any(line.startswith("finished the collections") for line in done)
    assert audit(world.s3, world.dynamodb, BUCKET, TABLE, at_rest=True) == []
    assert not world.object_keys()
