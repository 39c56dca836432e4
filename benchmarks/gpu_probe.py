"""Seconds per image of cpuocr on a GPU (``--device cuda``), stage by stage: the check run on a
lent H200 (BENCHMARKS.md, "GPU"). Needs ``cpuocr[gpu]`` and an NVIDIA GPU; elsewhere the engine
falls back to the CPU and says so.

    python -m benchmarks.gpu_probe --device cuda --limit 6

Each set is read twice in order (round 2 meets input shapes round 1 has seen), and the first
set's per-image stage times are printed, so a per-shape cost shows as the difference.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from cpuocr import OCR

SETS = ("omnidocbench_pages", "sroie_en", "funsd_en", "game_ui_zh", "mtwi_web_zh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--preset", default="fp32")
    parser.add_argument("--limit", type=int, default=6, help="images per set")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    start = time.perf_counter()
    ocr = OCR(preset=args.preset, device=args.device)
    print("load s", round(time.perf_counter() - start, 2), "device", ocr.device, flush=True)
    ocr.warm_up()
    for round_ in range(1, args.rounds + 1):
        for name in SETS:
            labels = (args.data_dir / name / "labels.jsonl").read_text().splitlines()
            images = [json.loads(line)["image"] for line in labels][: args.limit]
            seconds = []
            for image in images:
                start = time.perf_counter()
                result = ocr(args.data_dir / name / image)
                seconds.append(time.perf_counter() - start)
                if round_ == 1 and name == SETS[0]:
                    stages = {k: round(v) for k, v in result.timings_ms.items()}
                    print(" ", image, round(seconds[-1], 3), stages, flush=True)
            seconds.sort()
            median = seconds[len(seconds) // 2]
            print(round_, name, "median s", round(median, 3), [round(s, 2) for s in seconds])
    print("peak RSS MB", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
