"""Many threads of puts and deletes of shared content across paths, then the invariants.

moto's DynamoDB is not thread-safe: its TransactWriteItems checks the conditions, then applies,
and on failure restores a deep copy of the whole table, with no lock, so two threads can interleave
inside one "atomic" transaction (or one's restore can erase the other's writes). DynamoDB itself
runs each call atomically. The test therefore makes each DynamoDB *call* atomic with a lock around
the client -- calls from different threads still interleave freely between each other, which is
the concurrency the algorithm has to survive. S3 calls are not serialized; a random short pause
before each S3 call widens the windows between the catalog steps.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from moto import mock_aws

from backend_support import World
from helpers import image_bytes


class SerializedCalls:
    """Each API call runs under one lock: atomic per call, like the real service."""

    def __init__(self, client, lock: threading.Lock, jitter: float = 0.0):
        self._client, self._lock, self._jitter = client, lock, jitter

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self._jitter:
                time.sleep(random.uniform(0, self._jitter))
            with self._lock:
                return attr(*args, **kwargs)

        return call


class Jittered:
    def __init__(self, client, jitter: float):
        self._client, self._jitter = client, jitter

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("generate"):
            return attr

        def call(*args, **kwargs):
            time.sleep(random.uniform(0, self._jitter))
            return attr(*args, **kwargs)

        return call


@pytest.mark.parametrize("scheme", ["hash", "timestamp"])
@pytest.mark.slow
def test_threads_of_puts_and_deletes_keep_objects_iff_live_registrations(scheme: str) -> None:
    with mock_aws():
        world = World(sizes="sg=8,md=16,lg=24", scheme=scheme)
        backend = world.make_backend(dynamodb=SerializedCalls(world.dynamodb, threading.Lock(), jitter=0.002),
                                     s3=Jittered(world.s3, 0.002))
        contents = [image_bytes("PNG", (32, 24), seed=s) for s in range(3)]
        paths = [f"p{i}.png" for i in range(5)]
        statuses: Counter = Counter()
        errors: list[str] = []

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(16):
                path = rng.choice(paths)
                if rng.random() < 0.35:
                    status, body = world.delete(path, backend=backend)
                else:
                    status, body = world.put(path, rng.choice(contents), backend=backend)
                statuses[status] += 1
                if status not in (200, 409):  # 409: replaced by a concurrent request mid-way
                    errors.append(f"{status} {body}")

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert statuses[200] > 90
        world.check_invariants()
        heads = [i for i in world.items() if i["ImageType"] == "file"]
        assert all(h["State"] == "completed" for h in heads), heads
        # and the system still works normally afterwards
        for path in paths:
            world.delete(path)
        world.check_invariants()
        assert world.object_keys() == set()
