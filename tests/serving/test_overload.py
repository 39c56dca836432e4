"""Overload (503 + Retry-After), the API key (401) and graceful shutdown, on real servers."""

from __future__ import annotations

import importlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
API_KEY = live.API_KEY


def _post(url: str, data: bytes, key: str | None = API_KEY) -> httpx.Response:
    headers = {"X-API-Key": key} if key is not None else {}
    return httpx.post(
        f"{url}/ocr",
        files={"image": ("page.png", data, "image/png")},
        headers=headers,
        timeout=120,
    )


def test_api_key_is_required_when_configured(tight_server: Any) -> None:
    data = live.receipt_png()
    for key in (None, "wrong-key", ""):
        response = _post(tight_server.url, data, key=key)
        assert response.status_code == 401, response.text
        assert response.json()["success"] is False
        assert response.json()["error"]["code"] == "unauthorized"
    response = _post(tight_server.url, data)
    assert response.status_code == 200
    assert response.json()["text"] == list(live.RECEIPT_LINES)
    # health, readiness and the UI stay open; readiness says a key is needed
    assert httpx.get(f"{tight_server.url}/healthz").status_code == 200
    assert httpx.get(f"{tight_server.url}/readyz").json()["auth_required"] is True
    assert httpx.get(f"{tight_server.url}/").status_code == 200


def test_no_api_key_needed_by_default(client: httpx.Client) -> None:
    assert client.get("/readyz").json()["auth_required"] is False


def test_full_queue_answers_503_with_retry_after_fast_and_the_rest_succeed(
    tight_server: Any,
) -> None:
    # 1 slot + a queue of 1: of 6 simultaneous requests, at most 2 can be taken.
    images = [live.receipt_page_png(variant=i + 1) for i in range(6)]
    barrier = threading.Barrier(len(images))

    def fire(data: bytes) -> tuple[httpx.Response, float]:
        barrier.wait()
        started = time.perf_counter()
        response = _post(tight_server.url, data)
        return response, time.perf_counter() - started

    with ThreadPoolExecutor(len(images)) as pool:
        outcomes = list(pool.map(fire, images))
    statuses = [r.status_code for r, _ in outcomes]
    assert set(statuses) <= {200, 503}, statuses
    rejected = [(r, t) for r, t in outcomes if r.status_code == 503]
    served = [r for r, _ in outcomes if r.status_code == 200]
    assert rejected, statuses
    assert len(served) >= 1, statuses
    for response, elapsed in rejected:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "overloaded"
        assert elapsed < 2.0  # refused at once, not after waiting
    for response in served:
        assert response.json()["success"] is True
    metrics = httpx.get(f"{tight_server.url}/metrics", headers={"X-API-Key": live.API_KEY}).text
    assert 'cpuocr_rejected_total{reason="queue_full"}' in metrics
    # the server recovers as soon as the load is gone
    assert _post(tight_server.url, live.receipt_png()).status_code == 200


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    srv = live.LiveServer(tmp_path / "logs", args=["--slots", "1", "--threads", "1"])
    srv.start()
    try:
        result: dict[str, Any] = {}

        def slow_request() -> None:
            result["response"] = _post(srv.url, live.receipt_page_png(variant=99), key=None)

        thread = threading.Thread(target=slow_request)
        thread.start()
        _wait_for_inflight(srv.url)
        srv.terminate()
        thread.join(timeout=120)
        response = result["response"]
        assert response.status_code == 200, response.text
        assert response.json()["success"] is True
        assert srv.process is not None
        assert srv.process.wait(timeout=60) == 0, srv.log()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/healthz", timeout=2)
    finally:
        srv.stop()


def _wait_for_inflight(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        if "cpuocr_inflight_inferences 1.0" in metrics:
            return
        time.sleep(0.02)
    raise AssertionError("the request never reached an inference slot")
