"""Inference runs nicer than the event loop, so a busy server still answers and refuses quickly."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import httpx

from cpuocr._serving.inference import INFERENCE_NICE, lower_priority


def _nice_of_threads(pid: int) -> dict[int, int]:
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = int(fields[16])  # field 19 of stat: nice
    return out


def test_lower_priority_affects_only_the_calling_thread() -> None:
    seen: dict[str, int] = {}

    def worker() -> None:
        lower_priority(3)
        tid = threading.get_native_id()
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, tid)

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["worker"] == min(19, before + 3)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_server_inference_threads_are_nicer_than_its_event_loop(
    server: Any, client: httpx.Client, receipt: bytes
) -> None:
    response = client.post("/ocr", files={"image": ("r.png", receipt, "image/png")})
    assert response.status_code == 200
    pid = server.process.pid
    nice = _nice_of_threads(pid)
    loop_nice = nice[pid]  # the main thread runs the event loop
    nicer = [tid for tid, value in nice.items() if value >= loop_nice + INFERENCE_NICE]
    # the slot thread plus the runtime's own worker threads
    assert len(nicer) >= 2, nice
    assert loop_nice == min(nice.values()), nice
