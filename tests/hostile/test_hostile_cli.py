"""A sample of the hostile corpus through the command line (it is slow to start, so one process
reads the whole sample): exit code 3, one line on stderr per bad file, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hostile_corpus as hc  # tests/hostile, on sys.path beside this file

EXIT_BAD_INPUT = 3
CLI = [sys.executable, "-m", "cpuocr"]


def _write(cases: list[hc.Case], folder: Path) -> dict[str, hc.Case]:
    paths = {}
    for i, case in enumerate(cases):
        path = folder / f"{i:04d}.img"
        path.write_bytes(case.data)
        paths[str(path)] = case
    return paths


def test_cli_sample_exit_3_one_line_per_bad_file_no_traceback(tmp_path: Path) -> None:
    cases = hc.sample(every=9)
    assert len(cases) >= 100
    paths = _write(cases, tmp_path)
    out = subprocess.run([*CLI, *paths], capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == EXIT_BAD_INPUT, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    failed = {}
    for line in out.stderr.splitlines():
        assert line.startswith("cpuocr: "), line
        path = line.removeprefix("cpuocr: ").split(": ", 1)[0]
        assert path in paths, line
        assert path not in failed, f"two lines for one file: {line}"
        failed[path] = line
    for path, case in paths.items():
        if case.expect == "ok":
            assert path not in failed, f"{case.name}: {failed[path]}"
        elif case.expect == "error":
            assert path in failed, f"{case.name} was not refused"


def test_cli_single_bad_files_exit_3_with_one_line(tmp_path: Path) -> None:
    by_name = {case.name: case for case in hc.corpus()}
    for name in ("bomb/png-30000x30000-real", "notimage/svg-script"):
        path = tmp_path / name.replace("/", "_")
        path.write_bytes(by_name[name].data)
        out = subprocess.run([*CLI, str(path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == EXIT_BAD_INPUT, out.stderr
        assert out.stdout == ""
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"cpuocr: {path}: "), out.stderr
