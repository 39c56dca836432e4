"""The benchmark as pictures (issue 16, "Show it"), drawn with matplotlib into PNGs that
BENCHMARKS.md embeds:

- ``latency_accuracy.png``: from ``benchmarks/results.json`` (``benchmarks/run.py``'s output),
  one panel per set: every system's median seconds per image (x, log scale) against the set's
  error measure (y, lower is better: CER % for line crops, region CER % for whole images with
  boxes, 100 − char F1 % for a set without boxes). Lower left is better.
- ``stages.png``: from ``benchmarks/stage_profile.json`` (``benchmarks/stage_profile.py``'s
  output), cpuocr's mean milliseconds per stage on each whole-image set as stacked horizontal
  bars, in milliseconds and as a share of the total. Skipped, with a message, when that file is
  absent.

    .venv/bin/python benchmarks/charts.py        # redraws benchmarks/charts/*.png
    .venv/bin/python benchmarks/charts.py --results /tmp/bench.json --out /tmp/charts

Nothing is measured here: the charts show the documents as they are (each names its machine and
date), so redraw them after a new benchmark run or profile.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: this folder's module names must not shadow others
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
STAGE_PROFILE = HERE / "stage_profile.json"
OUT_DIR = HERE / "charts"
LATENCY_ACCURACY_PNG = "latency_accuracy.png"
STAGES_PNG = "stages.png"

#: One colour and marker per system, in the order the results name the systems.
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")
#: Stage colours (the engine's stages in pipeline order; others get the rest in turn).
STAGE_COLORS = {
    "load": "#9e9e9e",
    "preprocess": "#c5b0d5",
    "detect": "#1f77b4",
    "orient": "#ffbb78",
    "recognise": "#d62728",
    "assemble": "#2ca02c",
    "trim": "#bcbd22",
}
EXTRA_STAGE_COLORS = ("#17becf", "#8c564b", "#e377c2", "#7f7f7f")
#: PNG metadata: no software version, so a redraw of the same numbers gives the same bytes.
PNG_METADATA: dict[str, str | None] = {"Software": None}


@dataclass(frozen=True)
class Point:
    """One system on one set, as drawn."""

    system: str
    seconds: float
    error: float
    failures: int


def error_measure(set_doc: Mapping[str, Any]) -> tuple[str, str]:
    """The set's error measure (lower is better): its axis label and how it is computed —
    ``"cer"`` (line crops), ``"region_cer"`` (whole images whose labels have boxes) or
    ``"f1_gap"`` (100 − char F1, whole images without boxes). BENCHMARKS.md's "region CER, the
    main figure where labels have boxes" (shared/data README) decides between the last two."""
    if set_doc.get("kind") == "lines":
        return "CER %", "cer"
    results = set_doc.get("results", {}).values()
    if any(r.get("region_cer") is not None for r in results):
        return "region CER %", "region_cer"
    return "100 − char F1 %", "f1_gap"


def _error(result: Mapping[str, Any], how: str) -> float | None:
    if how == "f1_gap":
        f1 = result.get("char_f1")
        return None if f1 is None else 100.0 - float(f1)
    value = result.get(how)
    return None if value is None else float(value)


def set_points(set_doc: Mapping[str, Any]) -> tuple[list[Point], list[str]]:
    """The systems that can be drawn on a set, and a note for each that cannot (no timed call,
    or no accuracy figure)."""
    _, how = error_measure(set_doc)
    points: list[Point] = []
    skipped: list[str] = []
    for system, result in set_doc.get("results", {}).items():
        seconds = result.get("median_s")
        error = _error(result, how)
        failures = int(result.get("failures") or 0)
        if seconds is None or error is None or not math.isfinite(float(seconds)):
            why = f"{failures} failed" if failures else "no figures"
            skipped.append(f"{system} ({why})")
            continue
        points.append(Point(system, max(float(seconds), 1e-6), error, failures))
    return points, skipped


def _systems(doc: Mapping[str, Any]) -> list[str]:
    names = list(doc.get("systems", {}))
    for set_doc in doc.get("sets", {}).values():
        names += [s for s in set_doc.get("results", {}) if s not in names]
    return names


def _fill(color: str) -> tuple[float, float, float, float]:
    """A marker's face: its colour, half transparent (a marker under another still shows)."""
    rgb = tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return (rgb[0], rgb[1], rgb[2], 0.45)


def _seconds_label(value: float, _pos: object = None) -> str:
    if value >= 1:
        return f"{value:g}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if value >= 0.001 else f"{value:.0e}"


def _caption_date(started: str) -> str:
    return started.replace("T", " ").replace("+00:00", " UTC") if started else "date unknown"


