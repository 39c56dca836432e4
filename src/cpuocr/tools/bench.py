"""The benchmark runner: cpuocr and its peers on the labeled sets, in one run, one machine.

How a run goes
    Every system runs in its own worker process (``--worker SPEC``), so each one's peak RSS is
    its own (``ru_maxrss`` of the worker, plus that of its largest child for systems that run a
    program per image, such as Tesseract). The parent speaks a line-based JSON protocol with the
    workers over stdin/stdout. For each set every worker first reads the set's first image once,
    untimed (warm-up); then the images are sent in turn to every worker (A B A B ...), the
    starting system rotating from image to image so that no system always goes first, with a
    pause of ``SETTLE_S`` before each call (idle runtime threads of the system before stop
    spinning). Each call is timed inside its worker with ``time.perf_counter`` around the read
    call alone (file read and decode included, process messaging excluded). Workers are started
    afresh for every set, so a set's peak RSS is that set's own; model loading is timed
    separately ("load s").

What it reports, per set and system
    median and p95 seconds per image, images per second (images / summed seconds, one stream),
    accuracy by the rules of ``shared/data/README.md`` (see ``cpuocr.tools.scoring``), failed
    calls (scored as empty output, never hidden), and peak RSS so far. The machine (CPU model,
    cores) and each system's threads are named in the output.

Peers live in a separate virtualenv (``.venv-bench``, made by ``scripts/setup-bench.sh``) and
are driven by ``benchmarks/run.py``, which passes their factories to :func:`main`. ``cpuocr
bench`` re-runs itself under that venv when it exists, else benchmarks cpuocr alone.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from . import scoring
from .datasets import (
    PARTS,
    SETS,
    Dataset,
    LineItem,
    PageItem,
    Part,
    available_sets,
    find_data_dir,
    load_dataset,
    split_items,
)

PagePrediction = list[tuple[str, scoring.Quad]]

DEFAULT_SYSTEMS = (
    "cpuocr",
    "cpuocr:fast",
    "rapidocr",
    "faster-paddle:small",
    "faster-paddle:tiny",
    "tesseract",
)
MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"
# Pause before each timed call. ONNX Runtime's worker threads spin for a while after a call
# returns; without the pause the next system's call shared the 2 cores with them (cpuocr's
# median on iiit5k words: 12 ms alone, 24 ms right after RapidOCR's call, 2026-11-22).
SETTLE_S = 0.1


class Reader(Protocol):
    """What every benchmarked system offers (cpuocr and each peer adapter)."""

    name: str

    def info(self) -> dict[str, str]:
        """At least ``version`` and ``threads`` (how the system uses CPU threads)."""
        ...

    def read_page(self, path: Path) -> PagePrediction:
        """Whole image → (text, 4-point box) lines, original pixel coordinates."""
        ...

    def read_line(self, path: Path) -> str:
        """The whole image as one text line (recognition only where the system allows it)."""
        ...


ReaderFactory = Callable[[str], Reader]
"""Builds a reader from the part of a system spec after the family name ("" when none)."""


# --- cpuocr itself ----------------------------------------------------------------------------


class CpuocrReader:
    """The product engine. Spec: ``cpuocr[:PRESET[:PREPROCESS]]``, e.g. ``cpuocr:fast:none``."""

    def __init__(self, options: str, threads: int | None = None) -> None:
        from cpuocr import OCR  # the engine is imported only in the worker that runs it

        preset, _, preprocess = options.partition(":")
        self.preset = preset or "default"
        self.preprocess = preprocess or None
        self.name = "cpuocr:" + self.preset + (f":{preprocess}" if preprocess else "")
        self._ocr = OCR(preset=self.preset, threads=threads)

    def info(self) -> dict[str, str]:
        from cpuocr import __version__

        config = self._ocr.config
        runtime = self._ocr.runtime
        threads = runtime.intra_op_threads()
        if runtime.backend == "openvino":
            engine = f"OpenVINO, {threads} inference threads, precision hint {runtime.precision}"
        else:
            engine = f"ONNX Runtime intra-op {threads}, inter-op 1"
        return {
            "version": __version__,
            "threads": engine,
            "preprocess": self.preprocess or config.preprocess,
        }

    def read_page(self, path: Path) -> PagePrediction:
        result = self._ocr(path, det=True, preprocess=self.preprocess)
        return [(line.text, line.box) for line in result.lines]

    def read_line(self, path: Path) -> str:
        result = self._ocr(path, det=False, preprocess=self.preprocess)
        return "".join(result.text)


def cpuocr_factories(threads: int | None = None) -> dict[str, ReaderFactory]:
    """The factories for cpuocr systems (all a run needs when the peers are not installed)."""
    return {"cpuocr": lambda options: CpuocrReader(options, threads)}


def make_reader(spec: str, factories: Mapping[str, ReaderFactory]) -> Reader:
    """Build the reader for ``FAMILY[:OPTIONS]``; unknown families fail with the known ones."""
    family, _, options = spec.partition(":")
    factory = factories.get(family)
    if factory is None:
        known = ", ".join(sorted(factories))
        raise ValueError(f"unknown system {spec!r}; known: {known}")
    return factory(options)


# --- the worker side --------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024.0


def serve_worker(spec: str, factories: Mapping[str, ReaderFactory]) -> int:
    """Run one system behind the JSON line protocol on stdin/stdout until stdin closes."""
    # Libraries print and log; keep the real stdout for protocol messages only.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(message: Mapping[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False) + "\n")
        channel.flush()

    started = time.perf_counter()
    try:
        reader = make_reader(spec, factories)
        info = reader.info()
    except Exception as exc:  # reported to the parent, which stops the run
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    send(
        {"ready": True, "name": reader.name, "info": info, "load_s": time.perf_counter() - started}
    )
    for raw in sys.stdin:
        request = json.loads(raw)
        op, path = request.get("op"), Path(str(request.get("path", "")))
        if op == "stats":
            send({"ok": True, "peak_rss_mb": _peak_rss_mb()})
            continue
        begin = time.perf_counter()
        try:
            if op == "line":
                reply: dict[str, Any] = {"text": reader.read_line(path)}
            elif op == "page":
                reply = {
                    "lines": [
                        [t, [[float(x), float(y)] for x, y in box]]
                        for t, box in reader.read_page(path)
                    ]
                }
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:  # counted as a failed call by the parent, never hidden
            send(
                {
                    "ok": False,
                    "s": time.perf_counter() - begin,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            continue
        reply.update(ok=True, s=time.perf_counter() - begin)
        send(reply)
    return 0


# --- the parent side --------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker died, timed out or could not start."""


