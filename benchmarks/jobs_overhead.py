"""The per-page overhead of a job (``POST /jobs``) against ``POST /ocr`` on the same pages.

One server (result cache off) reads the same scanned PDF (``benchmarks.document_speed``'s pages:
A4 at 200 dpi, 12 lines each) both ways, alternately, ``--runs`` times each:

* ``/ocr``: the whole PDF in one request (one slot, the pages one after another);
* job: submitted, polled every 20 ms until done; reported from the client's clock (submit to
  done seen) and from the server's (``finished_at - created_at`` of the job: queueing, one
  ``pool.run`` per page with the PDF opened again for each, a SQLite commit per page).

Run it on an idle machine (the numbers are wall-clock)::

    .venv/bin/python -m benchmarks.jobs_overhead --pages 20 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "load"))

from loadclient import spawn_server

from .document_speed import scanned_pdf

POLL_S = 0.02


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def ocr_once(client: httpx.Client, pdf: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/ocr", files={"image": ("doc.pdf", pdf, "application/pdf")})
    response.raise_for_status()
    return time.perf_counter() - started


def job_once(client: httpx.Client, pdf: bytes) -> tuple[float, float]:
    """(client seconds, server seconds) of one job."""
    started = time.perf_counter()
    response = client.post("/jobs", files={"file": ("doc.pdf", pdf, "application/pdf")})
    response.raise_for_status()
    job_id = response.json()["job"]["id"]
    while True:
        job = client.get(f"/jobs/{job_id}").json()["job"]
        if job["state"] not in ("queued", "running"):
            break
        time.sleep(POLL_S)
    seen = time.perf_counter() - started
    if job["state"] != "done":
        raise RuntimeError(f"job {job_id} ended {job['state']}: {job['files']}")
    server = _seconds(job["finished_at"]) - _seconds(job["created_at"])
    client.delete(f"/jobs/{job_id}")
    return seen, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10, help="pages of the PDF")
    parser.add_argument("--runs", type=int, default=2, help="runs of each way")
    args = parser.parse_args(argv)
    pdf = scanned_pdf(pages=args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        server_args = [
            "--cache-mb", "0", "--data-dir", str(Path(tmp) / "data"),
            "--max-pages", str(args.pages), "--max-job-pages", str(args.pages),
            "--request-timeout", "600", "--max-upload-mb", "100",
        ]  # fmt: skip
        process, url = spawn_server(server_args, Path(tmp) / "server.log")
        try:
            with httpx.Client(base_url=url, timeout=900) as client:
                ocr_once(client, scanned_pdf(pages=1))  # warm-up
                ocr_s: list[float] = []
                job_client_s: list[float] = []
                job_server_s: list[float] = []
                for _ in range(args.runs):
                    ocr_s.append(ocr_once(client, pdf))
                    seen, server = job_once(client, pdf)
                    job_client_s.append(seen)
                    job_server_s.append(server)
        finally:
            process.terminate()
            process.wait(60)
    per_page = {
        "POST /ocr (one request)": statistics.median(ocr_s) / args.pages,
        "POST /jobs (client: submit to done)": statistics.median(job_client_s) / args.pages,
        "POST /jobs (server: created to finished)": statistics.median(job_server_s) / args.pages,
    }
    print(f"{args.pages} pages, {args.runs} run(s) each, medians:")
    for name, seconds in per_page.items():
        print(f"  {name:42s} {seconds * 1000:8.1f} ms/page")
    overhead = (
        per_page["POST /jobs (server: created to finished)"] - per_page["POST /ocr (one request)"]
    )
    print(f"  job overhead (server) {overhead * 1000:+.1f} ms/page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
