"""Benchmark cpuocr against its peers; run with the benchmark venv's Python.

    bash scripts/setup-bench.sh
    .venv-bench/bin/python benchmarks/run.py --limit 5
    .venv-bench/bin/python benchmarks/run.py --markdown BENCHMARKS.md    # the full run

The same as ``python -m benchmarks`` from the repository root. Options: ``--help``. The runner
is the ``benchmarks`` package (``benchmarks/cli.py``); this script is also what each system's
worker process runs (``--worker SPEC``).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: import the package from the repository root
    _HERE = Path(__file__).resolve().parent
    # Not this folder itself: its module names (datasets, scoring) would shadow other packages.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

from benchmarks.cli import main

if __name__ == "__main__":
    sys.exit(main())
