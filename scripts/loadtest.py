#!/usr/bin/env python3
"""A bounded load / soak client for a running cpuocr server (or one it starts itself).

N concurrent clients POST small images to ``/ocr`` until ``--requests`` answers or ``--duration``
seconds, whichever comes first; it prints throughput, latency percentiles, status counts and the
server's memory and open files. The client itself is ``tests/load/loadclient.py`` (the load
tests use it too); this is its command line.

Examples::

    # start a server (1 worker, default settings) and soak it with 5,000 tiny page images
    .venv/bin/python scripts/loadtest.py --spawn --concurrency 4 --requests 5000 --duration 1800
    # the same with one-line crops read without detection (--det false)
    .venv/bin/python scripts/loadtest.py --spawn --image line --det false --requests 5000
    # overload: 32 clients against a server with one slot and a queue of 2
    .venv/bin/python scripts/loadtest.py --spawn --concurrency 32 --duration 20 \\
        --server-arg=--slots=1 --server-arg=--queue-size=2
    # an already running server (sample its memory with --pid)
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:5000 --pid 12345
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "load"))
from loadclient import ImageSource, run_load, spawn_server


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "python": sys.version.split()[0]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="base URL of a running server")
    where.add_argument("--spawn", action="store_true", help="start a server on a free port")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="a server argument (repeat it): --server-arg=--slots=1",
    )
    parser.add_argument(
        "--pid", type=int, help="server process to sample (default: the spawned one)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (upper bound)")
    parser.add_argument("--requests", type=int, default=1000, help="requests (upper bound)")
    parser.add_argument("--image", choices=ImageSource.KINDS[:3], default="tiny")
    parser.add_argument(
        "--image-dir",
        type=Path,
        help="send the real .jpg/.png files of this folder instead (e.g. a dev set's images/)",
    )
    parser.add_argument("--det", choices=("true", "false"), default="true")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request")
    parser.add_argument(
        "--warmup", type=int, default=200, help="requests before the memory baseline is taken"
    )
    parser.add_argument("--sample-interval", type=float, default=1.0)
    parser.add_argument("--api-key", default=os.environ.get("CPUOCR_API_KEY"))
    parser.add_argument(
        "--honour-retry-after",
        action="store_true",
        help="clients sleep Retry-After seconds after a 503",
    )
    parser.add_argument(
        "--probe",
        type=int,
        default=0,
        metavar="N",
        help="also send N requests from a separate light client process (one every 0.1 s)",
    )
    parser.add_argument("--json", type=Path, help="also write the summary (and samples) here")
    args = parser.parse_args(argv)

    process: subprocess.Popen[bytes] | None = None
    url = args.url
    pid = args.pid
    if args.spawn:
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cpuocr-loadtest-{os.getpid()}.log"
        process, url = spawn_server(args.server_arg, log_path)
        pid = pid or process.pid
    try:
        if process is not None:
            print(f"server {url} pid {process.pid} (log {log_path})", file=sys.stderr)
        report = run_load(
            url,
            concurrency=args.concurrency,
            duration_s=args.duration,
            max_requests=args.requests,
            image_kind=args.image,
            images=ImageSource.from_dir(args.image_dir) if args.image_dir else None,
            det=args.det == "true",
            timeout_s=args.timeout,
            pid=pid,
            sample_interval_s=args.sample_interval,
            warmup_requests=args.warmup,
            api_key=args.api_key,
            honour_retry_after=args.honour_retry_after,
            probe_requests=args.probe,
        )
    finally:
        exit_code = None
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                exit_code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                exit_code = process.wait()
    summary = {
        "machine": machine(),
        "image": str(args.image_dir) if args.image_dir else args.image,
        "det": args.det,
        "server_args": args.server_arg,
        **report.summary(),
    }
    if exit_code is not None:
        summary["server_exit_code"] = exit_code
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        full = {**summary, "samples": [dataclasses.asdict(s) for s in report.samples]}
        args.json.write_text(json.dumps(full, indent=2, ensure_ascii=False))
    return 1 if report.server_errors or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
