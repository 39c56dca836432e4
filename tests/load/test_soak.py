"""A soak, scaled for CI: many requests of ever-new images (one pixel changes, so the cache never
answers), sampling the server's RSS and open fds from /proc. After the warm-up, RSS drifts less
than 5 % and the fd count stays flat. ``CPUOCR_SOAK_REQUESTS`` scales it (RELIABILITY.md records
the full 5,000-request runs made with scripts/loadtest.py)."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import httpx

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
loadtest = importlib.import_module("cpuocr_loadtest")

REQUESTS = int(os.environ.get("CPUOCR_SOAK_REQUESTS", "600"))
WARMUP = REQUESTS // 4
MAX_RSS_DRIFT = 0.05


def test_soak_memory_and_fds_stay_flat(tmp_path: Path) -> None:
    srv = live.LiveServer(tmp_path / "logs").start()
    try:
        report = loadtest.run_load(
            srv.url, concurrency=2, duration_s=max(300, REQUESTS), max_requests=REQUESTS,
            image_kind="line", det=False, timeout_s=60, pid=srv.process.pid,
            sample_interval_s=0.5, warmup_requests=WARMUP,
        )  # fmt: skip
        summary = report.summary()
        print(f"\nsoak ({REQUESTS} requests, det=false lines): {json.dumps(summary)}")
        assert report.statuses == {"200": REQUESTS}, summary
        assert summary["bad_200_bodies"] == 0
        drift = report.rss_drift()
        assert drift is not None and drift < MAX_RSS_DRIFT, summary["memory"]
        warm, last = report.memory_after_warmup()
        assert warm is not None and last is not None
        assert last.fds <= warm.fds + 2, summary["memory"]
        assert max(s.fds for s in report.samples) <= warm.fds + 2 * 2 + 4, summary["memory"]
        # every body was new: the engine read each one, the cache never answered
        metrics = httpx.get(f"{srv.url}/metrics", timeout=10).text
        assert "cpuocr_cache_hits_total 0.0" in metrics.splitlines()
    finally:
        assert srv.stop() == 0, srv.log()
