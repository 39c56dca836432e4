"""cpuocr's per-stage profile on the whole-image sets: the mean of ``OCRResult.timings_ms``
(load, preprocess, detect, orient, recognise, assemble, trim) over the first N images of each
whole-image set in ``shared/data``, per preset, written to a JSON file that
``benchmarks/charts.py`` draws as stacked bars (``benchmarks/charts/stages.png``).

    .venv/bin/python benchmarks/stage_profile.py --presets default,fast     # idle machine only
    .venv/bin/python benchmarks/charts.py                                   # redraw the charts

Timing: run it on an otherwise idle machine (the numbers are wall times). Per set and preset
the first image is read once untimed (warm-up), then each of the first ``--limit`` images is
read ``--rounds`` times, one call at a time; every stage's mean over those calls is reported,
with the mean and median total. The machine is named as in ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: import the package from the repository root
    _HERE = Path(__file__).resolve().parent
    # Not this folder itself: its module names (datasets, scoring) would shadow other packages.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

from benchmarks.datasets import SETS, available_sets, find_data_dir, load_dataset
from benchmarks.evaluate import machine_info

DEFAULT_OUT = Path(__file__).resolve().parent / "stage_profile.json"
DEFAULT_LIMIT = 10


def page_sets(data_dir: Path, wanted: Sequence[str] | None = None) -> list[str]:
    """The whole-image sets to profile: ``wanted`` (each must be a whole-image set found under
    ``data_dir``), else every whole-image set found there, in ``SETS`` order."""
    found = [n for n in available_sets(data_dir) if SETS[n].kind == "pages"]
    if not wanted:
        return found
    for name in wanted:
        if name not in SETS or SETS[name].kind != "pages":
            pages = ", ".join(n for n, s in SETS.items() if s.kind == "pages")
            raise ValueError(f"{name!r} is not a whole-image set; whole-image sets: {pages}")
        if name not in found:
            raise ValueError(f"{name!r} not found under {data_dir}")
    return list(wanted)


def summarise(timings: Sequence[dict[str, float]], totals: Sequence[float]) -> dict[str, Any]:
    """Mean ms per stage over the calls (a stage a call lacks counts 0 there: ``trim`` runs only
    after some calls), in the order the stages were first met; mean and median total ms."""
    stages: list[str] = []
    for t in timings:
        stages += [s for s in t if s not in stages]
    n = len(timings)
    return {
        "calls": n,
        "stages_ms": {s: sum(t.get(s, 0.0) for t in timings) / n for s in stages} if n else {},
        "mean_total_ms": statistics.fmean(totals) if totals else None,
        "median_total_ms": statistics.median(totals) if totals else None,
    }


def profile_preset(
    preset: str,
    sets: Sequence[str],
    data_dir: Path,
    *,
    limit: int,
    rounds: int = 1,
    threads: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One preset over ``sets``: ``{"threads": ..., "sets": {name: summary}}``."""
    from cpuocr import OCR  # the engine only where a profile is really taken

    with OCR(preset=preset, threads=threads) as ocr:
        runtime = ocr.runtime
        n_threads = runtime.intra_op_threads()
        if runtime.backend == "openvino":
            engine = f"OpenVINO, {n_threads} inference threads"
        else:
            engine = f"ONNX Runtime intra-op {n_threads}, inter-op 1"
        out: dict[str, Any] = {"threads": engine, "sets": {}}
        for name in sets:
            items = load_dataset(name, data_dir).items[:limit]
            if not items:
                log(f"{preset} {name}: no images, skipped")
                continue
            ocr(items[0].image)  # warm-up, untimed
            timings: list[dict[str, float]] = []
            totals: list[float] = []
            lines: list[int] = []
            for _ in range(rounds):
                for item in items:
                    result = ocr(item.image)
                    timings.append(dict(result.timings_ms))
                    totals.append(result.time_ms)
                    lines.append(len(result.lines))
            summary = {"images": len(items), **summarise(timings, totals)}
            summary["mean_lines"] = statistics.fmean(lines)
            out["sets"][name] = summary
            stages = ", ".join(f"{k} {v:.0f}" for k, v in summary["stages_ms"].items())
            log(f"{preset} {name}: {len(items)} images, mean ms: {stages}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--presets", default="default", help="comma-separated (default: default)")
    parser.add_argument("--sets", default="", help="whole-image sets (default: all)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="images per set")
    parser.add_argument("--rounds", type=int, default=1, help="reads of each image")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON written")
    args = parser.parse_args(argv)
    if args.limit < 1 or args.rounds < 1:
        parser.error("--limit and --rounds must be at least 1")

    data_dir = args.data_dir or find_data_dir()
    if data_dir is None or not data_dir.is_dir():
        print("no data folder: pass --data-dir or set CPUOCR_DATA_DIR", file=sys.stderr)
        return 2
    try:
        sets = page_sets(data_dir, [s for s in args.sets.split(",") if s])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not sets:
        print(f"no whole-image sets under {data_dir}", file=sys.stderr)
        return 2
    presets = [p for p in args.presets.split(",") if p]

    started = dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "machine": machine_info(),
        "started": started.isoformat(timespec="seconds"),
        "limit": args.limit,
        "rounds": args.rounds,
        "presets": {},
    }
    for preset in presets:
        doc["presets"][preset] = profile_preset(
            preset,
            sets,
            data_dir,
            limit=args.limit,
            rounds=args.rounds,
            threads=args.threads,
            log=lambda s: print(s, file=sys.stderr),
        )
    doc["seconds"] = (dt.datetime.now(dt.UTC) - started).total_seconds()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
