"""Page previews in both job stores (SQLite on disk, Redis on a real redis-server): saved with
their page in one write, kept once, refused to a worker that lost the job, removed with the job,
given the job's expiry; and a SQLite database made before previews existed opens and reads on.
No models are loaded."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpuocr._serving.jobstore import JobOptions, JobStore, NewFile
from cpuocr._serving.jobstore_redis import KEY_PREFIX, RedisJobStore
from cpuocr._serving.jobstore_sqlite import DB_NAME, SqliteJobStore

TTL = 100.0
LEASE = 10.0
PDF = NewFile("a.pdf", b"%PDF-1.7 fake", kind="pdf", page_count=5, numbers=(2, 3, 4))
PAGE = {"v": 1, "number": 2, "text": "第二页"}
JPEG = b"\xff\xd8\xff\xe0 a page \x00\x01\xff\xd9"  # bytes of every value, NUL included


@pytest.fixture
def now() -> list[float]:
    """The stores' clock (Unix seconds), moved on by the tests."""
    return [1_000_000.0]


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, now: list[float]) -> Iterator[JobStore]:
    s: JobStore
    if request.param == "sqlite":
        s = SqliteJobStore(tmp_path, ttl_s=TTL, clock=lambda: now[0])
    else:
        url = request.getfixturevalue("redis_server").url
        s = RedisJobStore(url, ttl_s=TTL, clock=lambda: now[0])
    yield s
    s.close()


def test_previews_are_saved_with_their_page_and_removed_with_the_job(store: JobStore) -> None:
    options = JobOptions(preview=True)
    job = store.create("job-00000001", options, [PDF])
    assert job.options.preview is True and job.options == options
    assert store.claim("w1", LEASE) is not None
    assert store.page_preview("job-00000001", 0, 2) is None  # not read yet
    assert store.save_page("job-00000001", "w1", 0, 2, PAGE, LEASE, preview=JPEG)
    assert store.save_page("job-00000001", "w1", 0, 3, {**PAGE, "number": 3}, LEASE)
    assert store.page_preview("job-00000001", 0, 2) == JPEG
    assert store.page_preview("job-00000001", 0, 3) is None  # saved without one
    assert store.page_preview("job-00000001", 1, 2) is None  # no such file
    # saved again (a page read twice after a takeover): the first is kept, as for pages
    assert store.save_page("job-00000001", "w1", 0, 2, PAGE, LEASE, preview=b"\xff\xd8 other")
    assert store.page_preview("job-00000001", 0, 2) == JPEG
    # a worker that does not hold the job saves nothing, preview included
    assert not store.save_page("job-00000001", "w2", 0, 4, PAGE, LEASE, preview=JPEG)
    assert store.page_preview("job-00000001", 0, 4) is None
    assert store.delete("job-00000001")
    assert store.page_preview("job-00000001", 0, 2) is None


def test_a_finished_jobs_previews_expire_with_it(
    store: JobStore, now: list[float], request: pytest.FixtureRequest
) -> None:
    store.create("job-00000002", JobOptions(preview=True), [PDF])
    assert store.claim("w1", LEASE) is not None
    assert store.save_page("job-00000002", "w1", 0, 2, PAGE, LEASE, preview=JPEG)
    assert store.finish_file("job-00000002", "w1", 0)
    assert store.finish("job-00000002", "w1") is not None
    assert store.page_preview("job-00000002", 0, 2) == JPEG  # kept until the job expires
    if request.node.callspec.params["store"] == "redis":
        # the keys get the job's TTL, so Redis reclaims them even with no replica running
        import redis

        raw = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
        assert 0 < raw.pttl(f"{KEY_PREFIX}previews:job-00000002:0") <= (TTL + 60) * 1000
        raw.close()
    now[0] += TTL + 1
    assert store.delete_expired() == 1
    assert store.page_preview("job-00000002", 0, 2) is None


def test_a_database_made_before_previews_opens_and_reads_on(tmp_path: Path) -> None:
    first = SqliteJobStore(tmp_path, ttl_s=TTL)
    first.create("job-00000003", JobOptions(), [PDF])
    assert first.claim("w1", LEASE) is not None
    assert first.save_page("job-00000003", "w1", 0, 2, PAGE, LEASE)
    first.close()
    # what an earlier cpuocr left: no previews table, options without "preview"
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("DROP TABLE previews")
    old = {"det": True, "preprocess": None, "pages": None, "dpi": None, "text_layer": "auto"}
    db.execute("UPDATE jobs SET options = ?", (json.dumps(old),))
    db.commit()
    db.close()

    store = SqliteJobStore(tmp_path, ttl_s=TTL)
    job = store.get("job-00000003")
    assert job is not None and job.options == JobOptions() and job.options.preview is False
    assert job.pages_done == 1 and store.page_preview("job-00000003", 0, 2) is None
    assert store.save_page("job-00000003", "w1", 0, 3, PAGE, LEASE, preview=JPEG)
    assert store.page_preview("job-00000003", 0, 3) == JPEG
    store.close()
