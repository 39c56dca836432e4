"""Benchmark cpuocr against its peers; run with the benchmark venv's Python.

    bash scripts/setup-bench.sh
    .venv-bench/bin/python benchmarks/run.py --limit 5
    .venv-bench/bin/python benchmarks/run.py --markdown BENCHMARKS.md    # the full run

Options: ``--help``. The runner itself lives in ``cpuocr.tools.bench``; this script adds the
peer readers of ``benchmarks/peers.py``, which only this venv has installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import PEERS  # noqa: E402

from cpuocr.tools.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], PEERS, [sys.executable, str(Path(__file__).resolve())]))
