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


CLI = [sys.executable, "-m", "cpuocr"]
REST_KEYS = {"success", "text", "time_ms", "lines", "width", "height", "image_sha256", "cached"}


def test_json_is_the_rest_answer_plus_the_file_compact_unless_pretty(tmp_path: Path) -> None:
    import hashlib

    image = tmp_path / "a.png"
    render_lines(["同一个答案 schema 1"]).save(image)
    out = subprocess.run(
        [*CLI, "--json", str(image)], capture_output=True, text=True, timeout=300, check=True
    )
    assert len(out.stdout.splitlines()) == 1  # compact: one line
    answer = json.loads(out.stdout)
    assert set(answer) == REST_KEYS | {"file"}
    assert answer["image_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert answer["cached"] is False and answer["file"] == str(image)
    pretty = subprocess.run(
        [*CLI, "--json", "--pretty", str(image)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert len(pretty.stdout.splitlines()) > 10 and json.loads(pretty.stdout) == {
        **answer,
        "time_ms": json.loads(pretty.stdout)["time_ms"],
    }


def test_standard_input_is_read_with_a_dash(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    render_lines(["从标准输入读 stdin 7"]).save(image)
    out = subprocess.run(
        [*CLI, "-"], input=image.read_bytes(), capture_output=True, timeout=300, check=True
    )
    assert out.stdout.decode().splitlines() == ["从标准输入读 stdin 7"]
    bad = subprocess.run([*CLI, "-"], input=b"not an image", capture_output=True, timeout=300)
    assert bad.returncode == 3
    assert bad.stderr.decode().strip().startswith("cpuocr: <stdin>: ")
    twice = subprocess.run([*CLI, "-", "-"], input=b"", capture_output=True, timeout=300)
    assert twice.returncode == 2


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    images = []
    for i in range(4):
        images.append(tmp_path / f"{i}.png")
        render_lines([f"第{i}页 page {i}", "第二行 line"]).save(images[-1])
    proc = subprocess.Popen(
        [*CLI, *map(str, images)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # like `| head -1`: read one line, then close the pipe
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert first.decode().startswith("==> ")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and stderr == ""


def test_version_and_usage_name_the_commands() -> None:
    import cpuocr

    version = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"cpuocr {cpuocr.__version__}"
    usage = subprocess.run([*CLI], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2
    assert all(name in usage.stderr for name in ("serve", "models", "bench"))
    helped = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert all(f"cpuocr {name}" in helped.stdout for name in ("serve", "models", "bench"))
