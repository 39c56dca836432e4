"""The scoring loop: every system on every set, interleaved, in one run on one machine.

How a run goes
    Workers (``benchmarks/workers.py``) are started afresh for every set, so a set's peak RSS is
    that set's own; model loading is timed separately ("load s"). For each set every worker
    first reads the set's first image once, untimed (warm-up); then the images are sent in turn
    to every worker (A B A B ...), the starting system rotating from image to image so that no
    system always goes first, with a pause of ``SETTLE_S`` before each call (idle runtime
    threads of the system before stop spinning).

What it reports, per set and system
    median and p95 seconds per image, images per second (images / summed seconds, one stream),
    accuracy by the rules of ``shared/data/README.md`` (see ``benchmarks/scoring.py``), failed
    calls (scored as empty output, never hidden), and peak RSS so far. The machine (CPU model,
    cores) and each system's threads are named in the results document.

:func:`evaluate` scores one reader in this process instead (the accuracy tests use it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import scoring
from .datasets import Dataset, LineItem, PageItem, Part, load_dataset, split_items
from .readers import PagePrediction, Reader
from .report import one_line
from .workers import Worker, WorkerError

# Pause before each timed call. ONNX Runtime's worker threads spin for a while after a call
# returns; without the pause the next system's call shared the 2 cores with them (cpuocr's
# median on iiit5k words: 12 ms alone, 24 ms right after RapidOCR's call, 2026-11-22).
SETTLE_S = 0.1


@dataclass
class Tally:
    """What one system did on one set."""

    seconds: list[float] = field(default_factory=list)
    failures: int = 0
    first_error: str | None = None
    line_scores: list[scoring.LineScore] = field(default_factory=list)
    page_f1: list[float] = field(default_factory=list)
    region: scoring.RegionScore = field(default_factory=lambda: scoring.RegionScore(0, 0))
    has_region: bool = False
    peak_rss_mb: float | None = None

    def summary(self, kind: str) -> dict[str, Any]:
        times = np.asarray(self.seconds, dtype=np.float64)
        total = float(times.sum())
        out: dict[str, Any] = {
            "images": len(self.seconds),
            "failures": self.failures,
            "first_error": self.first_error,
            "median_s": float(np.median(times)) if len(times) else None,
            "p95_s": float(np.percentile(times, 95)) if len(times) else None,
            "images_per_s": len(times) / total if total > 0 else None,
            "peak_rss_mb": self.peak_rss_mb,
        }
        if kind == "lines":
            agg = scoring.aggregate_lines(self.line_scores)
            out.update(
                cer=100.0 * agg.cer,
                exact=100.0 * agg.exact_match,
                errors=agg.errors,
                label_chars=agg.label_chars,
            )
        else:
            out["char_f1"] = 100.0 * float(np.mean(self.page_f1)) if self.page_f1 else None
            out["region_cer"] = 100.0 * self.region.cer if self.has_region else None
            out["errors"] = self.region.errors if self.has_region else None
            out["label_chars"] = self.region.label_chars if self.has_region else None
        return out


def _score(
    tally: Tally, dataset: Dataset, item: LineItem | PageItem, reply: Mapping[str, Any]
) -> dict[str, Any]:
    fold = dataset.info.fold
    if isinstance(item, LineItem):
        text = str(reply.get("text", ""))
        line = scoring.score_line(text, item.text, fold)
        tally.line_scores.append(line)
        return {"prediction": text, "errors": line.errors, "label_chars": line.label_chars}
    lines: PagePrediction = [(str(t), scoring.as_quad(box)) for t, box in reply.get("lines", [])]
    page = scoring.score_page(lines, item.lines, item.boxes, fold, item.ignore_boxes)
    tally.page_f1.append(page.f1)
    detail: dict[str, Any] = {
        "prediction": [[t, list(map(list, b))] for t, b in lines],
        "char_f1": page.f1,
    }
    if page.region is not None:
        tally.region = tally.region + page.region
        tally.has_region = True
        detail.update(errors=page.region.errors, label_chars=page.region.label_chars)
    return detail


def evaluate(
    reader: Reader, dataset: Dataset, items: Sequence[LineItem | PageItem]
) -> dict[str, Any]:
    """Score ``reader`` on ``items`` of ``dataset`` in this process (the accuracy tests use it;
    the benchmark proper runs each system in a worker process and alternates them)."""
    tally = Tally()
    for item in items:
        started = time.perf_counter()
        if isinstance(item, LineItem):
            reply: dict[str, Any] = {"text": reader.read_line(item.image)}
        else:
            reply = {"lines": reader.read_page(item.image)}
        tally.seconds.append(time.perf_counter() - started)
        _score(tally, dataset, item, reply)
    return tally.summary(dataset.info.kind)


def machine_info() -> dict[str, Any]:
    """CPU model, cores and platform, for naming the machine next to the numbers."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def run_benchmark(
    sets: Sequence[str],
    systems: Sequence[str],
    data_dir: Path,
    worker_command: Sequence[str],
    *,
    limit: int | None = None,
    part: Part = "all",
    timeout_s: float = 300.0,
    details: IO[str] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``systems`` over ``sets`` and return the results document (see the module doc)."""
    started = dt.datetime.now(dt.UTC)
    datasets = []
    for name in sets:
        dataset = load_dataset(name, data_dir)
        items = split_items(dataset.items, part)
        datasets.append((dataset, items[:limit] if limit is not None else items))

    systems_info: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {}
    for dataset, items in datasets:
        # Fresh workers for every set, so that each set's peak RSS is its own.
        workers: list[Worker] = []
        try:
            for spec in systems:
                worker = Worker(spec, worker_command, timeout_s)
                workers.append(worker)
                if spec not in systems_info:
                    log(f"{worker.name}: loaded in {worker.load_s:.1f} s; {worker.info}")
                    systems_info[spec] = {"name": worker.name, **worker.info, "load_s": []}
                systems_info[spec]["load_s"].append(worker.load_s)
            results[dataset.name] = _run_set(dataset, items, workers, details, log)
        finally:
            for worker in workers:
                worker.close()

    for spec, info in systems_info.items():
        loads = info.pop("load_s")
        info["load_s"] = float(np.median(loads))
        peaks = [
            s["results"][spec]["peak_rss_mb"]
            for s in results.values()
            if s["results"][spec]["peak_rss_mb"] is not None
        ]
        info["peak_rss_mb"] = max(peaks) if peaks else None
    return {
        "machine": machine_info(),
        "started": started.isoformat(timespec="seconds"),
        "seconds": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        "part": part,
        "limit": limit,
        "systems": systems_info,
        "sets": results,
    }


def _stats(worker: Worker) -> float | None:
    try:
        return float(worker.call("stats")["peak_rss_mb"])
    except WorkerError:
        return None


def _run_set(
    dataset: Dataset,
    items: Sequence[LineItem | PageItem],
    workers: Sequence[Worker],
    details: IO[str] | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    kind = dataset.info.kind
    op = "line" if kind == "lines" else "page"
    tallies = {w.spec: Tally() for w in workers}
    log(f"{dataset.name}: {len(items)} images, {kind}")
    if items:
        for worker in workers:  # warm-up, untimed
            try:
                worker.call(op, items[0].image)
            except WorkerError as exc:
                log(f"  {worker.spec} failed on warm-up: {exc}")
    for i, item in enumerate(items):
        for k in range(len(workers)):
            worker = workers[(i + k) % len(workers)]
            tally = tallies[worker.spec]
            time.sleep(SETTLE_S)  # the previous system's idle threads stop spinning first
            try:
                reply = worker.call(op, item.image)
            except WorkerError as exc:
                reply = {"ok": False, "error": str(exc)}
            if not reply.get("ok"):
                tally.failures += 1
                tally.first_error = tally.first_error or str(reply.get("error"))
                reply = {}
            else:
                tally.seconds.append(float(reply["s"]))
            detail = _score(tally, dataset, item, reply)
            if details is not None:
                record = {
                    "set": dataset.name,
                    "image": item.key,
                    "system": worker.spec,
                    "s": reply.get("s"),
                    **detail,
                }
                details.write(json.dumps(record, ensure_ascii=False) + "\n")
        if (i + 1) % 25 == 0:
            log(f"  {i + 1}/{len(items)}")
    for worker in workers:
        tallies[worker.spec].peak_rss_mb = _stats(worker)
    summary = {spec: t.summary(kind) for spec, t in tallies.items()}
    for spec, s in summary.items():
        log(f"  {spec}: {one_line(kind, s)}")
    return {"kind": kind, "fold": dataset.info.fold, "images": len(items), "results": summary}
