"""The benchmark's command line: cpuocr and its peers on the labeled sets, one run, one machine.

``benchmarks/run.py`` and ``python -m benchmarks`` both end here. With ``--worker SPEC`` the
process becomes one system's worker (``benchmarks/workers.py``). Otherwise it runs the
benchmark (``benchmarks/evaluate.py``) and writes the results JSON and the Markdown tables
(``benchmarks/report.py``).

The peers (``benchmarks/peers.py``) are installed only in ``.venv-bench`` (made by
``scripts/setup-bench.sh``). Started from another Python, the benchmark re-runs itself under
``.venv-bench`` when it exists, else benchmarks cpuocr alone and says which systems it skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .datasets import PARTS, SETS, available_sets, find_data_dir
from .evaluate import run_benchmark
from .peers import PEERS
from .readers import ReaderFactory, cpuocr_factories
from .report import MARK_END, MARK_START, markdown_tables, write_markdown_section
from .workers import WorkerError, serve_worker

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = ROOT / "benchmarks" / "run.py"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

DEFAULT_SYSTEMS = (
    "cpuocr",
    "cpuocr:fast",
    "rapidocr",
    "faster-paddle:small",
    "faster-paddle:tiny",
    "tesseract",
)


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``benchmarks/run.py`` and ``python -m benchmarks``."""
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


def _in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == BENCH_PYTHON.parent.parent.resolve()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry for ``benchmarks/run.py`` and ``python -m benchmarks``.

    ``--worker SPEC`` turns this process into one system's worker.
    """
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__.split("\n\n")[0])
    add_bench_arguments(parser)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    factories = {**cpuocr_factories(args.threads), **PEERS}
    if args.worker is not None:
        return serve_worker(args.worker, factories)
    if not _in_bench_venv():
        if BENCH_PYTHON.is_file():
            command = [str(BENCH_PYTHON), str(RUN_PY), *argv]
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
    return main_with(args, factories, [sys.executable, str(RUN_PY)])
