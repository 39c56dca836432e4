"""A/B of two checkouts of the engine on this machine: the same images, alternating A B / B A, one
worker process per checkout (default preset, whole images and line crops), after one warm-up
call each. Prints the median time per set, the ratio and how many answers are identical.

    git worktree add /tmp/before REV
    .venv/bin/python benchmarks/ab_engine.py --a /tmp/before/src --b src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = """
import json, sys, time
import cpuocr
from cpuocr import OCR
ocr = OCR()
print(json.dumps({"ready": True, "module": cpuocr.__file__}), flush=True)
for line in sys.stdin:
    path, det = json.loads(line)
    time.sleep(0.1)  # let the other worker's runtime threads stop spinning (see BENCHMARKS.md)
    started = time.perf_counter()
    result = ocr(path, det=det)
    print(json.dumps({"t": time.perf_counter() - started, "text": result.text}), flush=True)
"""

SETS = {  # set -> read with detection?
    "omnidocbench_pages": True,
    "sroie_en": True,
    "funsd_en": True,
    "game_ui_zh": True,
    "mtwi_web_zh": True,
    "degraded_zh": True,  # generated (benchmarks/degraded.py): pass its folder as --data
    "omnidocbench_lines_zh": False,
    "iiit5k_words_en": False,
}


class Worker:
    def __init__(self, src: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.module = str(json.loads(self.readline())["module"])

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def read(self, path: Path, det: bool) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([str(path), det]) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, object] = json.loads(self.readline())
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="src/ folder of checkout A")
    parser.add_argument("--b", required=True, help="src/ folder of checkout B")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--limit", type=int, default=8, help="images per set (crops: 2.5x)")
    args = parser.parse_args()
    workers = {"A": Worker(args.a), "B": Worker(args.b)}
    for name, worker in workers.items():
        print(f"{name}: {worker.module}")  # each side really runs its own checkout
    try:
        for name, det in SETS.items():
            files = sorted((Path(args.data) / name / "images").glob("*"))
            files = files[: args.limit if det else int(args.limit * 2.5)]
            if not files:
                continue
            times: dict[str, list[float]] = {"A": [], "B": []}
            same = 0
            for w in workers.values():
                w.read(files[0], det)
            for i, path in enumerate(files):
                order = ("A", "B") if i % 2 == 0 else ("B", "A")
                out = {k: workers[k].read(path, det) for k in order}
                for k, answer in out.items():
                    times[k].append(float(answer["t"]))  # type: ignore[arg-type]
                same += out["A"]["text"] == out["B"]["text"]
            a, b = statistics.median(times["A"]), statistics.median(times["B"])
            print(
                f"{name:24s} n={len(files):3d}  median A {a:.3f} s  B {b:.3f} s  "
                f"B/A {b / a:.2f}  same text {same}/{len(files)}"
            )
    finally:
        for w in workers.values():
            w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