def machine_caption(doc: Mapping[str, Any]) -> str:
    """ "<cpu>, N cores (M usable), <date>": the machine and when, as results.json names them."""
    m = doc.get("machine", {})
    cores = f"{m.get('cores', '?')} cores"
    if m.get("usable_cores") not in (None, m.get("cores")):
        cores += f" ({m['usable_cores']} usable)"
    return f"{m.get('cpu', 'unknown CPU')}, {cores}, {_caption_date(str(doc.get('started', '')))}"


def draw_latency_accuracy(doc: Mapping[str, Any], path: Path) -> Path:
    """One panel per set of ``doc`` (a results document): each system's median seconds per
    image against the set's error measure. Returns ``path``, the PNG written."""
    sets = doc.get("sets", {})
    if not sets:
        raise ValueError("the results have no sets to draw")
    systems = _systems(doc)
    style = {s: (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]) for i, s in enumerate(systems)}

    n = len(sets)
    ncols = 4 if n > 6 else min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(max(4.2 * ncols, 9.0), 3.3 * nrows + 1.6), dpi=110, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.08, h_pad=0.12, wspace=0.04, hspace=0.06)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (name, set_doc) in zip(axes.flat, sets.items(), strict=False):
        _panel(ax, name, set_doc, style)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)

    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=style[s][1],
            markersize=10,
            markerfacecolor=_fill(style[s][0]),
            markeredgecolor=style[s][0],
            markeredgewidth=1.6,
            label=s,
        )
        for s in systems
    ]
    fig.legend(
        handles=handles,
        loc="outside upper center",
        ncol=min(len(handles), 6),
        frameon=False,
        fontsize=11.5,
        handletextpad=0.3,
        columnspacing=2.0,
        title="Latency vs accuracy per set: lower left is better",
        title_fontsize=15,
    )
    part = doc.get("part", "all")
    limit = doc.get("limit")
    items = f"items: {part}" + (f", at most {limit} per set" if limit else "")
    fig.supxlabel(
        f"{machine_caption(doc)}; one run, {items}.\n"
        "x: median seconds per image (log scale). y: errors, lower is better: CER (line crops), "
        "region CER (whole images with boxes), 100 − char F1 (whole images without boxes).",
        fontsize=10,
        color="#444444",
    )
    return _save(fig, path)


def _panel(
    ax: Axes, name: str, set_doc: Mapping[str, Any], style: Mapping[str, tuple[str, str]]
) -> None:
    label, _ = error_measure(set_doc)
    points, skipped = set_points(set_doc)
    kind = "line crops" if set_doc.get("kind") == "lines" else "whole images"
    ax.set_title(f"{name}\n{set_doc.get('images', '?')} {kind}", fontsize=10.5, pad=4)
    ax.set_ylabel(label, fontsize=10)
    ax.set_xlabel("median s / image", fontsize=9.5)
    ax.tick_params(labelsize=9)
    ax.grid(True, which="major", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(_seconds_label))
    ax.xaxis.set_minor_formatter(NullFormatter())
    for p in points:
        color, marker = style[p.system]
        ax.scatter(
            [p.seconds],
            [p.error],
            s=80,
            marker=marker,
            color=_fill(color),
            edgecolors=color,
            linewidths=1.6,
            zorder=3,
        )
        if p.failures:
            ax.annotate(
                f"{p.failures} failed",
                (p.seconds, p.error),
                xytext=(6, 4),
                textcoords="offset points",
                fontsize=8,
                color=color,
            )
    if points:
        lo = min(p.seconds for p in points)
        hi = max(p.seconds for p in points)
        ax.set_xlim(lo / 1.7, hi * 1.7)
        headroom = 1.3 if skipped else 1.18  # the note of the systems not drawn sits on top
        top = max(max(p.error for p in points) * headroom, 1.0)
        ax.set_ylim(-0.05 * top, top)
    else:
        ax.set_xlim(0.01, 1.0)
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.55, "no system has figures", ha="center", transform=ax.transAxes)
    if skipped:
        ax.text(
            0.02,
            0.97,
            "not drawn: " + ", ".join(skipped),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8,
            color="#b00000",
            wrap=True,
        )


StageRow = tuple[str, str, dict[str, float]]


def stage_rows(profile: Mapping[str, Any]) -> tuple[list[str], list[StageRow]]:
    """The stages (in the engine's order, as first met) and one ``(set, label, mean ms per
    stage)`` row per set and preset, sets in the profile's order, presets within each set."""
    presets = profile.get("presets", {})
    stages: list[str] = []
    set_names: list[str] = []
    for preset in presets.values():
        for set_name, entry in preset.get("sets", {}).items():
            if set_name not in set_names:
                set_names.append(set_name)
            stages += [s for s in entry.get("stages_ms", {}) if s not in stages]
    several = len(presets) > 1
    rows = []
    for set_name in set_names:
        for preset_name, preset in presets.items():
            entry = preset.get("sets", {}).get(set_name)
            if entry is None:
                continue
            label = f"{set_name} · {preset_name}" if several else set_name
            ms = {k: float(v) for k, v in entry.get("stages_ms", {}).items()}
            rows.append((set_name, label, ms))
    return stages, rows


