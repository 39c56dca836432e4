"""Replicas that share a Redis (issue 14): a real redis-server on loopback and two real
``cpuocr serve`` processes, A and B, both with ``--cache-url`` and ``--jobs-url`` on it.

* an image read by A is answered from the cache by B; other options, another preset never share;
* redis-server killed: both keep answering ``/ocr`` (misses), no 500, ``/healthz`` green;
* a job submitted to A is polled and its result fetched from B;
* the replica running a multi-page job is SIGKILLed: the other takes the job over when its lease
  expires (``--job-lease 2``) and finishes it.

Also the shared cache on its own against the real server (no models): round trip, TTL, entry
cap, and Redis coming back.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from cpuocr._serving.cache import CacheKey
from cpuocr._serving.cache_redis import KEY_PREFIX, RedisCache
from cpuocr._serving.jobstore_redis import KEY_PREFIX as JOBS_PREFIX
from cpuocr._serving.metrics import Metrics

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")
redis_helpers = importlib.import_module("cpuocr_tests_redis_server")

#: Small and quick: one slot of one thread each (two replicas share the CI's two cores).
REPLICA_ARGS = ["--slots", "1", "--threads", "1", "--warmup", "false", "--job-lease", "2"]


def _wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# -- the shared cache alone (no models) ----------------------------------------------------------


def test_the_shared_cache_stores_with_a_ttl_and_a_cap_and_comes_back(redis_server: Any) -> None:
    metrics = Metrics()
    cache = RedisCache(
        redis_server.url,
        identity="e1",
        ttl_s=30,
        max_entry_bytes=2048,
        metrics=metrics,
        retry_after_s=0.2,
    )
    raw = redis.Redis.from_url(redis_server.url)
    small, large = CacheKey("a" * 64, True, "auto"), CacheKey("b" * 64, True, "auto")
    answer = {"success": True, "text": ["发票号码 12345678"], "cached": False}
    noise = {"text": [f"{i * 7919 % 104729:06x}" for i in range(2000)]}  # > 2 KB compressed
    cache.put(small, answer)
    cache.put(large, noise)
    stored = f"{KEY_PREFIX}:e1:{'a' * 64}:1:auto"
    _wait_for(lambda: raw.exists(stored), 5, "the writer thread")
    assert 0 < raw.pttl(stored) <= 30_000
    assert cache.get_many([small, large, CacheKey("a" * 64, False, "auto")]) == [
        answer,
        None,  # over the entry cap: not shared
        None,  # det=false is another entry
    ]
    other_engine = RedisCache(redis_server.url, identity="e2", ttl_s=30, max_entry_bytes=2048)
    assert other_engine.get_many([small]) == [None]
    other_engine.close()

    redis_server.kill()
    assert cache.get_many([small]) == [None]  # a miss, not an error
    assert "cpuocr_cache_up 0.0" in metrics.render().decode()
    redis_server.start()  # same port, empty (no persistence)
    time.sleep(0.3)  # the cache leaves Redis alone for retry_after_s
    cache.put(small, answer)
    _wait_for(lambda: cache.get_many([small]) == [answer], 5, "the cache to reconnect")
    assert "cpuocr_cache_up 1.0" in metrics.render().decode()
    cache.close()
    raw.close()


# -- two replicas ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not redis_helpers.available():
        pytest.skip(f"{redis_helpers.REDIS_SERVER} is missing: apt-get install redis-server")
    server = redis_helpers.RedisServer(tmp_path_factory.mktemp("shared-redis")).start()
    yield server
    server.stop()


def _replica(tmp: Path, name: str, url: str, *extra: str) -> Any:
    return live.LiveServer(
        tmp / name,
        args=[*REPLICA_ARGS, "--cache-url", url, "--jobs-url", url, *extra],
        env={"CPUOCR_DATA_DIR": str(tmp / name / "data")},
    )


@pytest.fixture(scope="module")
def replicas(
    shared_redis: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any]]:
    tmp = tmp_path_factory.mktemp("replicas")
    a = _replica(tmp, "a", shared_redis.url)
    b = _replica(tmp, "b", shared_redis.url)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for srv in (a, b):
            srv.stop()


def _ocr(server: Any, image: bytes, **fields: str) -> dict[str, Any]:
    files = {"image": ("r.png", image, "image/png")}
    response = httpx.post(f"{server.url}/ocr", files=files, data=fields, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _keys(url: str) -> set[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return set(client.keys(f"{KEY_PREFIX}:*"))
    finally:
        client.close()


def test_an_answer_of_one_replica_is_the_cached_answer_of_the_other(
    replicas: tuple[Any, Any], shared_redis: Any, tmp_path: Path
) -> None:
    a, b = replicas
    image = live.receipt_page_png(variant=101)
    first = _ocr(a, image)
    assert first["cached"] is False
    _wait_for(lambda: len(_keys(shared_redis.url)) == 1, 5, "A's answer in Redis")
    second = _ocr(b, image)
    assert second["cached"] is True
    assert second["text"] == first["text"] and second["lines"] == first["lines"]
    assert second["image_sha256"] == first["image_sha256"]

    # Other options are other entries: read again (not cached), each stored under its own key.
    assert _ocr(b, image, preprocess="none")["cached"] is False
    assert _ocr(a, image, det="false")["cached"] is False
    _wait_for(lambda: len(_keys(shared_redis.url)) == 3, 5, "three entries")
    assert _ocr(a, image, preprocess="none")["cached"] is True  # B's, from A

    # Another preset is another engine: it never gets the default preset's answers.
    fast = _replica(tmp_path, "fast", shared_redis.url, "--preset", "fast").start()
    try:
        answer = _ocr(fast, image)
        assert answer["cached"] is False
        _wait_for(lambda: len(_keys(shared_redis.url)) == 4, 5, "the fast preset's entry")
        assert _ocr(fast, image)["cached"] is True
    finally:
        fast.stop()
    engines = {key.split(b":")[3] for key in _keys(shared_redis.url)}
    assert len(engines) == 2


def test_a_dead_redis_costs_cache_misses_only(replicas: tuple[Any, Any], shared_redis: Any) -> None:
    a, b = replicas
    shared_redis.kill()
    try:
        for n, server in enumerate((a, b, a, b)):
            image = live.receipt_page_png(variant=200 + n % 2)  # A and B read the same two
            answer = _ocr(server, image)
            assert answer["cached"] is False and "".join(answer["text"])
            assert httpx.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
            assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        metrics = httpx.get(f"{a.url}/metrics", timeout=10).text
        assert 'cpuocr_cache_errors_total{op="get"}' in metrics
        assert "cpuocr_cache_up 0.0" in metrics
        assert 'status="500"' not in metrics
    finally:
        shared_redis.start()  # same port, empty: the jobs tests go on with it


# -- jobs on Redis -------------------------------------------------------------------------------


def _scan(pages: list[str]) -> bytes:
    return image_pdf([render_lines([text], size=40) for text in pages])


def _submit(server: Any, pdf: bytes) -> str:
    files = {"file": ("scan.pdf", pdf, "application/pdf")}
    response = httpx.post(f"{server.url}/jobs", files=files, timeout=60)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job"]["id"]
    return job_id


def _job(server: Any, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/jobs/{job_id}", timeout=30)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["job"]
    return job


def _pages_read(server: Any) -> float:
    """Job pages this replica has read (its ``cpuocr_job_pages_total{outcome="ok"}``)."""
    for line in httpx.get(f"{server.url}/metrics", timeout=30).text.splitlines():
        if line.startswith('cpuocr_job_pages_total{outcome="ok"}'):
            return float(line.split()[-1])
    return 0.0


def _squash(text: str) -> str:
    return "".join(text.split())


def test_a_job_submitted_to_one_replica_is_answered_by_the_other(
    replicas: tuple[Any, Any],
) -> None:
    a, b = replicas
    pages = ["第一页 发票 12345", "Page two total 42.50"]
    job_id = _submit(a, _scan(pages))
    _wait_for(lambda: _job(b, job_id)["state"] == "done", 60, "the job, seen from B")
    job = _job(b, job_id)
    assert job["pages_done"] == job["pages_total"] == 2 and job["files"][0]["state"] == "done"
    text = httpx.get(f"{b.url}/jobs/{job_id}/result", params={"format": "txt"}, timeout=30)
    assert text.status_code == 200
    for page in pages:
        assert _squash(page) in _squash(text.text)
    document = httpx.get(f"{b.url}/jobs/{job_id}/result", timeout=30).json()
    assert document == httpx.get(f"{a.url}/jobs/{job_id}/result", timeout=30).json()
    deleted = httpx.delete(f"{b.url}/jobs/{job_id}", timeout=30)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert httpx.get(f"{a.url}/jobs/{job_id}", timeout=30).status_code == 404


def test_a_job_whose_replica_is_killed_is_finished_by_the_other(
    replicas: tuple[Any, Any], shared_redis: Any
) -> None:
    a, b = replicas
    pages = [f"第{n}页 合同 {n}0{n}0{n}" for n in range(1, 9)]
    job_id = _submit(a, _scan(pages))
    _wait_for(lambda: _job(a, job_id)["pages_done"] >= 1, 60, "the job's first page")
    client = redis.Redis.from_url(shared_redis.url)
    worker = client.hget(f"{JOBS_PREFIX}job:{job_id}", "worker")
    client.close()
    assert worker is not None, "the job finished before it could be killed: give it more pages"
    pid = int(worker.decode().split(":")[1])
    running, survivor = (a, b) if pid == a.process.pid else (b, a)
    assert running.process.pid == pid
    running.process.kill()  # SIGKILL: no release, the lease has to expire (--job-lease 2)
    running.process.wait(timeout=10)
    before = _job(survivor, job_id)
    read_before = _pages_read(survivor)
    assert before["state"] == "running" and 1 <= before["pages_done"] < 8
    _wait_for(lambda: _job(survivor, job_id)["state"] == "done", 90, "the survivor to finish")
    job = _job(survivor, job_id)
    assert job["pages_done"] == job["pages_total"] == 8 and job["attempts"] == 2
    # It resumed at the first page not done: the pages the dead replica saved were not read again.
    assert _pages_read(survivor) - read_before == 8 - before["pages_done"]
    text = httpx.get(f"{survivor.url}/jobs/{job_id}/result", params={"format": "txt"}, timeout=30)
    for page in pages:
        assert _squash(page) in _squash(text.text)
