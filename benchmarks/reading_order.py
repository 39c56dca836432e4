"""Reading order on the labeled OmniDocBench pages: cpuocr's engine order, cpuocr with the page
layout (``cpuocr._documents.layout.analyze``), RapidOCR's order, and RapidOCR's lines put in
order by cpuocr's layout.

    .venv-bench/bin/python -m benchmarks.reading_order [--include-noisy] [--json FILE]

The metric (labels list a page's lines in reading order):

1. **Matching.** Each label line is matched to the predicted line that overlaps it most, measured
   as intersection / the smaller area (the benchmark's link rule: above 30%, see
   ``benchmarks/scoring.py``). A label no prediction links to is left out (that is a detection
   miss, not an order error; the share matched is reported).
2. **Order.** Each matched label gets the position of its prediction in the system's output.
   Kendall's tau-b between label index and that position, over the page's matched labels (ties:
   two labels matched to one predicted line, which merged them, count neither way): 1 = the
   same order, 0 = no relation, -1 = reversed. Reported as the mean over pages, and as the
   pooled share of label pairs put in the right order (concordant / (concordant + discordant),
   summed over all pages) — the chance that two lines of a page come out in the order people
   read them.

Scored twice: over all label lines, and over the *body* — the labels' page furniture (lines
whose block type is ``header``, ``footer`` or ``page_number``) left out: OmniDocBench lists it
after the body wherever it stands on the page, a convention of the labels rather than an order
a reader follows (a running head printed above the text is read first, or not at all).

``odb_11`` (a newspaper with noisy labels) is left out unless ``--include-noisy``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .datasets import PageItem, find_data_dir, load_dataset
from .scoring import LINK_FRACTION, as_quad, convex_hull, intersection_area, polygon_area

SET = "omnidocbench_pages"
FURNITURE = {"header", "footer", "page_number"}
Prediction = list[tuple[str, tuple[tuple[float, float], ...]]]


@dataclass(frozen=True)
class OrderScore:
    labels: int
    matched: int
    concordant: int
    discordant: int
    tau: float  # Kendall's tau-b; 1.0 for fewer than two matched labels


def _area(box: Sequence[Sequence[float]] | Sequence[float]) -> float:
    return polygon_area(convex_hull(as_quad(box)))


def match(labels: Sequence[Sequence[float]], predictions: Sequence[Sequence[Sequence[float]]]):
    """For each label box, the index of the predicted box that overlaps it most (intersection
    over the smaller area, above LINK_FRACTION), or None."""
    pred_areas = [_area(p) for p in predictions]
    out: list[int | None] = []
    for label in labels:
        la = _area(label)
        best, best_share = None, LINK_FRACTION
        for j, (pred, pa) in enumerate(zip(predictions, pred_areas, strict=True)):
            smaller = min(la, pa)
            if smaller <= 0:
                continue
            share = intersection_area(label, pred) / smaller
            if share > best_share:
                best, best_share = j, share
        out.append(best)
    return out


def kendall(ranks: Sequence[int]) -> tuple[int, int, float]:
    """(concordant, discordant, tau-b) of ``ranks`` against 0, 1, 2, ... (ties only in
    ``ranks``)."""
    n = len(ranks)
    conc = disc = ties = 0
    for i in range(n):
        for j in range(i + 1, n):
            if ranks[j] > ranks[i]:
                conc += 1
            elif ranks[j] < ranks[i]:
                disc += 1
            else:
                ties += 1
    pairs = n * (n - 1) // 2
    if pairs == 0 or pairs == ties:
        return conc, disc, 1.0
    tau = (conc - disc) / ((pairs * (pairs - ties)) ** 0.5)
    return conc, disc, tau


def score_order(
    item: PageItem, prediction: Prediction, keep: Sequence[bool] | None = None
) -> OrderScore:
    """The order score of one page over its label lines (those with ``keep[i]``, or all)."""
    assert item.boxes is not None
    labels = [b for i, b in enumerate(item.boxes) if keep is None or keep[i]]
    matched = match(labels, [box for _, box in prediction])
    ranks = [m for m in matched if m is not None]
    conc, disc, tau = kendall(ranks)
    return OrderScore(len(labels), len(ranks), conc, disc, tau)


def body_lines(data_dir: Path) -> dict[str, list[bool]]:
    """For each image name, which label lines are body (not page furniture)."""
    out = {}
    for raw in (data_dir / SET / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if raw.strip():
            r = json.loads(raw)
            types = r.get("block_types") or ["text_block"] * len(r["lines"])
            out[Path(r["image"]).name] = [t not in FURNITURE for t in types]
    return out


def _cpuocr_readers() -> tuple[Callable[[Path], Prediction], Callable[[Path], Prediction]]:
    from cpuocr import OCR
    from cpuocr._documents.layout import analyze

    engine = OCR()
    engine.warm_up()
    cache: dict[Path, object] = {}

    def result(path: Path):  # type: ignore[no-untyped-def]
        if path not in cache:
            cache.clear()
            cache[path] = engine(path)
        return cache[path]

    def engine_order(path: Path) -> Prediction:
        return [(ln.text, ln.box) for ln in result(path).lines]  # type: ignore[attr-defined]

    def layout_order(path: Path) -> Prediction:
        r = result(path)
        ordered, _ = analyze(r.lines, r.width, r.height)  # type: ignore[attr-defined]
        return [(ln.text, ln.box) for ln in ordered]

    return engine_order, layout_order


def _rapidocr_readers() -> tuple[Callable[[Path], Prediction], Callable[[Path], Prediction]]:
    from PIL import Image

    from cpuocr._documents.layout import analyze
    from cpuocr._types import Line

    from .peers import RapidOcrReader

    reader = RapidOcrReader("")
    cache: dict[Path, Prediction] = {}

    def own_order(path: Path) -> Prediction:
        if path not in cache:
            cache.clear()
            cache[path] = list(reader.read_page(path))  # type: ignore[arg-type]
        return cache[path]

    def layout_order(path: Path) -> Prediction:
        lines = [Line(t, 1.0, box) for t, box in own_order(path)]  # type: ignore[arg-type]
        with Image.open(path) as img:
            w, h = img.size
        ordered, _ = analyze(lines, w, h)
        return [(ln.text, ln.box) for ln in ordered]

    return own_order, layout_order


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reading_order")
    parser.add_argument("--include-noisy", action="store_true", help="score odb_11 too")
    parser.add_argument("--json", type=Path, help="write the per-page scores here")
    args = parser.parse_args(argv)
    data_dir = find_data_dir()
    if data_dir is None or not (data_dir / SET / "labels.jsonl").is_file():
        print(f"no {SET} under ../shared/data (or $CPUOCR_DATA_DIR)", file=sys.stderr)
        return 2
    items = [it for it in load_dataset(SET, data_dir, args.include_noisy).items]
    pages = [it for it in items if isinstance(it, PageItem) and it.boxes]

    systems: dict[str, Callable[[Path], Prediction]] = {}
    cpu_engine, cpu_layout = _cpuocr_readers()
    systems["cpuocr (engine order)"] = cpu_engine
    systems["cpuocr + layout"] = cpu_layout
    try:
        rapid, rapid_layout = _rapidocr_readers()
    except ImportError as exc:
        print(f"RapidOCR not available ({exc}); run with .venv-bench/bin/python", file=sys.stderr)
    else:
        systems["RapidOCR (its order)"] = rapid
        systems["RapidOCR lines + cpuocr layout"] = rapid_layout

    body = body_lines(data_dir)
    scores: dict[str, list[OrderScore]] = {name: [] for name in systems}
    body_scores: dict[str, list[OrderScore]] = {name: [] for name in systems}
    started = time.perf_counter()
    for page in pages:
        for name, read in systems.items():
            prediction = read(page.image)
            scores[name].append(score_order(page, prediction))
            body_scores[name].append(score_order(page, prediction, body.get(page.image.name)))
    elapsed = time.perf_counter() - started

    names = [p.image.name for p in pages]
    print(f"Reading order on {SET}: {len(pages)} pages ({', '.join(names)})")
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs; {elapsed:.0f} s")
    report: dict[str, object] = {}
    for title, table in (("all label lines", scores), ("body lines", body_scores)):
        print(f"\n{title}: Kendall's tau-b per page\n")
        columns = " | ".join(n.removesuffix(".jpg") for n in names)
        print(f"| system | mean tau-b | pairs in order | labels matched | {columns} |")
        print("|" + "---|" * (4 + len(names)))
        report[title] = part = {}
        for name, per_page in table.items():
            mean_tau = sum(s.tau for s in per_page) / len(per_page)
            conc = sum(s.concordant for s in per_page)
            disc = sum(s.discordant for s in per_page)
            pairs = conc / (conc + disc) if conc + disc else 1.0
            matched = sum(s.matched for s in per_page) / max(1, sum(s.labels for s in per_page))
            cells = " | ".join(f"{s.tau:.3f}" for s in per_page)
            print(f"| {name} | {mean_tau:.3f} | {pairs:.3f} | {matched:.1%} | {cells} |")
            part[name] = {
                "mean_tau": mean_tau,
                "pairs_in_order": pairs,
                "matched": matched,
                "pages": {n: s.__dict__ for n, s in zip(names, per_page, strict=True)},
            }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
