"""Load against a real server on loopback: a fixed concurrency within capacity (all 200), then
beyond capacity (503 + Retry-After, answered by the server within 50 ms), then recovery."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
loadtest = importlib.import_module("cpuocr_loadtest")

#: One slot of one thread and a queue of two: capacity is 3 requests at a time.
TIGHT = ["--slots", "1", "--threads", "1", "--queue-size", "2", "--cache-mb", "0"]
OVERLOAD_503_SERVER_P95_S = 0.050  # the target of the issue (measured: p95 0.6 ms, idle machine)
OVERLOAD_503_SERVER_MAX_S = 1.0  # on a shared 2-core CI machine the tail waits for CPU
#: The probe (a separate client process, one request at a time) measured p95 10 ms, max 19 ms on
#: the idle machine; this bound only says "answered, not hung", CI machines are shared.
OVERLOAD_503_PROBE_MAX_S = 1.0


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = live.LiveServer(tmp_path_factory.mktemp("tight") / "logs", args=TIGHT)
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


def _report(name: str, report: Any) -> dict[str, Any]:
    summary: dict[str, Any] = report.summary()
    print(f"\n{name}: {json.dumps(summary)}")
    return summary


def test_load_within_capacity_is_all_200(tight: Any) -> None:
    report = loadtest.run_load(
        tight.url, concurrency=3, duration_s=15, max_requests=120, timeout_s=60
    )
    summary = _report("within capacity (3 clients)", report)
    assert summary["statuses"] == {"200": len(report.outcomes)}, summary
    assert summary["bad_200_bodies"] == 0
    assert summary["latency_200_ms"]["n"] >= 10


def test_overload_is_refused_fast_with_retry_after_and_recovers(tight: Any) -> None:
    report = loadtest.run_load(
        tight.url, concurrency=16, duration_s=8, max_requests=5000, timeout_s=60,
        pid=tight.process.pid, sample_interval_s=0.5, probe_requests=40,
    )  # fmt: skip
    summary = _report("overload (16 clients)", report)
    statuses = report.statuses
    assert set(statuses) <= {"200", "503"}, statuses  # no 5xx but 503, no hang, no reset
    assert statuses["503"] > statuses["200"] > 0, statuses
    rejected = [o for o in report.outcomes if o.status == "503"]
    assert all(o.retry_after and int(o.retry_after) >= 1 for o in rejected)
    server = report.server_times("503")
    assert len(server) == len(rejected)  # every answer carried Server-Timing
    # 95% of the refusals within the target, as the server timed them; every 503 comes at
    # admission, before the body is read (none after an upload that was let in)
    assert server[int(0.95 * (len(server) - 1))] < OVERLOAD_503_SERVER_P95_S, summary
    assert server[-1] < OVERLOAD_503_SERVER_MAX_S, summary
    # one more user, in a process of its own, is answered (200 or 503 with Retry-After) at once
    assert {status for status, _ in report.probe} <= {"200", "503"}, report.probe
    probed = report.probe_latencies("503")
    assert len(probed) >= 10, report.probe
    assert probed[-1] < OVERLOAD_503_PROBE_MAX_S, summary
    # recovery: as soon as the flood stops, one client at a time is served at once
    after = loadtest.run_load(tight.url, concurrency=1, duration_s=30, max_requests=5)
    assert after.statuses == {"200": 5}, after.summary()
    Path(tight.log_dir, "overload.json").write_text(json.dumps(summary))
