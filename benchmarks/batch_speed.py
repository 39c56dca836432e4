"""Batch throughput on this machine: pages per minute and peak memory of ``cpuocr batch`` over a
folder of receipts and over a long scanned PDF, for each way of running it; and the time a rerun
takes to skip inputs already done.

Ways (each a fresh ``--out``, run as its own process tree; peak RSS is the whole tree's —
workers, and for Ray its raylet, GCS and workers too):

- ``local-1x2``: one process, the engine with 2 ONNX Runtime threads (``--workers 1``);
- ``local-2x1``: two worker processes, 1 thread each (``--workers 2``);
- ``threads-2x1``: one process, one engine shared by two Python threads, 1 ORT thread each;
- ``ray-1x2`` / ``ray-2x1``: ``--ray`` with 1 actor of 2 CPUs / 2 actors of 1 CPU.

Data: the SROIE receipts of ``../shared/data`` repeated to ``--receipts`` files, and the
OmniDocBench page scans repeated to a ``--pdf-pages``-page image-only PDF at 200 dpi::

    .venv/bin/python -m benchmarks.batch_speed --work /tmp/batch-bench
    .venv/bin/python -m benchmarks.batch_speed --work /tmp/batch-bench --resume 1000 --ways none
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

WAYS: dict[str, list[str]] = {
    "local-1x2": ["--workers", "1"],
    "local-2x1": ["--workers", "2"],
    "threads-2x1": [],  # this module's own executor (see _threads_main)
    "ray-1x2": ["--ray", "--actors", "1", "--cpus-per-actor", "2"],
    "ray-2x1": ["--ray", "--actors", "2", "--cpus-per-actor", "1"],
}


def make_corpora(work: Path, receipts: int, pdf_pages: int) -> dict[str, Path]:
    from PIL import Image

    sys.path.insert(0, str(ROOT / "tests"))
    from rendering import image_pdf

    folder = work / "receipts"
    if not folder.exists():
        folder.mkdir(parents=True)
        sources = sorted((DATA / "sroie_en" / "images").iterdir())
        for i in range(receipts):
            src = sources[i % len(sources)]
            shutil.copy(src, folder / f"r{i:03d}{src.suffix}")
    pdf = work / "pdf" / "scan.pdf"
    if not pdf.exists():
        pdf.parent.mkdir(parents=True)
        pages = sorted((DATA / "omnidocbench_pages" / "images").iterdir())
        images = [Image.open(pages[i % len(pages)]).convert("RGB") for i in range(pdf_pages)]
        pdf.write_bytes(image_pdf(images, dpi=200))
    return {"receipts": folder, "pdf": pdf.parent}


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    members, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in members:
                members.add(child)
                frontier.append(child)
    total = 0
    for member in members:
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(command: Sequence[str]) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS and stdout of ``command``."""
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.25)
    stdout, stderr = proc.communicate()
    seconds = time.monotonic() - start
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{command} failed ({proc.returncode}): {stderr[-2000:]}")
    return seconds, peak, stdout.strip()


def run_way(way: str, corpus: Path, out: Path) -> tuple[float, int, str]:
    shutil.rmtree(out, ignore_errors=True)
    if way == "threads-2x1":
        command = [sys.executable, "-m", "benchmarks.batch_speed", "--threads-run", str(corpus),
                   str(out)]  # fmt: skip
    else:
        command = [sys.executable, "-m", "cpuocr", "batch", str(corpus), "--out", str(out),
                   "--progress", "never", "--format", "txt,json", *WAYS[way]]  # fmt: skip
    return measure(command)


def _threads_main(corpus: str, out: str) -> int:
    """One engine (1 ORT thread per call) shared by two threads: the thread alternative."""
    from cpuocr import EngineConfig
    from cpuocr._batch.local import LocalExecutor
    from cpuocr._batch.runner import Batch
    from cpuocr._batch.work import PageDone, PageReader, PageTask, ReadOptions

    config = EngineConfig.from_env().with_threads(1)
    options = ReadOptions()
    reader = PageReader(config, options)

    class Threads(LocalExecutor):
        def run(
            self, tasks: Sequence[PageTask], skip: Callable[[PageTask], bool]
        ) -> Iterator[PageDone]:
            with ThreadPoolExecutor(2) as pool:
                pending: set[Future[PageDone]] = set()
                source = iter(tasks)
                exhausted = False
                while pending or not exhausted:
                    while not exhausted and len(pending) < 4:
                        task = next(source, None)
                        if task is None:
                            exhausted = True
                        elif not skip(task):
                            pending.add(pool.submit(reader, task))
                    if pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            yield future.result()

    executor = Threads(config, options, 2)
    batch = Batch([corpus], out, executor=executor, config=config, options=options)
    print(batch.run())
    return 0


def resume(work: Path, n: int) -> dict[str, float]:
    """Seconds for a rerun to skip ``n`` finished inputs (the first run reads them)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from rendering import render_lines

    folder = work / f"resume{n}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i in range(n):
            render_lines([f"No. {i:05d}"], size=20).save(folder / f"s{i:05d}.png")
    out = work / f"resume{n}-out"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "cpuocr", "batch", str(folder), "--out", str(out),
               "--progress", "never", "--workers", "2"]  # fmt: skip
    first, _, _ = measure(command)
    again, peak, summary = measure(command)
    assert f"{n} already done" in summary, summary
    return {"inputs": n, "first_run_s": round(first, 1), "rerun_s": round(again, 2),
            "rerun_peak_rss_mb": round(peak / 2**20)}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/batch-bench"))
    p.add_argument("--ways", default=",".join(WAYS), help="comma-separated, or none")
    p.add_argument("--corpora", default="receipts,pdf")
    p.add_argument("--receipts", type=int, default=100)
    p.add_argument("--pdf-pages", type=int, default=50)
    p.add_argument("--resume", type=int, default=0, help="also time skipping N done inputs")
    p.add_argument("--threads-run", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads_run:
        return _threads_main(*args.threads_run)
    corpora = make_corpora(args.work, args.receipts, args.pdf_pages)
    results = []
    ways = [] if args.ways == "none" else args.ways.split(",")
    for name in args.corpora.split(","):
        for way in ways:
            seconds, peak, summary = run_way(way, corpora[name], args.work / f"out-{way}")
            pages = int(summary.split(" pages in ")[0].rsplit(" ", 1)[1])
            row = {"corpus": name, "way": way, "pages": pages, "seconds": round(seconds, 1),
                   "pages_per_min": round(60 * pages / seconds, 1),
                   "peak_rss_mb": round(peak / 2**20)}  # fmt: skip
            print(json.dumps(row), flush=True)
            results.append(row)
    if args.resume:
        print(json.dumps(resume(args.work, args.resume)), flush=True)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "batch-bench"
    sys.exit(main())