class Worker:
    """One system in its own process."""

    def __init__(self, spec: str, command: Sequence[str], timeout_s: float) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
            "w+", prefix=f"bench-{spec.replace(':', '_')}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [*command, "--worker", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            encoding="utf-8",
        )
        try:
            hello = self._receive(timeout_s=max(timeout_s, 600.0))
            if not hello.get("ready"):
                raise WorkerError(f"{spec} did not start: {hello.get('error')}\n{self.log_tail()}")
        except (WorkerError, ValueError):
            self.process.kill()
            self.close()
            raise
        self.name = str(hello["name"])
        self.info: dict[str, str] = dict(hello["info"])
        self.load_s = float(hello["load_s"])
        self.dead: str | None = None

    def log_tail(self, chars: int = 2000) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return text[-chars:]

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - Popen was given PIPE
            raise WorkerError("worker has no stdout")
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        if not ready:
            self.process.kill()
            raise WorkerError(f"{self.spec}: no answer within {timeout_s:.0f} s")
        line = stdout.readline()
        if not line:
            code = self.process.wait()
            raise WorkerError(f"{self.spec} exited with {code}\n{self.log_tail()}")
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, op: str, path: Path | None = None) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        if self.dead is not None:
            raise WorkerError(self.dead)
        stdin = self.process.stdin
        if stdin is None:  # pragma: no cover - Popen was given PIPE
            raise WorkerError("worker has no stdin")
        try:
            stdin.write(json.dumps({"op": op, "path": str(path or "")}) + "\n")
            stdin.flush()
            return self._receive(self.timeout_s)
        except (WorkerError, BrokenPipeError) as exc:
            self.dead = str(exc)
            raise WorkerError(self.dead) from exc

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):  # the worker may be gone already
                    stream.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


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
        log(f"  {spec}: {_one_line(kind, s)}")
    return {"kind": kind, "fold": dataset.info.fold, "images": len(items), "results": summary}


