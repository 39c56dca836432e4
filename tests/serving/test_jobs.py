"""Durable jobs on real servers: ``POST /jobs`` → poll ``GET /jobs/{id}`` → the result in every
format; several files with a corrupt one; cancel; limits; and a server SIGKILLed mid-job whose
successor, on the same data directory, finishes the job without reading a page twice.

Small scanned PDFs are made on the fly (tests/rendering.py); every answer is checked against the
text drawn on its pages."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pikepdf
import pytest

from rendering import image_pdf, render_lines

KEY = {"X-API-Key": "jobs-key-7c1d"}
MAX_PAGES = 6


def _page_lines(n: int) -> list[str]:
    return [f"第{n}页 发票 {1000 + n}", f"Page {n} total {n}.50"]


def _pdf(numbers: range) -> bytes:
    return image_pdf([render_lines(_page_lines(n), size=36) for n in numbers])


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def jobs_server(live_module: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("jobs")
    srv = live_module.LiveServer(
        tmp / "logs",
        args=["--data-dir", str(tmp / "data"), "--max-job-pages", str(MAX_PAGES),
              "--max-queued-jobs", "2", "--max-job-mb", "1", "--job-lease", "3"],
        env={"CPUOCR_API_KEY": KEY["X-API-Key"]},
    )  # fmt: skip
    srv.start()
    yield srv
    code = srv.stop()
    assert code == 0, f"server exit code {code}:\n{srv.log()}"


@pytest.fixture(scope="module")
def http(jobs_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=jobs_server.url, headers=KEY, timeout=60) as c:
        yield c


def _submit(http: httpx.Client, *files: tuple[str, bytes], **fields: str) -> httpx.Response:
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files]
    return http.post("/jobs", files=parts, data=fields)


def _wait(http: httpx.Client, job_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/jobs/{job_id}").json()["job"]
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def _pdftotext(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60, check=True
        ).stdout


def test_submit_poll_and_every_format(http: httpx.Client) -> None:
    response = _submit(http, ("scan.pdf", _pdf(range(1, 4))))
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    assert response.headers["location"] == f"/jobs/{job['id']}" and len(job["id"]) >= 22
    assert job["state"] in ("queued", "running") and job["pages_total"] == 3
    assert job["files"][0]["kind"] == "pdf" and job["files"][0]["pages"] == [1, 2, 3]
    assert http.get(f"/jobs/{job['id']}/result").status_code in (200, 409)
    done = _wait(http, job["id"])
    assert done["state"] == "done" and done["pages_done"] == 3 and done["expires_at"]
    assert done["files"][0]["state"] == "done" and done["files"][0]["error"] is None
    result = f"/jobs/{job['id']}/result"
    as_json = http.get(result, params={"format": "json"}).json()
    assert as_json["version"] == 1 and as_json["page_count"] == 3
    for page, n in zip(as_json["pages"], range(1, 4), strict=True):
        assert page["number"] == n and _squash(page["text"]) == _squash("".join(_page_lines(n)))
    txt = http.get(result, params={"format": "txt"})
    assert txt.headers["content-type"].startswith("text/plain")
    assert all(_squash(line) in _squash(txt.text) for n in (1, 2, 3) for line in _page_lines(n))
    md = http.get(result, params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "Page3total3.50" in _squash(
        md.text
    )
    hocr = http.get(result, params={"format": "hocr"})
    assert hocr.text.count("class='ocr_page'") + hocr.text.count('class="ocr_page"') == 3
    pdf = http.get(result, params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    assert len(pikepdf.open(io.BytesIO(pdf.content)).pages) == 3
    assert "Page2total2.50" in _squash(_pdftotext(pdf.content))
    assert http.get(result, params={"format": "docx"}).status_code == 400
    # the pages route in pieces: `limit` pages at most, `more` while later ones are saved
    pages = f"/jobs/{job['id']}/pages"
    first = http.get(pages, params={"limit": 2}).json()
    assert [p["number"] for p in first["pages"]] == [1, 2] and first["more"] is True
    rest = http.get(pages, params={"after": 2, "limit": 2}).json()
    assert [p["number"] for p in rest["pages"]] == [3] and rest["more"] is False
    assert rest["pages"][0] == as_json["pages"][2]
    whole = http.get(pages).json()
    assert [p["number"] for p in whole["pages"]] == [1, 2, 3] and whole["more"] is False
    for bad in ({"limit": 0}, {"limit": 100_000}, {"after": -1}):
        assert http.get(pages, params=bad).status_code in (400, 422)


def test_several_files_one_of_them_corrupt(http: httpx.Client) -> None:
    png = io.BytesIO()
    render_lines(["图片 image 77"], size=40).save(png, "PNG")
    good = _pdf(range(1, 3))
    corrupt = good[: len(good) // 3]
    response = _submit(http, ("a.pdf", good), ("broken.pdf", corrupt), ("c.png", png.getvalue()))
    assert response.status_code == 202, response.text
    files = response.json()["job"]["files"]
    assert files[1]["state"] == "failed" and files[1]["error"]["code"] == "invalid_image"
    assert "PDF" in files[1]["error"]["message"] and files[1]["pages"] == []
    job = _wait(http, response.json()["job"]["id"])
    assert job["state"] == "done" and job["pages_done"] == 3
    assert [f["state"] for f in job["files"]] == ["done", "failed", "done"]
    result = f"/jobs/{job['id']}/result"
    assert "Page2total2.50" in _squash(http.get(result, params={"file": 0, "format": "txt"}).text)
    assert _squash(http.get(result, params={"file": 2, "format": "txt"}).text) == "图片image77"
    needs_file = http.get(result)
    assert needs_file.status_code == 400 and needs_file.json()["error"]["code"] == "file_required"
    failed = http.get(result, params={"file": 1})
    assert failed.status_code == 409 and failed.json()["error"]["code"] == "file_failed"
    assert http.get(result, params={"file": 3}).status_code == 400
    deleted = http.delete(f"/jobs/{job['id']}").json()
    assert deleted["deleted"] is True and http.get(f"/jobs/{job['id']}").status_code == 404


def test_cancel(http: httpx.Client) -> None:
    response = _submit(http, ("long.pdf", _pdf(range(1, MAX_PAGES + 1))))
    job_id = response.json()["job"]["id"]
    cancelled = http.delete(f"/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["deleted"] is False
    assert cancelled.json()["job"]["state"] == "cancelled"
    done_then = cancelled.json()["job"]["pages_done"]
    time.sleep(1.5)  # the page in flight ends; no page is saved after the cancel
    job = http.get(f"/jobs/{job_id}").json()["job"]
    assert job["state"] == "cancelled" and job["pages_done"] == done_then < MAX_PAGES
    refused = http.get(f"/jobs/{job_id}/result")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_cancelled"
    assert http.delete(f"/jobs/{job_id}").json()["deleted"] is True
    assert http.get(f"/jobs/{job_id}").status_code == 404


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("too_many_pages", 413, "too_many_pages"),
        ("file_too_large", 413, "file_too_large"),
        ("body_too_large", 413, "request_too_large"),
        ("json_body", 415, None),
        ("no_file", 400, "missing_field"),
        ("bad_pages", 400, "invalid_parameter"),
        ("page_beyond_the_end", 400, None),
        ("only_a_corrupt_file", 400, "invalid_image"),
        ("no_key", 401, "unauthorized"),
        ("unknown_job", 404, "job_not_found"),
    ],
)
def test_bad_submits_are_clear_4xx(
    http: httpx.Client, jobs_server: Any, case: str, status: int, code: str | None
) -> None:
    small = _pdf(range(1, 2))
    if case == "too_many_pages":
        response = _submit(http, ("a.pdf", _pdf(range(1, 4))), ("b.pdf", _pdf(range(1, 5))))
    elif case == "file_too_large":
        response = _submit(http, ("big.pdf", small + b"%" * (1024 * 1024 + 1)))
    elif case == "body_too_large":
        half = small + b"%" * (700 * 1024)
        response = _submit(http, ("a.pdf", half), ("b.pdf", half))
    elif case == "json_body":
        response = http.post("/jobs", json={"image": "aGVsbG8="})
    elif case == "no_file":
        response = http.post("/jobs", files={"det": (None, "true")})
    elif case == "bad_pages":
        response = _submit(http, ("a.pdf", small), pages="abc")
    elif case == "page_beyond_the_end":
        response = _submit(http, ("a.pdf", small), pages="5")
    elif case == "only_a_corrupt_file":
        response = _submit(http, ("a.pdf", small[:300]))
    elif case == "no_key":
        response = httpx.post(f"{jobs_server.url}/jobs", files={"file": ("a.pdf", small)})
    else:
        response = http.get("/jobs/no-such-job-0000000000")
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["message"]
    assert code is None or body["error"]["code"] == code


def test_a_full_queue_is_503_with_retry_after(http: httpx.Client) -> None:
    doc = _pdf(range(1, 5))
    accepted: list[str] = []
    refused = None
    for _ in range(5):  # one may be claimed at once; two wait; the next is refused
        response = _submit(http, ("q.pdf", doc))
        if response.status_code == 503:
            refused = response
            break
        assert response.status_code == 202, response.text
        accepted.append(response.json()["job"]["id"])
    try:
        assert refused is not None and 2 <= len(accepted) <= 3
        assert refused.json()["error"]["code"] == "queue_full"
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        for job_id in accepted:
            http.delete(f"/jobs/{job_id}")
    assert http.get("/healthz").status_code == 200


def test_a_killed_server_s_job_finishes_on_the_next_without_redoing_pages(
    live_module: ModuleType, tmp_path: Path
) -> None:
    pages = 12
    data_dir = tmp_path / "data"
    args = ["--data-dir", str(data_dir), "--job-lease", "2", "--max-job-pages", str(pages)]
    first = live_module.LiveServer(tmp_path / "logs", args=args).start()
    try:
        with httpx.Client(base_url=first.url, timeout=60) as c:
            job_id = _submit(c, ("long.pdf", _pdf(range(1, pages + 1)))).json()["job"]["id"]
            deadline = time.monotonic() + 120
            while c.get(f"/jobs/{job_id}").json()["job"]["pages_done"] < 2:
                assert time.monotonic() < deadline, first.log()
                time.sleep(0.05)
        first.process.kill()  # SIGKILL: no clean shutdown, the lease is left to expire
        first.process.wait(10)
        with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
            before = dict(db.execute("SELECT number, worker FROM pages WHERE job_id = ?",
                                     (job_id,)).fetchall())  # fmt: skip
            state = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
        assert state == "running" and 2 <= len(before) < pages, "the job must be cut mid-way"
    finally:
        first.stop()
    second = live_module.LiveServer(tmp_path / "logs2", args=args).start()
    try:
        with httpx.Client(base_url=second.url, timeout=60) as c:
            job = _wait(c, job_id)
            assert job["state"] == "done" and job["pages_done"] == pages and job["attempts"] == 2
            text = _squash(c.get(f"/jobs/{job_id}/result", params={"format": "txt"}).text)
            for n in range(1, pages + 1):
                assert _squash(_page_lines(n)[1]) in text
            metrics = c.get("/metrics").text
        read_here = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith('cpuocr_job_pages_total{outcome="ok"}')
        )
        with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
            after = dict(db.execute("SELECT number, worker FROM pages WHERE job_id = ?",
                                    (job_id,)).fetchall())  # fmt: skip
        assert sorted(after) == list(range(1, pages + 1))
        assert {n: after[n] for n in before} == before  # the pages done before were kept
        assert read_here == pages - len(before)  # and not read again
        assert len(set(after.values())) == 2
    finally:
        assert second.stop() == 0, second.log()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_ocr_requests_go_before_job_pages(http: httpx.Client) -> None:
    """A running job takes a slot only between pages when no request waits: an /ocr request sent
    while a job runs is answered while the job is still running, not after it."""
    job_id = _submit(http, ("long.pdf", _pdf(range(1, MAX_PAGES + 1)))).json()["job"]["id"]
    deadline = time.monotonic() + 60
    while http.get(f"/jobs/{job_id}").json()["job"]["state"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    png = io.BytesIO()
    render_lines(["插队 ocr 12"], size=40).save(png, "PNG")
    answer = http.post("/ocr", files={"image": ("a.png", png.getvalue(), "image/png")})
    job = http.get(f"/jobs/{job_id}").json()["job"]
    assert answer.status_code == 200 and _squash("".join(answer.json()["text"])) == "插队ocr12"
    assert job["pages_done"] < MAX_PAGES, "the /ocr request waited for the whole job"
    assert _wait(http, job_id)["state"] == "done"
    http.delete(f"/jobs/{job_id}")
