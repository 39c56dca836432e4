"""Measure every preset on every dev set (full sets, in process) and print the figures that
tests/integration/test_accuracy.py's thresholds are set from.

    .venv/bin/python scripts/measure_accuracy.py [--presets default,fp32] [--limit N] [--out F]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cpuocr._engine.models import PRESETS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package
from benchmarks.datasets import SETS, available_sets, find_data_dir, load_dataset
from benchmarks.evaluate import evaluate
from benchmarks.readers import CpuocrReader


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--sets", default="")
    parser.add_argument("--out", default="")
    parser.add_argument("--limit", type=int, default=0, help="first N items of each set")
    args = parser.parse_args()
    data_dir = find_data_dir()
    if data_dir is None:
        print("no ../shared/data here", file=sys.stderr)
        return 1
    sets = args.sets.split(",") if args.sets else [s for s in SETS if s in available_sets(data_dir)]
    results = {}
    for preset in args.presets.split(","):
        reader = CpuocrReader(preset)
        for name in sets:
            dataset = load_dataset(name, data_dir)
            items = dataset.items[: args.limit] if args.limit else dataset.items
            summary = evaluate(reader, dataset, items)
            results[f"{preset}/{name}"] = summary
            keys = ("cer", "exact") if dataset.info.kind == "lines" else ("char_f1", "region_cer")
            figures = " ".join(f"{k}={summary[k]:.2f}" for k in keys if summary[k] is not None)
            print(f"{preset:8s} {name:24s} n={summary['images']:4d} {figures}", flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
