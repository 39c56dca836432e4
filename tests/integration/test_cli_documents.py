"""Documents from the command line: a PDF read page by page with page headers, page ranges,
--json per page, every --format to standard output or to -o (written whole or not at all), and
bad documents as exit 3 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest

from rendering import image_pdf, render_lines

CLI = [sys.executable, "-m", "cpuocr"]
PAGES = (["第一页 发票 12345"], ["Page two total 42.50"])


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "scan.pdf"
    path.write_bytes(image_pdf([render_lines(lines, size=40) for lines in PAGES]))
    return path


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, check=check)


def _squash(text: str) -> str:
    return "".join(text.split())


def test_a_pdf_prints_each_page_under_its_header(scan: Path) -> None:
    out = _run(str(scan)).stdout.splitlines()
    assert out[0] == f"==> {scan} page 1 <==" and _squash(out[1]) == _squash(PAGES[0][0])
    assert out[2] == f"==> {scan} page 2 <==" and _squash(out[3]) == _squash(PAGES[1][0])
    only = _run(str(scan), "--pages", "2").stdout.splitlines()
    assert only[0] == f"==> {scan} page 2 <==" and len(only) == 2


def test_json_answers_per_page(scan: Path) -> None:
    answer = json.loads(_run("--json", str(scan)).stdout)
    assert answer["page_count"] == 2 and answer["file"] == str(scan)
    assert [_squash("".join(p["text"])) for p in answer["pages"]] == [_squash(p[0]) for p in PAGES]


def test_formats_to_stdout_and_to_a_file(scan: Path, tmp_path: Path) -> None:
    txt = _run(str(scan), "--format", "txt").stdout
    assert all(_squash(p[0]) in _squash(txt) for p in PAGES)
    target = tmp_path / "searchable.pdf"
    _run(str(scan), "-o", str(target))  # the format from the extension
    assert len(pikepdf.open(target).pages) == 2
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert all(_squash(p[0]) in _squash(text) for p in PAGES)
    assert [p.name for p in tmp_path.iterdir()] == ["searchable.pdf"]  # no temporary left
    md = tmp_path / "out.md"
    _run(str(scan), "-o", str(md))
    assert "42.50" in md.read_text(encoding="utf-8")


def test_usage_and_bad_documents(scan: Path, tmp_path: Path) -> None:
    two = _run(str(scan), str(scan), "-o", str(tmp_path / "x.pdf"), check=False)
    assert two.returncode == 2 and "one input" in two.stderr
    unknown = _run(str(scan), "-o", str(tmp_path / "x.docx"), check=False)
    assert unknown.returncode == 2 and "--format" in unknown.stderr
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(scan) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="o", user="secret"))
    bad = _run(str(locked), check=False)
    assert bad.returncode == 3
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith(f"cpuocr: {locked}: ")
    assert "password" in bad.stderr
    beyond = _run(str(scan), "--pages", "9", check=False)
    assert beyond.returncode in (2, 3) and "Traceback" not in beyond.stderr
    assert not (tmp_path / "x.pdf").exists()
