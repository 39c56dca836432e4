"""The Redis job store on a real redis-server (tests/redis_server.py): the same semantics as the
SQLite store (tests/unit/test_jobstore_sqlite.py) with two stores on one Redis, as two replicas
would have — atomic claims, takeover of an expired lease, pages saved once, cancel, release, the
queue limit, expiry — and a Redis that goes away (503, never a lost job). A clock of our own
drives time; no models are loaded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cpuocr._serving.errors import Overloaded
from cpuocr._serving.jobstore import JobError, JobOptions, NewFile, QueueFull
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


def test_a_job_whose_every_file_failed_is_failed_at_once(
    store: RedisJobStore, clock: Clock, raw: redis.Redis
) -> None:
    job = store.create(_id(1), JobOptions(), [BAD])
    assert job.state == "failed" and job.expires_at == clock.now + TTL
    assert store.claim("w1", LEASE) is None
    assert 0 < raw.ttl(f"{KEY_PREFIX}job:{_id(1)}") <= TTL + 60  # Redis reclaims it too


def test_claim_run_and_finish(store: RedisJobStore, clock: Clock) -> None:
    store.create(_id(1), JobOptions(), [PDF, PNG])
    clock.now += 1
    store.create(_id(2), JobOptions(), [PNG])
    job = store.claim("w1", LEASE)
    assert job is not None and job.id == _id(1)  # oldest first
    assert job.state == "running" and job.worker == "w1" and job.attempts == 1
    assert job.lease_until == clock.now + LEASE and job.started_at == clock.now
    assert store.count_queued() == 1
    assert store.save_page(_id(1), "w1", 0, 3, {**PAGE, "number": 3}, LEASE)
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)
    assert store.save_page(_id(1), "w1", 0, 2, {"v": 1, "other": True}, LEASE)  # kept first
    assert store.done_pages(_id(1), 0) == {2, 3}
    assert [p["number"] for p in store.pages(_id(1), 0)] == [2, 3]
    assert store.pages(_id(1), 0)[0] == PAGE
    assert store.finish_file(_id(1), "w1", 0)
    assert store.finish_file(_id(1), "w1", 1, JobError("image_too_large", "too big", 413))
    clock.now += 5
    done = store.finish(_id(1), "w1")
    assert done is not None and done.state == "done" and done.worker is None
    assert done.finished_at == clock.now and done.expires_at == clock.now + TTL
    assert done.lease_until is None
    assert [f.state for f in done.files] == ["done", "failed"] and done.pages_done == 2
    assert done.files[1].error is not None and done.files[1].error.status == 413
    assert not store.save_page(_id(1), "w1", 0, 4, PAGE, LEASE)  # no longer held
    assert not store.heartbeat(_id(1), "w1", LEASE)
    assert store.finish(_id(1), "w1") is None


def test_every_file_failed_while_running_makes_the_job_failed(store: RedisJobStore) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    assert store.claim("w1", LEASE) is not None
    assert store.finish_file(_id(1), "w1", 0, JobError("invalid_image", "corrupt"))
    job = store.finish(_id(1), "w1")
    assert job is not None and job.state == "failed"
    assert job.files[0].error == JobError("invalid_image", "corrupt", 400)


def test_an_expired_lease_is_taken_over_by_another_replica(
    redis_server: Any, store: RedisJobStore, clock: Clock
) -> None:
    other = RedisJobStore(redis_server.url, ttl_s=TTL, clock=clock)  # a second replica
    store.create(_id(1), JobOptions(), [PDF])
    assert store.claim("w1", LEASE) is not None
    assert other.claim("w2", LEASE) is None  # held
    clock.now += LEASE / 2
    assert store.heartbeat(_id(1), "w1", LEASE)  # renewed: still held after the first lease
    clock.now += LEASE * 0.9
    assert other.claim("w2", LEASE) is None
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)  # a save renews too
    clock.now += LEASE + 1  # w1 died
    job = other.claim("w2", LEASE)
    assert job is not None and job.worker == "w2" and job.attempts == 2 and job.pages_done == 1
    assert other.done_pages(_id(1), 0) == {2}  # resumes after the page done
    assert not store.save_page(_id(1), "w1", 0, 3, PAGE, LEASE)  # the old worker is refused
    assert not store.heartbeat(_id(1), "w1", LEASE)
    assert not store.finish_file(_id(1), "w1", 0)
    other.close()


def test_an_older_expired_job_is_claimed_before_a_newer_queued_one(
    store: RedisJobStore, clock: Clock
) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    assert store.claim("w1", LEASE) is not None
    clock.now += 1
    store.create(_id(2), JobOptions(), [PNG])
    clock.now += LEASE + 1
    job = store.claim("w2", LEASE)
    assert job is not None and job.id == _id(1)
    nxt = store.claim("w2", LEASE)
    assert nxt is not None and nxt.id == _id(2)


def test_release_hands_a_job_back_at_once(store: RedisJobStore) -> None:
    store.create(_id(1), JobOptions(), [PDF])
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)
    assert store.release(_id(1), "w1") and not store.release(_id(1), "w1")
    job = store.get(_id(1))
    assert job is not None and job.state == "queued" and job.pages_done == 1
    assert job.worker is None and job.lease_until is None
    again = store.claim("w2", LEASE)
    assert again is not None and again.id == _id(1) and again.attempts == 2


def test_cancel(store: RedisJobStore, clock: Clock) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    store.create(_id(2), JobOptions(), [PNG])
    queued = store.cancel(_id(1))
    assert queued is not None and queued.state == "cancelled"
    assert queued.expires_at == clock.now + TTL and store.count_queued() == 1
    running = store.claim("w1", LEASE)
    assert running is not None and running.id == _id(2)
    cancelled = store.cancel(_id(2))
    assert cancelled is not None and cancelled.state == "cancelled"
    assert not store.heartbeat(_id(2), "w1", LEASE)  # the runner learns it here
    assert not store.save_page(_id(2), "w1", 0, 1, PAGE, LEASE)
    assert store.finish(_id(2), "w1") is None
    again = store.cancel(_id(2))
    assert again is not None and again.state == "cancelled"  # unchanged
    assert store.cancel("job-missing1") is None
    clock.now += LEASE * 10
    assert store.claim("w2", LEASE) is None  # a cancelled job is never claimed again


def test_the_queue_limit(store: RedisJobStore, raw: redis.Redis) -> None:
    store.create(_id(1), JobOptions(), [PNG], max_queued=2)
    store.create(_id(2), JobOptions(), [PNG], max_queued=2)
    with pytest.raises(QueueFull):
        store.create(_id(3), JobOptions(), [PNG], max_queued=2)
    assert store.get(_id(3)) is None and not raw.keys(f"{KEY_PREFIX}*{_id(3)}*")
    assert store.claim("w1", LEASE) is not None  # running jobs do not count
    store.create(_id(3), JobOptions(), [PNG], max_queued=2)


def test_delete_and_expiry(store: RedisJobStore, clock: Clock, raw: redis.Redis) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    store.create(_id(2), JobOptions(), [BAD])  # failed: expires
    clock.now += TTL - 1
    assert store.delete_expired() == 0 and store.get(_id(2)) is not None
    clock.now += 2
    assert store.delete_expired() == 1
    assert store.get(_id(2)) is None and not raw.keys(f"{KEY_PREFIX}*{_id(2)}*")
    assert store.get(_id(1)) is not None  # queued jobs never expire
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 1, PAGE, LEASE)
    assert store.delete(_id(1)) and not store.delete(_id(1))
    assert not raw.keys(f"{KEY_PREFIX}*{_id(1)}*")
    assert raw.zcard(f"{KEY_PREFIX}running") == 0 and raw.zcard(f"{KEY_PREFIX}queue") == 0
    assert not store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)  # its runner is refused


def test_concurrent_claims_on_two_replicas_take_each_job_once(
    redis_server: Any, clock: Clock
) -> None:
    stores = [RedisJobStore(redis_server.url, ttl_s=TTL, clock=clock) for _ in range(2)]
    for n in range(20):
        stores[0].create(_id(n), JobOptions(), [PNG])
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str, s: RedisJobStore) -> None:
        while (job := s.claim(name, LEASE)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}", stores[i % 2])) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(claimed) == [_id(n) for n in range(20)]
    for s in stores:
        s.close()


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
