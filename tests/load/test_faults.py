"""Faults under load, on real servers: a worker process killed (``--workers 2``) and SIGTERM.
Requests get an answer or a prompt connection error — never a hang — and the service goes on
(or, after SIGTERM, finishes what it had and exits 0)."""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
loadtest = importlib.import_module("cpuocr_loadtest")

#: What a client may see from a worker that died, or a server that stopped accepting.
CONNECTION_ERRORS = {"RemoteProtocolError", "ReadError", "WriteError", "ConnectError"}


def _run_in_thread(**kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        box["report"] = loadtest.run_load(**kwargs)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def test_killing_a_worker_mid_load_leaves_the_service_answering(tmp_path: Path) -> None:
    srv = live.LiveServer(tmp_path / "logs", args=["--workers", "2", "--cache-mb", "0"])
    srv.start()
    try:
        workers = loadtest.wait_for_workers(srv.process.pid, 2, 180.0)
        thread, box = _run_in_thread(
            url=srv.url, concurrency=4, duration_s=14, max_requests=2000, timeout_s=30
        )
        time.sleep(4)
        os.kill(workers[0], signal.SIGKILL)
        killed_at = time.perf_counter()
        thread.join(timeout=120)
        assert not thread.is_alive()
        report = box["report"]
        statuses = report.statuses
        print(f"\nworker killed mid-load: {report.summary()}")
        assert statuses["timeout"] == 0, statuses  # nothing hung
        assert set(statuses) <= {"200", "503"} | CONNECTION_ERRORS, statuses
        # the surviving worker kept serving during the load, after the kill
        later = [o for o in report.outcomes if o.started > killed_at - report.t0 + 1.0]
        assert sum(o.status == "200" for o in later) >= 3, [o.status for o in later]
        # the service still answers, and correctly
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            for _ in range(4):
                response = client.post(
                    "/ocr", files={"image": ("r.png", live.receipt_png(), "image/png")}
                )
                assert response.status_code == 200, response.text
                assert response.json()["text"] == list(live.RECEIPT_LINES)
    finally:
        code = srv.stop(timeout=60)
    assert code == 0, srv.log()


def test_sigterm_under_load_finishes_in_flight_refuses_new_and_exits_0(tmp_path: Path) -> None:
    srv = live.LiveServer(tmp_path / "logs", args=["--slots", "1", "--cache-mb", "0"])
    srv.start()
    try:
        thread, box = _run_in_thread(
            url=srv.url, concurrency=4, duration_s=12, max_requests=2000, timeout_s=60
        )
        time.sleep(4)
        signalled = time.perf_counter()
        srv.terminate()
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert srv.process is not None
        code = srv.process.wait(timeout=60)
        report = box["report"]
        print(f"\nSIGTERM under load: {report.summary()}")
        statuses = report.statuses
        assert statuses["timeout"] == 0, statuses
        assert set(statuses) <= {"200", "503"} | CONNECTION_ERRORS, statuses
        at = signalled - report.t0  # the signal, on the outcomes' clock
        # requests sent before the signal (with a margin for those still on the wire) got 200
        before = [o for o in report.outcomes if o.started < at - 0.25]
        assert before and all(o.status == "200" for o in before), [
            (round(o.started, 2), o.status) for o in before if o.status != "200"
        ]
        # requests sent after it were refused cleanly (connection refused or closed, or 503)
        after = [o for o in report.outcomes if o.started > at + 0.5]
        assert after and all(o.status != "200" for o in after), [
            (round(o.started, 2), o.status) for o in after if o.status == "200"
        ]
        assert code == 0, srv.log()
    finally:
        srv.stop()
