"""`cpuocr batch --ray` on a real local Ray instance (2 CPUs, 2 actors): the same outputs as the
local run — TXT, Markdown and hOCR byte for byte, JSON equal but for each page's ``time_ms`` —
and the same manifest; a bad file fails only its own row there too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rendering import image_pdf, render_lines

pytest.importorskip("ray", reason='needs the ray extra: pip install "cpuocr[ray]"')

BATCH = [
    sys.executable,
    "-m",
    "cpuocr",
    "batch",
    "--progress",
    "never",
    "--format",
    "txt,json,md,hocr",
]


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "time_ms"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _rows(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    keep = ("status", "pages", "sha256", "options", "outputs")
    return {row["output"]: {k: row[k] for k in keep} for row in map(json.loads, lines)}


def test_ray_gives_what_the_local_run_gives(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    (inputs / "docs").mkdir(parents=True)
    for i, text in enumerate(["增值税发票 No.0042", "Invoice total 99.00", "收据 北京 2024"]):
        render_lines([text]).save(inputs / f"img{i}.png")
    pages = [["第一页 集群 Ray"], ["第二页 actors 2"], ["第三页 同样的结果"]]
    (inputs / "docs" / "long.pdf").write_bytes(
        image_pdf([render_lines(p, size=36, width=900) for p in pages])
    )
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")

    local = subprocess.run(
        [*BATCH, str(inputs), "--out", str(tmp_path / "local"), "--workers", "2"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    on_ray = subprocess.run(
        [*BATCH, str(inputs), "--out", str(tmp_path / "ray"), "--ray", "--actors", "2"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert local.returncode == 3 and on_ray.returncode == 3, on_ray.stderr
    assert "5 files: 4 read, 1 failed, 0 already done; 6 pages" in on_ray.stdout
    assert "broken.jpg: " in on_ray.stderr and "Traceback" not in on_ray.stderr

    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")
    names = sorted(
        str(p.relative_to(tmp_path / "local"))
        for p in (tmp_path / "local").rglob("*")
        if p.is_file() and p.name != "manifest.jsonl"
    )
    assert len(names) == 4 * 4
    for name in names:
        a, b = (tmp_path / "local" / name).read_bytes(), (tmp_path / "ray" / name).read_bytes()
        if name.endswith(".json"):
            assert _without_times(json.loads(a)) == _without_times(json.loads(b)), name
        else:
            assert a == b, name
    text = (tmp_path / "ray" / "docs" / "long.txt").read_text(encoding="utf-8")
    assert "".join(text.split()) == "第一页集群Ray第二页actors2第三页同样的结果"

    # A rerun on Ray skips what is done, as a local rerun does.
    again = subprocess.run(
        [*BATCH, str(inputs), "--out", str(tmp_path / "ray"), "--ray"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert "0 read, 0 failed, 5 already done" in again.stdout, again.stderr