def _one_line(kind: str, s: Mapping[str, Any]) -> str:
    if kind == "lines":
        acc = f"CER {_num(s['cer'], 2)}%  exact {_num(s['exact'], 1)}%"
    else:
        acc = f"F1 {_num(s['char_f1'], 2)}%  region CER {_num(s['region_cer'], 2)}%"
    return f"{acc}  median {_num(s['median_s'], 3)} s  failures {s['failures']}"


# --- Markdown ---------------------------------------------------------------------------------


def _num(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    return f"{float(value):.{digits}f}"


def markdown_tables(doc: Mapping[str, Any]) -> str:
    """The results as Markdown: the machine, the systems, then one table per kind of set."""
    m = doc["machine"]
    out = [
        f"Run {doc['started']} on **{m['cpu']}**, {m['cores']} logical cores "
        f"({m['usable_cores']} usable), {m['platform']}, Python {m['python']}. "
        f"Items: {doc['part']}"
        + (f", at most {doc['limit']} per set" if doc["limit"] else "")
        + ".",
        "",
        "| system | version | threads | load s (median) | peak RSS MB (max over sets) |",
        "|---|---|---|---:|---:|",
    ]
    for spec, info in doc["systems"].items():
        out.append(
            f"| {spec} | {info.get('version', '?')} | {info.get('threads', '?')} "
            f"| {_num(info.get('load_s'), 1)} | {_num(info.get('peak_rss_mb'), 0)} |"
        )
    sets = doc["sets"]
    line_sets = [n for n, s in sets.items() if s["kind"] == "lines"]
    page_sets = [n for n, s in sets.items() if s["kind"] == "pages"]
    timing = "median s | p95 s | img/s | RSS MB | fail"
    if line_sets:
        out += [
            "",
            "### Line crops (recognition only)",
            "",
            f"| set | n | system | CER % | exact % | {timing} |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in line_sets:
            for spec, s in sets[name]["results"].items():
                out.append(
                    f"| {name} | {sets[name]['images']} | {spec} | {_num(s['cer'], 2)} "
                    f"| {_num(s['exact'], 1)} | {_timing(s)} |"
                )
    if page_sets:
        out += [
            "",
            "### Whole images (detection + recognition)",
            "",
            f"| set | n | system | char F1 % | region CER % | {timing} |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in page_sets:
            for spec, s in sets[name]["results"].items():
                out.append(
                    f"| {name} | {sets[name]['images']} | {spec} | {_num(s['char_f1'], 2)} "
                    f"| {_num(s['region_cer'], 2)} | {_timing(s)} |"
                )
    return "\n".join(out) + "\n"


def _timing(s: Mapping[str, Any]) -> str:
    return (
        f"{_num(s['median_s'], 3)} | {_num(s['p95_s'], 3)} | {_num(s['images_per_s'], 2)} "
        f"| {_num(s['peak_rss_mb'], 0)} | {s['failures']}"
    )


def write_markdown_section(path: Path, body: str) -> None:
    """Put ``body`` between the bench markers of ``path`` (appended when the markers are absent)."""
    block = f"{MARK_START}\n\n{body}\n{MARK_END}"  # blank lines end the tables
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(MARK_END) :]
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


# --- command line -----------------------------------------------------------------------------


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``cpuocr bench`` and ``benchmarks/run.py``."""
    parser.add_argument(
        "--sets",
        default="all",
        help=f"comma-separated set names, or 'all' (known: {', '.join(SETS)})",
    )
    parser.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help="comma-separated systems: cpuocr[:PRESET[:PREPROCESS]], rapidocr, "
        "faster-paddle:small|tiny, tesseract (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set")
    parser.add_argument(
        "--part",
        choices=PARTS,
        default="all",
        help="all items, the ~20%% calibration slice, or the scoring rest",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cpuocr ONNX Runtime intra-op threads (default: the engine's)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the labeled sets (default: $CPUOCR_DATA_DIR or ../shared/data)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results.json"),
        help="results JSON (default: %(default)s)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="also write the tables into this Markdown file between "
        f"'{MARK_START}' and '{MARK_END}'",
    )
    parser.add_argument(
        "--details", type=Path, default=None, help="per-image predictions and scores as JSON lines"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds one image may take before a system is given up",
    )


def _forwarded_argv(args: argparse.Namespace) -> list[str]:
    argv = [
        "--sets",
        args.sets,
        "--systems",
        args.systems,
        "--part",
        args.part,
        "--out",
        str(args.out),
        "--timeout",
        str(args.timeout),
    ]
    for flag, value in (
        ("--limit", args.limit),
        ("--threads", args.threads),
        ("--data-dir", args.data_dir),
        ("--markdown", args.markdown),
        ("--details", args.details),
    ):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def _repo_root() -> Path | None:
    for folder in Path(__file__).resolve().parents:
        if (folder / "benchmarks" / "run.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return None


def run_bench(args: argparse.Namespace) -> int:
    """``cpuocr bench``: under ``.venv-bench`` with the peers when it exists, else cpuocr alone."""
    root = _repo_root()
    if root is not None:
        bench_python = root / ".venv-bench" / "bin" / "python"
        in_bench_venv = Path(sys.prefix).resolve() == bench_python.parent.parent.resolve()
        if bench_python.is_file() and not in_bench_venv:
            command = [
                str(bench_python),
                str(root / "benchmarks" / "run.py"),
                *_forwarded_argv(args),
            ]
            print("running the peers' venv: " + " ".join(command), file=sys.stderr)
            return subprocess.call(command)
    wanted = [s for s in args.systems.split(",") if s]
    own = [s for s in wanted if s.partition(":")[0] == "cpuocr"]
    missing = [s for s in wanted if s not in own]
    if missing:
        print(
            f"peers not installed ({', '.join(missing)} skipped): run scripts/setup-bench.sh "
            "to benchmark them",
            file=sys.stderr,
        )
    args.systems = ",".join(own)
    return main_with(
        args, cpuocr_factories(args.threads), [sys.executable, "-m", "cpuocr.tools.bench"]
    )


def main_with(
    args: argparse.Namespace, factories: Mapping[str, ReaderFactory], command: Sequence[str]
) -> int:
    """Run the benchmark for parsed ``args``; workers start as ``command --worker SPEC``."""
    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems if s.partition(":")[0] not in factories]
    if unknown or not systems:
        print(
            f"unknown or missing systems {unknown}; known families: {', '.join(factories)}",
            file=sys.stderr,
        )
        return 2
    data_dir = args.data_dir or find_data_dir()
    if data_dir is None or not data_dir.is_dir():
        print("labeled data not found: set CPUOCR_DATA_DIR or pass --data-dir", file=sys.stderr)
        return 2
    present = available_sets(data_dir)
    sets = present if args.sets == "all" else [s for s in args.sets.split(",") if s]
    absent = [s for s in sets if s not in present]
    if absent:
        print(f"sets not found under {data_dir}: {', '.join(absent)}", file=sys.stderr)
        return 2
    if args.threads is not None:  # the cpuocr workers build their engine with these threads
        command = [*command, "--threads", str(args.threads)]
    details = args.details.open("w", encoding="utf-8") if args.details else None
    try:
        doc = run_benchmark(
            sets,
            systems,
            data_dir,
            command,
            limit=args.limit,
            part=args.part,
            timeout_s=args.timeout,
            details=details,
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
    except WorkerError as exc:
        print(f"benchmark stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        if details is not None:
            details.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    table = markdown_tables(doc)
    print(table)
    if args.markdown is not None:
        write_markdown_section(args.markdown, table)
    print(
        f"results: {args.out}" + (f", tables: {args.markdown}" if args.markdown else ""),
        file=sys.stderr,
    )
    return 0


def main(
    argv: Sequence[str] | None = None,
    factories: Mapping[str, ReaderFactory] | None = None,
    command: Sequence[str] | None = None,
) -> int:
    """Entry for ``benchmarks/run.py`` (with peer factories) and ``python -m cpuocr.tools.bench``.

    ``--worker SPEC`` turns this process into one system's worker.
    """
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    add_bench_arguments(parser)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    all_factories = {**cpuocr_factories(args.threads), **(factories or {})}
    if args.worker is not None:
        return serve_worker(args.worker, all_factories)
    return main_with(args, all_factories, command or [sys.executable, "-m", "cpuocr.tools.bench"])


if __name__ == "__main__":
    sys.exit(main())
