"""The results as Markdown: the machine, the systems, one table per kind of set; and the block
of BENCHMARKS.md (between the bench markers) they are written into."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"


def one_line(kind: str, s: Mapping[str, Any]) -> str:
    """One system's summary on one set, for the progress log."""
    if kind == "lines":
        acc = f"CER {_num(s['cer'], 2)}%  exact {_num(s['exact'], 1)}%"
    else:
        acc = f"F1 {_num(s['char_f1'], 2)}%  region CER {_num(s['region_cer'], 2)}%"
    return f"{acc}  median {_num(s['median_s'], 3)} s  failures {s['failures']}"


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
