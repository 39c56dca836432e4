"""`cpuocr batch` on real files with the real engine: a folder mirrored into outputs and a
manifest, a bad file that fails only its own row, reruns that skip what is done, and a batch
killed (SIGKILL) or interrupted (Ctrl-C) that a rerun finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cpuocr._batch import BatchProgress, iter_batch

from rendering import image_pdf, render_lines

BATCH = [sys.executable, "-m", "cpuocr", "batch", "--progress", "never"]
N_STOPPED = 24  # inputs of the stopped batch: enough that it is stopped in the middle
PDF_PAGES = [["第一页 合同编号 2024-001"], ["第二页 付款条款 30 days"], ["第三页 签字盖章 Signed"]]


def squash(text: str) -> str:
    return "".join(text.split())


def _rows(out: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    rows = {}
    for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[row["output"]] = row
    return rows


def _batch(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BATCH, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub" / "deep").mkdir(parents=True)
    render_lines(["发票号码 INV-2024-001"]).save(root / "a.png")
    render_lines(["收款单位 北京公司"]).save(root / "b.jpg", quality=95)
    render_lines(["Total amount 128.50"]).save(root / "sub" / "deep" / "c.png")
    (root / "sub" / "contract.pdf").write_bytes(
        image_pdf([render_lines(p, size=36, width=1000) for p in PDF_PAGES])
    )
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    (root / "notes.txt").write_text("not an input of a folder walk")
    return root


def test_a_folder_is_read_mirrored_and_resumed(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _batch(str(corpus), "--out", str(out), "--format", "txt,json,md", "--workers", "2")
    assert run.returncode == 3, run.stderr  # one input failed
    assert "5 files: 4 read, 1 failed, 0 already done; 6 pages" in run.stdout
    assert f"{corpus / 'bad.png'}: " in run.stderr and "Traceback" not in run.stderr
    assert squash((out / "a.txt").read_text(encoding="utf-8")) == "发票号码INV-2024-001"
    assert squash((out / "b.txt").read_text(encoding="utf-8")) == "收款单位北京公司"
    assert squash((out / "sub/deep/c.txt").read_text(encoding="utf-8")) == "Totalamount128.50"
    document = json.loads((out / "sub/contract.json").read_text(encoding="utf-8"))
    texts = [squash(p["text"]) for p in document["pages"]]
    assert texts == ["第一页合同编号2024-001", "第二页付款条款30days", "第三页签字盖章Signed"]
    assert (out / "sub/contract.md").read_text(encoding="utf-8").count("第") >= 3
    assert not (out / "bad.txt").exists() and not (out / "notes.txt").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

    rows = _rows(out)
    assert set(rows) == {"a", "b", "bad", "sub/contract", "sub/deep/c"}
    assert rows["sub/contract"]["pages"] == 3 and rows["sub/contract"]["status"] == "ok"
    assert rows["a"]["outputs"] == ["a.txt", "a.json", "a.md"]
    assert rows["bad"]["status"] == "failed" and rows["bad"]["error"]["code"] == "invalid_image"
    assert rows["a"]["options"]["det"] is True and len(rows["a"]["sha256"]) == 64

    # The same command again: everything is done (the bad file fails the same way: skipped).
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    again = _batch(str(corpus), "--out", str(out), "--format", "txt,json,md", "--workers", "2")
    assert again.returncode == 3
    assert "0 read, 0 failed, 5 already done (1 of them failed); 0 pages" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")} == stamps

    # One input changes: only it is read again; an option that changes the answer redoes all.
    render_lines(["发票号码 INV-2024-002"]).save(corpus / "a.png")
    changed = _batch(str(corpus), "--out", str(out), "--format", "txt,json,md", "--workers", "1")
    assert "1 read, 0 failed, 4 already done" in changed.stdout
    assert squash((out / "a.txt").read_text(encoding="utf-8")) == "发票号码INV-2024-002"
    pages = _batch(str(corpus / "sub"), "--out", str(out / "p"), "--pages", "2", "--workers", "1")
    assert pages.returncode == 0, pages.stderr
    assert squash((out / "p/contract.txt").read_text(encoding="utf-8")) == "第二页付款条款30days"


def _many(root: Path, n: int) -> None:
    root.mkdir()
    for i in range(n):
        render_lines([f"第 {i} 张收据 Receipt {i:03d}"]).save(root / f"r{i:02d}.png")


def _wait_rows(out: Path, at_least: int, proc: subprocess.Popen[str], timeout: float) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        manifest = out / "manifest.jsonl"
        if manifest.exists():
            count = len(manifest.read_text(encoding="utf-8").splitlines())
            if count >= at_least:
                return count
        assert proc.poll() is None, "the batch ended before it could be stopped"
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows after {timeout} s")


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _alive(pids: list[int]) -> list[int]:
    """The processes still running (a zombie waiting for a reaper has ended)."""
    alive = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            alive.append(pid)
    return alive


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_stopped_batch_is_finished_by_a_rerun(tmp_path: Path, how: str) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    _many(inputs, N_STOPPED)
    proc = subprocess.Popen(
        [*BATCH, str(inputs), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        _wait_rows(out, 2, proc, timeout=300)
        workers = _children(proc.pid)
        assert len(workers) >= 2
        if how == "SIGKILL":  # the parent alone: its workers must notice and go
            os.kill(proc.pid, signal.SIGKILL)
        else:  # Ctrl-C in a terminal: the whole foreground group gets it
            os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if how == "SIGINT":
        assert proc.returncode == 130 and "Traceback" not in stderr
        assert "interrupted: run the same command again to resume" in stdout
    else:
        assert proc.returncode == -signal.SIGKILL
    done_before = {k for k, r in _rows(out).items() if r["status"] == "ok"}
    assert 2 <= len(done_before) < N_STOPPED
    for key in done_before:  # what the manifest says is done is whole
        json.loads((out / f"{key}.json").read_text(encoding="utf-8"))
    end = time.monotonic() + 10  # the workers see their parent gone within a second
    while _alive(workers) and time.monotonic() < end:
        time.sleep(0.2)
    assert not _alive(workers)

    again = _batch(str(inputs), "--out", str(out), "--workers", "2")
    assert again.returncode == 0, again.stderr
    skipped = len(done_before)
    summary = f"{N_STOPPED} files: {N_STOPPED - skipped} read, 0 failed, {skipped} already done"
    assert summary in again.stdout
    rows = _rows(out)
    assert len(rows) == N_STOPPED and all(r["status"] == "ok" for r in rows.values())
    for i in range(N_STOPPED):
        text = squash((out / f"r{i:02d}.txt").read_text(encoding="utf-8"))
        assert text == f"第{i}张收据Receipt{i:03d}"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_the_library_yields_rows_and_progress(corpus: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int, bool]] = []

    def on_progress(p: BatchProgress) -> None:
        seen.append((p.pages_done, p.pages_total, p.planning))

    rows = list(
        iter_batch(
            [corpus / "sub"], tmp_path / "out", formats=["json"], workers=1, on_progress=on_progress
        )
    )
    assert [r["output"] for r in rows] == ["contract", "deep/c"]
    assert [r["pages"] for r in rows] == [3, 1]
    done = [s[0] for s in seen]
    assert done == sorted(done) and seen[-1][:2] == (4, 4) and not seen[-1][2]
    assert seen[0][2]  # planning is reported first


def test_the_plain_command_reads_a_folder(corpus: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cpuocr", str(corpus / "sub")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    heads = [line for line in run.stdout.splitlines() if line.startswith("==> ")]
    assert heads == [f"==> {corpus / 'sub' / 'contract.pdf'} page {n} <==" for n in (1, 2, 3)] + [
        f"==> {corpus / 'sub' / 'deep' / 'c.png'} <=="
    ]
    (tmp_path / "empty").mkdir()
    empty = subprocess.run(
        [sys.executable, "-m", "cpuocr", str(tmp_path / "empty")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert empty.returncode == 2 and "no images or documents" in empty.stderr


def test_a_worker_that_dies_is_replaced_and_its_pages_read_again(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    _many(inputs, N_STOPPED)
    proc = subprocess.Popen(
        [*BATCH, str(inputs), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_rows(out, 2, proc, timeout=300)
        workers = [
            pid
            for pid in _children(proc.pid)
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        ]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # as the kernel's OOM killer would
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert f"{N_STOPPED} files: {N_STOPPED} read, 0 failed" in stdout
    assert "worker process died" in stderr and "Traceback" not in stderr
    rows = _rows(out)
    assert len(rows) == N_STOPPED and all(r["status"] == "ok" for r in rows.values())
