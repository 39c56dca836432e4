"""The hostile corpus over HTTP against a real server: every image case as a multipart upload,
then the whole-request cases (multipart abuse, bad JSON and base64, URLs, 60 MB bodies). Each gets
200 (odd but valid) or a 4xx JSON error — never a 5xx, never a hang (client timeout), never a
memory spike (the server's RSS is sampled from /proc all along) — and afterwards the server still
reads a normal image correctly."""

from __future__ import annotations

import importlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hostile_corpus as hc  # tests/hostile, on sys.path beside this file
import httpx
import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
loadtest = importlib.import_module("cpuocr_loadtest")

CLIENT_TIMEOUT_S = 60.0  # a request still unanswered after this is a hang
#: Peak RSS over the run may exceed the RSS after start-up by at most this much. The byte and
#: pixel limits act before decoding, so the largest thing ever held is one 20 MB upload (or one
#: 27 MB JSON body) and one small decoded picture, or one PDF page: an A4 page at 200 dpi fills
#: the detector's 2 MP input, whose first run alone raises the peak by ~280 MB (measured in
#: process: 171 -> 450 MB), the cost of reading any full page, not of the hostile input.
MAX_RSS_GROWTH_MB = 350


class FetchTrap:
    """A listening socket that records every connection: the server must never open one."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/image.png"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def trap() -> Iterator[FetchTrap]:
    t = FetchTrap()
    yield t
    t.close()


@pytest.fixture(scope="module")
def sampler(hostile_server: Any) -> Iterator[Any]:
    s = loadtest.ProcSampler(hostile_server.process.pid, interval=0.05)
    s.sample()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def http(hostile_server: Any, sampler: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hostile_server.url, timeout=CLIENT_TIMEOUT_S) as c:
        yield c


def _check(
    response: httpx.Response, name: str, allowed: frozenset[int], result_key: str = "text"
) -> str | None:
    status = response.status_code
    if status not in allowed:
        return f"{name}: status {status} not in {sorted(allowed)}: {response.text[:200]}"
    body = response.json()
    if status == 200:
        key = "pages" if "pages" in body else result_key  # a multi-page TIFF is a document
        if body.get("success") is not True or not isinstance(body.get(key), list):
            return f"{name}: 200 without a result: {response.text[:200]}"
        return None
    if response.headers.get("content-type") != "application/json":
        return f"{name}: error without a JSON body"
    if body.get("success") is not False or set(body.get("error", {})) != {"code", "message"}:
        return f"{name}: error body {body!r}"
    if "Traceback" in body["error"]["message"]:
        return f"{name}: a traceback in the message"
    return None


def _allowed(case: Any) -> frozenset[int]:
    if case.expect == "ok":
        return frozenset({200})
    if case.expect == "error":
        return frozenset(case.statuses)
    return frozenset({200} | set(case.statuses))


@pytest.mark.parametrize("group", hc.groups())
def test_every_image_case_gets_200_or_a_4xx_json_error(http: httpx.Client, group: str) -> None:
    failures = []
    for case in (c for c in hc.corpus() if c.group == group):
        try:
            response = http.post("/ocr", files={"image": ("upload", case.data, "image/png")})
        except httpx.TimeoutException:
            failures.append(f"{case.name}: no answer within {CLIENT_TIMEOUT_S:g} s (a hang)")
            continue
        problem = _check(response, case.name, _allowed(case))
        if problem:
            failures.append(problem)
    assert not failures, "\n".join(failures)


def test_every_hostile_pdf_gets_200_or_a_4xx_json_error(http: httpx.Client) -> None:
    """The document reader's hostile PDFs (encrypted, corrupt, truncated, 10,000 pages, huge
    pages, JavaScript/forms/embedded files, mutations) over the socket: per-page answers or a
    precise 4xx, never a 5xx, a traceback or a hang."""
    failures = []
    for case in hc.pdf_cases():
        try:
            response = http.post("/ocr", files={"image": ("doc.pdf", case.data, "application/pdf")})
        except httpx.TimeoutException:
            failures.append(f"{case.name}: no answer within {CLIENT_TIMEOUT_S:g} s (a hang)")
            continue
        problem = _check(response, case.name, _allowed(case), result_key="pages")
        if problem:
            failures.append(problem)
    assert not failures, "\n".join(failures)


def test_every_request_case_gets_its_answer(
    http: httpx.Client, trap: FetchTrap, hostile_server: Any
) -> None:
    failures = []
    for case in hc.request_cases(trap.url):
        try:
            response = http.request("POST", case.path, **case.kwargs)  # type: ignore[arg-type]
        except httpx.TimeoutException:
            failures.append(f"{case.name}: no answer within {CLIENT_TIMEOUT_S:g} s (a hang)")
            continue
        problem = _check(response, case.name, case.statuses)
        if problem:
            failures.append(problem)
    assert not failures, "\n".join(failures)
    # no URL was ever fetched, and the path in a filename never became a file
    assert trap.connections == 0
    assert not Path("/tmp/cpuocr-pwned.png").exists()


def test_afterwards_the_server_reads_a_normal_image_and_memory_stayed_bounded(
    http: httpx.Client, hostile_server: Any, sampler: Any
) -> None:
    response = http.post("/ocr", files={"image": ("r.png", live.receipt_png(), "image/png")})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == list(live.RECEIPT_LINES)
    metrics = http.get("/metrics").text
    assert 'status="500"' not in metrics and 'status="502"' not in metrics
    sampler.sample()
    start_mb = sampler.samples[0].rss_kb / 1024
    peak_mb = sampler.peak_rss_kb / 1024
    print(f"server RSS: {start_mb:.0f} MB at start, peak {peak_mb:.0f} MB over the corpus")
    assert peak_mb - start_mb < MAX_RSS_GROWTH_MB, (start_mb, peak_mb)
    assert hostile_server.process.poll() is None  # still the same process, never restarted