def draw_stages(profile: Mapping[str, Any], path: Path) -> Path:
    """cpuocr's mean ms per stage per set (and preset), stacked horizontal bars: milliseconds on
    the left, share of the total on the right. Returns ``path``, the PNG written."""
    stages, rows = stage_rows(profile)
    if not rows:
        raise ValueError("the stage profile has no sets to draw")
    colors = {}
    extra = iter(EXTRA_STAGE_COLORS * (1 + len(stages)))
    for stage in stages:
        colors[stage] = STAGE_COLORS.get(stage) or next(extra)

    # First row at the top; a gap between sets when each has several presets.
    ys: list[float] = []
    y = 0.0
    for i, (set_name, _, _) in enumerate(rows):
        if i and set_name != rows[i - 1][0]:
            y -= 0.45 if len(rows) > len({r[0] for r in rows}) else 0.0
        ys.append(y)
        y -= 1.0
    height = 0.42 * (ys[0] - ys[-1] + 1) + 2.1
    fig = Figure(figsize=(13, height), dpi=110)
    ax_ms, ax_share = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    for y, (_, _, ms) in zip(ys, rows, strict=True):
        total = sum(ms.values())
        left = 0.0
        left_share = 0.0
        for stage in stages:
            value = ms.get(stage, 0.0)
            ax_ms.barh(y, value, left=left, color=colors[stage], height=0.7)
            share = 100.0 * value / total if total > 0 else 0.0
            ax_share.barh(y, share, left=left_share, color=colors[stage], height=0.7)
            if share >= 9:
                ax_share.text(
                    left_share + share / 2, y, f"{share:.0f}", ha="center", va="center", fontsize=8
                )
            left += value
            left_share += share
        ax_ms.text(left, y, f" {total:,.0f} ms", va="center", ha="left", fontsize=9)
    ax_ms.set_yticks(ys, [label for _, label, _ in rows], fontsize=10)
    ax_ms.set_ylim(ys[-1] - 0.6, ys[0] + 0.6)
    longest = max(sum(ms.values()) for _, _, ms in rows)
    ax_ms.set_xlim(0, longest * 1.2 if longest > 0 else 1)
    ax_ms.set_xlabel("mean ms per image", fontsize=10)
    ax_share.set_xlim(0, 100)
    ax_share.set_xlabel("share of the image's time, %", fontsize=10)
    for ax in (ax_ms, ax_share):
        ax.tick_params(axis="x", labelsize=9)
        ax.grid(True, axis="x", color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)

    handles = [Line2D([], [], linewidth=8, color=colors[s], label=s) for s in stages]
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.42 / height),
        ncol=len(handles),
        frameon=False,
        fontsize=10,
    )
    fig.suptitle(
        "cpuocr per-stage time per whole-image set (OCRResult.timings_ms)",
        fontsize=13,
        y=1 - 0.08 / height,
    )
    fig.text(0.5, 0.1 / height, _stages_caption(profile), ha="center", fontsize=9, color="#444444")
    fig.subplots_adjust(
        left=0.2, right=0.98, top=1 - 0.8 / height, bottom=1.0 / height, wspace=0.06
    )
    return _save(fig, path)


def _stages_caption(profile: Mapping[str, Any]) -> str:
    threads = {p.get("threads") for p in profile.get("presets", {}).values()} - {None}
    images = {
        int(e.get("images", 0))
        for p in profile.get("presets", {}).values()
        for e in p.get("sets", {}).values()
    }
    per_set = (
        f"{images.pop()} images per set" if len(images) == 1 else "images per set as in the JSON"
    )
    rounds = profile.get("rounds", 1)
    how = f"mean over the first {per_set}" + (f", {rounds} rounds" if rounds != 1 else "")
    text = f"{machine_caption(profile)}; {how}, after one warm-up read"
    if threads:
        text += "; " + "; ".join(sorted(str(t) for t in threads))
    return text + "."


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    return path


def _load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a JSON object")
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--results", type=Path, default=RESULTS, help="benchmark results JSON")
    parser.add_argument(
        "--stages", type=Path, default=STAGE_PROFILE, help="stage profile JSON (skipped if absent)"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the PNGs")
    args = parser.parse_args(argv)

    if not args.results.is_file():
        print(f"{args.results} not found: run the benchmark first (BENCHMARKS.md)", file=sys.stderr)
        return 2
    written = [draw_latency_accuracy(_load(args.results), args.out / LATENCY_ACCURACY_PNG)]
    if args.stages.is_file():
        written.append(draw_stages(_load(args.stages), args.out / STAGES_PNG))
    else:
        print(
            f"{args.stages} not found: no stage chart (run benchmarks/stage_profile.py on an "
            "idle machine first)",
            file=sys.stderr,
        )
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
