from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rendering import render_lines


def test_cli_text_and_json(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.jpg"
    render_lines(["命令行 CLI 1"]).save(a)
    render_lines(["第二个文件 2"]).save(b, quality=95)
    cmd = [sys.executable, "-m", "cpuocr"]
    out = subprocess.run([*cmd, str(a)], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.splitlines() == ["命令行 CLI 1"]
    out = subprocess.run(
        [*cmd, "--json", str(a), str(b)], capture_output=True, text=True, timeout=300, check=True
    )
    payload = json.loads(out.stdout)
    assert [p["text"] for p in payload] == [["命令行 CLI 1"], ["第二个文件2"]]
    first = payload[0]
    assert first["success"] is True and first["width"] > 0 and first["height"] > 0
    assert set(first["lines"][0]) == {"text", "score", "box"}
    assert len(first["lines"][0]["box"]) == 4
    out = subprocess.run(
        [*cmd, "--no-det", str(a)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert out.stdout.strip().replace(" ", "") == "命令行CLI1"
