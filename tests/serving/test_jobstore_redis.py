"""What only the Redis job store has, on a real redis-server (tests/redis_server.py): inputs as
Redis values with no staged upload left behind, Redis's own expiry of finished jobs, no index
entry left by a deleted job, and a Redis that goes away (503, never a lost job). The store's
contract (claims, leases, takeover, cancel, release, the queue limit, expiry) is
tests/unit/test_jobstore_contract.py, run on both stores. No models are loaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cpuocr._serving.errors import Overloaded
from cpuocr._serving.jobstore import JobError, JobOptions, NewFile
from cpuocr._serving.jobstore_redis import KEY_PREFIX, RedisJobStore

TTL = 100.0
LEASE = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_server: Any, clock: Clock) -> Iterator[RedisJobStore]:
    s = RedisJobStore(redis_server.url, ttl_s=TTL, clock=clock)
    yield s
    s.close()


@pytest.fixture
def raw(redis_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


PDF = NewFile("a.pdf", b"%PDF-1.7 fake", kind="pdf", page_count=5, numbers=(2, 3, 4))
PNG = NewFile("b.png", b"\x89PNG fake")
BAD = NewFile("c.pdf", b"junk", kind="pdf", page_count=0, numbers=(),
              error=JobError("invalid_image", "not a PDF", 400))  # fmt: skip
PAGE = {"v": 1, "number": 2, "text": "第二页"}


def _id(n: int) -> str:
    return f"job-{n:08d}"


def test_a_job_is_stored_with_its_inputs_in_redis(store: RedisJobStore, raw: redis.Redis) -> None:
    options = JobOptions(det=False, preprocess="none", pages="2-4", dpi=150.0, text_layer="use")
    job = store.create(_id(1), options, [PDF, PNG, BAD])
    assert job.state == "queued" and job.options == options and job.attempts == 0
    assert [(f.name, f.kind, f.numbers, f.state, f.size) for f in job.files] == [
        ("a.pdf", "pdf", (2, 3, 4), "pending", len(PDF.data)),
        ("b.png", "image", (1,), "pending", len(PNG.data)),
        ("c.pdf", "pdf", (), "failed", 4),
    ]
    assert job.files[2].error == JobError("invalid_image", "not a PDF", 400)
    assert job.pages_total == 4 and job.pages_done == 0 and job.expires_at is None
    assert store.read_input(_id(1), 0) == PDF.data and store.read_input(_id(1), 1) == PNG.data
    assert raw.get(f"{KEY_PREFIX}input:{_id(1)}:2") == b"junk"
    assert raw.ttl(f"{KEY_PREFIX}input:{_id(1)}:0") == -1  # kept while the job lives
    assert not raw.keys(f"{KEY_PREFIX}new:*")  # no staged upload left
    assert store.count_queued() == 1 and store.get("job-unknown1") is None
    with pytest.raises(ValueError, match="exists"):
        store.create(_id(1), options, [PNG])
    assert store.read_input(_id(1), 1) == PNG.data  # the refused job touched nothing
    with pytest.raises(ValueError, match="not a job id"):
        store.create("../etc", options, [PNG])
    with pytest.raises(KeyError):
        store.read_input(_id(9), 0)


def test_a_finished_job_expires_in_redis_too(
    store: RedisJobStore, clock: Clock, raw: redis.Redis
) -> None:
    job = store.create(_id(1), JobOptions(), [BAD])
    assert job.state == "failed" and job.expires_at == clock.now + TTL
    assert store.claim("w1", LEASE) is None
    assert 0 < raw.ttl(f"{KEY_PREFIX}job:{_id(1)}") <= TTL + 60  # Redis reclaims it too


def test_a_deleted_job_leaves_no_key_and_no_index_entry(
    store: RedisJobStore, raw: redis.Redis
) -> None:
    store.create(_id(1), JobOptions(), [PDF, PNG])
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)
    assert raw.zcard(f"{KEY_PREFIX}running") == 1
    assert store.delete(_id(1))
    assert not raw.keys(f"{KEY_PREFIX}*{_id(1)}*")
    assert raw.zcard(f"{KEY_PREFIX}running") == 0 and raw.zcard(f"{KEY_PREFIX}queue") == 0


def test_a_redis_that_went_away_refuses_jobs_with_503_and_runners_wait(
    redis_server: Any, store: RedisJobStore
) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    redis_server.stop()
    with pytest.raises(Overloaded) as info:
        store.create(_id(2), JobOptions(), [PNG])
    assert info.value.code == "jobs_unavailable" and info.value.retry_after_s > 0
    with pytest.raises(Overloaded):
        store.get(_id(1))
    assert store.claim("w1", LEASE) is None  # a runner polls on, and finds work once it is back
    redis_server.start()  # same port, empty (no persistence): the jobs were Redis's to keep
    assert store.claim("w1", LEASE) is None and store.count_queued() == 0
    store.create(_id(3), JobOptions(), [PNG])
    claimed = store.claim("w1", LEASE)
    assert claimed is not None and claimed.id == _id(3)
