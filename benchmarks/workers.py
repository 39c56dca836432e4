"""Each benchmarked system in a worker process of its own, and the line protocol to it.

Every system runs in its own worker process (the entry script with ``--worker SPEC``), so each
one's peak RSS is its own (``ru_maxrss`` of the worker, plus that of its largest child for
systems that run a program per image, such as Tesseract). The parent speaks a line-based JSON
protocol with the workers over stdin/stdout: the worker first answers ``{"ready": ...}`` with
its name, info and load time; then each request ``{"op": "line"|"page"|"stats", "path": ...}``
gets one answer, ``ok`` false with the error when the call failed. Each call is timed inside
its worker with ``time.perf_counter`` around the read call alone (file read and decode
included, process messaging excluded).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .readers import ReaderFactory, make_reader

# --- the worker side --------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024.0


def serve_worker(spec: str, factories: Mapping[str, ReaderFactory]) -> int:
    """Run one system behind the JSON line protocol on stdin/stdout until stdin closes."""
    # Libraries print and log; keep the real stdout for protocol messages only.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(message: Mapping[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False) + "\n")
        channel.flush()

    started = time.perf_counter()
    try:
        reader = make_reader(spec, factories)
        info = reader.info()
    except Exception as exc:  # reported to the parent, which stops the run
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    send(
        {"ready": True, "name": reader.name, "info": info, "load_s": time.perf_counter() - started}
    )
    for raw in sys.stdin:
        request = json.loads(raw)
        op, path = request.get("op"), Path(str(request.get("path", "")))
        if op == "stats":
            send({"ok": True, "peak_rss_mb": _peak_rss_mb()})
            continue
        begin = time.perf_counter()
        try:
            if op == "line":
                reply: dict[str, Any] = {"text": reader.read_line(path)}
            elif op == "page":
                reply = {
                    "lines": [
                        [t, [[float(x), float(y)] for x, y in box]]
                        for t, box in reader.read_page(path)
                    ]
                }
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as exc:  # counted as a failed call by the parent, never hidden
            send(
                {
                    "ok": False,
                    "s": time.perf_counter() - begin,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            continue
        reply.update(ok=True, s=time.perf_counter() - begin)
        send(reply)
    return 0


# --- the parent side --------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker died, timed out or could not start."""


class Worker:
    """One system in its own process."""

    def __init__(self, spec: str, command: Sequence[str], timeout_s: float) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
            "w+", prefix=f"bench-{spec.replace(':', '_')}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [*command, "--worker", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            encoding="utf-8",
        )
        try:
            hello = self._receive(timeout_s=max(timeout_s, 600.0))
            if not hello.get("ready"):
                raise WorkerError(f"{spec} did not start: {hello.get('error')}\n{self.log_tail()}")
        except (WorkerError, ValueError):
            self.process.kill()
            self.close()
            raise
        self.name = str(hello["name"])
        self.info: dict[str, str] = dict(hello["info"])
        self.load_s = float(hello["load_s"])
        self.dead: str | None = None

    def log_tail(self, chars: int = 2000) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return text[-chars:]

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - Popen was given PIPE
            raise WorkerError("worker has no stdout")
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        if not ready:
            self.process.kill()
            raise WorkerError(f"{self.spec}: no answer within {timeout_s:.0f} s")
        line = stdout.readline()
        if not line:
            code = self.process.wait()
            raise WorkerError(f"{self.spec} exited with {code}\n{self.log_tail()}")
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, op: str, path: Path | None = None) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        if self.dead is not None:
            raise WorkerError(self.dead)
        stdin = self.process.stdin
        if stdin is None:  # pragma: no cover - Popen was given PIPE
            raise WorkerError("worker has no stdin")
        try:
            stdin.write(json.dumps({"op": op, "path": str(path or "")}) + "\n")
            stdin.flush()
            return self._receive(self.timeout_s)
        except (WorkerError, BrokenPipeError) as exc:
            self.dead = str(exc)
            raise WorkerError(self.dead) from exc

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):  # the worker may be gone already
                    stream.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
