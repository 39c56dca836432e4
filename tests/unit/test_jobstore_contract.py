"""The JobStore contract, run on both stores: SQLite in a temporary directory, and Redis on a
real redis-server (tests/redis_server.py; that half is marked ``server``). Two stores on one
database or one Redis stand for two processes or replicas: atomic claims, takeover of an expired
lease, pages saved once, cancel, release, the queue limit, delete and expiry. A clock of our own
drives time; no models are loaded. What only one store has (inputs on disk, Redis keys and
TTLs, a Redis that goes away) is in tests/unit/test_jobstore_sqlite.py and
tests/serving/test_jobstore_redis.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cpuocr._serving.jobstore import JobError, JobOptions, JobStore, NewFile, QueueFull
from cpuocr._serving.jobstore_redis import KEY_PREFIX, RedisJobStore
from cpuocr._serving.jobstore_sqlite import SqliteJobStore

TTL = 100.0
LEASE = 10.0
PDF = NewFile("a.pdf", b"%PDF-1.7 fake", kind="pdf", page_count=5, numbers=(2, 3, 4))
PNG = NewFile("b.png", b"\x89PNG fake")
BAD = NewFile("c.pdf", b"junk", kind="pdf", page_count=0, numbers=(),
              error=JobError("invalid_image", "not a PDF", 400))  # fmt: skip
PAGE = {"v": 1, "number": 2, "text": "第二页"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """One kind of store: ``open()`` makes another store on the same data (another process or
    replica); ``leftovers(job_id)`` names what is still stored of a job outside the store's API
    (its input files, its Redis keys)."""

    def __init__(self, open_store: Callable[[], JobStore], leftovers: Callable[[str], list[str]]):
        self.open = open_store
        self.leftovers = leftovers
        self.opened: list[JobStore] = []

    def store(self) -> JobStore:
        s = self.open()
        self.opened.append(s)
        return s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Backend]:
    if request.param == "sqlite":
        b = Backend(
            lambda: SqliteJobStore(tmp_path, ttl_s=TTL, clock=clock),
            lambda job_id: [p.name for p in (tmp_path / "jobs").glob(f"*{job_id}*")],
        )
    else:
        import redis

        url = request.getfixturevalue("redis_server").url
        raw = redis.Redis.from_url(url)
        request.addfinalizer(raw.close)
        b = Backend(
            lambda: RedisJobStore(url, ttl_s=TTL, clock=clock),
            lambda job_id: [k.decode() for k in raw.keys(f"{KEY_PREFIX}*{job_id}*")],
        )
    yield b
    for s in b.opened:
        s.close()


@pytest.fixture
def store(backend: Backend) -> JobStore:
    return backend.store()


def _id(n: int) -> str:
    return f"job-{n:08d}"


def test_a_job_whose_every_file_failed_is_failed_at_once(store: JobStore, clock: Clock) -> None:
    job = store.create(_id(1), JobOptions(), [BAD])
    assert job.state == "failed" and job.expires_at == clock.now + TTL
    assert store.claim("w1", LEASE) is None


def test_a_job_keeps_its_options_files_and_inputs(store: JobStore) -> None:
    options = JobOptions(det=False, preprocess="none", pages="2-4", dpi=150.0, text_layer="use")
    job = store.create(_id(1), options, [PDF, PNG, BAD])
    assert job.state == "queued" and job.options == options and job.attempts == 0
    assert [(f.name, f.kind, f.numbers, f.state) for f in job.files] == [
        ("a.pdf", "pdf", (2, 3, 4), "pending"),
        ("b.png", "image", (1,), "pending"),
        ("c.pdf", "pdf", (), "failed"),
    ]
    assert job.files[2].error == JobError("invalid_image", "not a PDF", 400)
    assert job.pages_total == 4 and job.pages_done == 0 and job.expires_at is None
    assert store.read_input(_id(1), 0) == PDF.data and store.read_input(_id(1), 1) == PNG.data
    assert store.count_queued() == 1 and store.get("job-unknown1") is None
    with pytest.raises(ValueError, match="exists"):
        store.create(_id(1), options, [PNG])
    with pytest.raises(ValueError, match="not a job id"):
        store.create("../etc", options, [PNG])


def test_claim_run_and_finish(store: JobStore, clock: Clock) -> None:
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
    # a range: only the pages over `after`, at most `limit`
    assert [p["number"] for p in store.pages(_id(1), 0, after=2)] == [3]
    assert [p["number"] for p in store.pages(_id(1), 0, limit=1)] == [2]
    assert [p["number"] for p in store.pages(_id(1), 0, after=1, limit=5)] == [2, 3]
    assert store.pages(_id(1), 0, after=3) == [] and store.pages(_id(1), 0, limit=0) == []
    assert store.finish_file(_id(1), "w1", 0)
    assert store.finish_file(_id(1), "w1", 1, JobError("image_too_large", "too big", 413))
    clock.now += 5
    done = store.finish(_id(1), "w1")
    assert done is not None and done.state == "done" and done.worker is None
    assert done.lease_until is None
    assert done.finished_at == clock.now and done.expires_at == clock.now + TTL
    assert [f.state for f in done.files] == ["done", "failed"] and done.pages_done == 2
    assert done.files[1].error is not None and done.files[1].error.status == 413
    # a worker that no longer holds a job writes nothing
    assert not store.save_page(_id(1), "w1", 0, 4, PAGE, LEASE)
    assert not store.heartbeat(_id(1), "w1", LEASE)
    assert store.finish(_id(1), "w1") is None


def test_every_file_failed_while_running_makes_the_job_failed(store: JobStore) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    assert store.claim("w1", LEASE) is not None
    assert store.finish_file(_id(1), "w1", 0, JobError("invalid_image", "corrupt"))
    job = store.finish(_id(1), "w1")
    assert job is not None and job.state == "failed"
    assert job.files[0].error == JobError("invalid_image", "corrupt", 400)


def test_an_expired_lease_is_taken_over_by_another_store(
    backend: Backend, store: JobStore, clock: Clock
) -> None:
    other = backend.store()  # a second process or replica
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


def test_an_older_expired_job_is_claimed_before_a_newer_queued_one(
    store: JobStore, clock: Clock
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


def test_release_hands_a_job_back_at_once(store: JobStore) -> None:
    store.create(_id(1), JobOptions(), [PDF])
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)
    assert store.release(_id(1), "w1") and not store.release(_id(1), "w1")
    job = store.get(_id(1))
    assert job is not None and job.state == "queued" and job.pages_done == 1
    assert job.worker is None and job.lease_until is None
    again = store.claim("w2", LEASE)
    assert again is not None and again.id == _id(1) and again.attempts == 2


def test_cancel(store: JobStore, clock: Clock) -> None:
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


def test_the_queue_limit(backend: Backend, store: JobStore) -> None:
    store.create(_id(1), JobOptions(), [PNG], max_queued=2)
    store.create(_id(2), JobOptions(), [PNG], max_queued=2)
    with pytest.raises(QueueFull):
        store.create(_id(3), JobOptions(), [PNG], max_queued=2)
    assert store.get(_id(3)) is None and not backend.leftovers(_id(3))
    assert store.claim("w1", LEASE) is not None  # running jobs do not count
    store.create(_id(3), JobOptions(), [PNG], max_queued=2)


def test_delete_and_expiry(backend: Backend, store: JobStore, clock: Clock) -> None:
    store.create(_id(1), JobOptions(), [PNG])
    store.create(_id(2), JobOptions(), [BAD])  # failed: expires
    clock.now += TTL - 1
    assert store.delete_expired() == 0 and store.get(_id(2)) is not None
    clock.now += 2
    assert store.delete_expired() == 1
    assert store.get(_id(2)) is None and not backend.leftovers(_id(2))
    assert store.get(_id(1)) is not None  # queued jobs never expire
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 1, PAGE, LEASE)
    assert store.delete(_id(1)) and not store.delete(_id(1))
    assert not backend.leftovers(_id(1))
    assert not store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)  # its runner is refused
    assert store.claim("w2", LEASE) is None


def test_concurrent_claims_take_each_job_once(backend: Backend) -> None:
    stores = [backend.store() for _ in range(2)]
    for n in range(20):
        stores[0].create(_id(n), JobOptions(), [PNG])
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str, s: JobStore) -> None:
        while (job := s.claim(name, LEASE)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}", stores[i % 2])) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(claimed) == [_id(n) for n in range(20)]
