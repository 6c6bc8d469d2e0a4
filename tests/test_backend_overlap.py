"""Overlapping copies of the same DELETE (a client's retry while the first still runs) and a PUT of
the same content, interleaved deterministically: each test pauses the first DELETE inside one call
(a hook on its client runs the other requests there, then lets the call proceed)."""

from __future__ import annotations

import hashlib

import pytest
from moto import mock_aws

from backend_support import Hooked, World
from helpers import image_bytes

X = image_bytes("PNG", (40, 30), seed=21)
NAME = hashlib.sha256(X).hexdigest()[:20] + ".png"
OBJECTS = {f"images/{t}/{NAME}" for t in ("raw", "sg", "md", "lg")}


@pytest.fixture
def world():
    with mock_aws():
        yield World(sizes="sg=8,md=16,lg=24")


def test_a_retried_delete_and_a_put_during_the_first_deletes_collection_remove_nothing_in_use(world: World) -> None:
    assert world.put("a.png", X)[1]["status"] == "completed"
    impatient = world.make_backend(wait_seconds=0.05)  # gives up quickly instead of waiting
    seen: dict = {}

    def meanwhile() -> None:  # DELETE #1 has committed and is about to delete its first object
        seen["retry"] = world.delete("a.png")  # the client's retry: finds the collection under way
        seen["put_other"] = world.put("b.png", X, backend=impatient)  # same content: must wait for it
        seen["put_same"] = world.put("a.png", X, backend=impatient)
        seen["objects"] = world.object_keys()

    first = world.delete("a.png", backend=world.make_backend(s3=Hooked(world.s3, "delete_object", meanwhile)))
    assert first == (200, {"registered_file": "a.png", "deleted": 4, "objects_removed": 4})
    assert seen["retry"] == (200, {"registered_file": "a.png", "deleted": 0, "objects_removed": 0})
    for key in ("put_other", "put_same"):
        assert (seen[key][0], seen[key][1]["error"]) == (503, "busy")  # never stored under a collection
    assert seen["objects"] == OBJECTS
    assert world.object_keys() == set()
    world.check_invariants()
    # Once the collection is over, the same content is stored again, and a late third copy of the
    # DELETE of a.png finds nothing of a.png and leaves b.png's objects alone.
    assert world.put("b.png", X)[1]["status"] == "completed"
    assert world.delete("a.png") == (200, {"registered_file": "a.png", "deleted": 0, "objects_removed": 0})
    assert world.object_keys() == OBJECTS
    world.check_invariants()


def test_a_retried_delete_finishes_a_collection_the_first_copy_gave_up(world: World) -> None:
    assert world.put("a.png", X)[0] == 200

    def crash() -> None:  # S3 fails in DELETE #1's collection: it gives its lease up and answers 500
        raise ConnectionError("S3 is unreachable")

    status, body = world.delete("a.png", backend=world.make_backend(s3=Hooked(world.s3, "delete_object", crash)))
    assert (status, body["error"]) == (500, "internal_error")
    assert world.object_keys() == OBJECTS  # nothing removed yet, the catalog says deleted
    assert world.delete("a.png") == (200, {"registered_file": "a.png", "deleted": 0, "objects_removed": 4})
    assert world.object_keys() == set()
    world.check_invariants()


def test_a_stalled_delete_copy_acts_on_the_registration_it_finds_when_it_resumes(world: World) -> None:
    # DELETE #1 reads a.png's registration, then stalls before its transaction; meanwhile its retry
    # completes and a PUT registers a.png again. DELETE #1's transaction then fails its condition,
    # it reads again and deletes what is there now -- with its objects, consistently. (On AWS the
    # first copy cannot outlive the retry: the function stops at 28 s, API Gateway answers the client
    # at 29 s; see docs/contracts.md, "Invariants and how they are kept".)
    assert world.put("a.png", X)[0] == 200
    seen: dict = {}

    def meanwhile() -> None:
        seen["retry"] = world.delete("a.png")
        seen["put"] = world.put("a.png", X)

    stalled = world.make_backend(dynamodb=Hooked(world.dynamodb, "transact_write_items", meanwhile))
    status, body = world.delete("a.png", backend=stalled)
    assert seen["retry"][1]["objects_removed"] == 4 and seen["put"][1]["status"] == "completed"
    assert (status, body["deleted"], body["objects_removed"]) == (200, 4, 4)
    assert world.get("a.png")[0] == 404 and world.object_keys() == set()
    world.check_invariants()


class Crash(BaseException):
    """The function dies (timeout, out of memory): nothing after this line of it runs."""


class WriteThenCrash:
    """The real S3 client; before the first put_object `before` runs, after it the function dies."""

    def __init__(self, client, before):
        self._client, self._before = client, before

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name != "put_object":
            return attr

        def call(*args, **kwargs):
            self._before()
            attr(*args, **kwargs)
            raise Crash

        return call


def _clocked(world: World, now: list[float], **kwargs):
    return world.make_backend(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                              lease_seconds=30, **kwargs)


@pytest.mark.parametrize("then", ["sweep_after_the_window", "stored_again_before_it"])
def test_an_object_written_by_a_put_that_died_after_its_name_was_collected_goes_at_the_next_sweep(
        world: World, then: str) -> None:
    now = [1_000_000.0]
    backend = _clocked(world, now)
    # The PUT takes its reference; before its first S3 write a DELETE of the path collects the name;
    # the PUT writes the raw object and dies before it can learn that and compensate.
    dying = _clocked(world, now, s3=WriteThenCrash(world.s3, lambda: world.delete("a.png", backend=backend)))
    with pytest.raises(Crash):
        world.put("a.png", X, backend=dying)
    assert world.object_keys() == {f"images/raw/{NAME}"}  # the orphan: no registration uses it
    world.delete("other.png", backend=backend)  # a sweep while the PUT might still be writing
    assert world.object_keys() == {f"images/raw/{NAME}"}
    if then == "stored_again_before_it":
        assert world.put("b.png", X, backend=backend)[1]["status"] == "completed"
        now[0] += 31
        world.delete("other.png", backend=backend)
        assert world.object_keys() == OBJECTS  # in use again: kept
    else:
        now[0] += 31  # the dead PUT's window (its lease) is over: the next sweep collects the name
        world.delete("other.png", backend=backend)
        assert world.object_keys() == set()
    world.check_invariants()
    assert [i for i in world.items() if i["ImageType"] == "collecting"] == []
