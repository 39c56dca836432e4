"""What only the SQLite job store has, on a real database in a temporary directory: inputs as
files beside it, paths that never leave it, the worker recorded with each page, and the
leftovers of a crash removed. The store's contract (claims, leases, takeover, cancel, release,
the queue limit, expiry) is tests/unit/test_jobstore_contract.py, run on both stores."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpuocr._serving.jobstore import JobError, JobOptions, NewFile
from cpuocr._serving.jobstore_sqlite import DB_NAME, SqliteJobStore

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
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteJobStore]:
    s = SqliteJobStore(tmp_path, ttl_s=TTL, clock=clock)
    yield s
    s.close()


PDF = NewFile("a.pdf", b"%PDF-1.7 fake", kind="pdf", page_count=5, numbers=(2, 3, 4))
PNG = NewFile("b.png", b"\x89PNG fake")
BAD = NewFile("c.pdf", b"junk", kind="pdf", page_count=0, numbers=(),
              error=JobError("invalid_image", "not a PDF", 400))  # fmt: skip
PAGE = {"v": 1, "number": 2, "text": "第二页"}


def _id(n: int) -> str:
    return f"job-{n:08d}"


def test_a_job_is_stored_with_its_inputs_on_disk(store: SqliteJobStore, tmp_path: Path) -> None:
    store.create(_id(1), JobOptions(), [PDF, PNG, BAD])
    assert (tmp_path / "jobs" / _id(1) / "0").read_bytes() == PDF.data
    assert (tmp_path / "jobs" / _id(1) / "2").read_bytes() == b"junk"
    assert (tmp_path / DB_NAME).is_file()
    assert not list((tmp_path / "jobs").glob(".new-*"))  # no staged upload left
    with pytest.raises(KeyError):
        store.read_input("../../x", 0)


def test_each_page_keeps_the_worker_that_read_it(
    tmp_path: Path, store: SqliteJobStore, clock: Clock
) -> None:
    other = SqliteJobStore(tmp_path, ttl_s=TTL, clock=clock)  # a second process on the same db
    store.create(_id(1), JobOptions(), [PDF])
    assert store.claim("w1", LEASE) is not None
    assert store.save_page(_id(1), "w1", 0, 2, PAGE, LEASE)
    clock.now += LEASE + 1  # w1 died
    assert other.claim("w2", LEASE) is not None
    assert other.save_page(_id(1), "w2", 0, 3, {**PAGE, "number": 3}, LEASE)
    assert other.page_workers(_id(1), 0) == {2: "w1", 3: "w2"}
    other.close()


def test_a_crash_leftover_is_removed_after_an_hour(store: SqliteJobStore) -> None:
    fresh = store.inputs_dir / ".new-job-fresh001"
    orphan = store.inputs_dir / ".new-job-orphan1"
    fresh.mkdir(parents=True)
    orphan.mkdir()
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    store.delete_expired()
    assert not orphan.exists()  # a crash's leftover, an hour old
    assert fresh.exists()  # maybe an upload being stored right now
