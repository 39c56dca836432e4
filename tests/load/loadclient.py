"""The load / soak client of the load, fault and hostile tests, and of ``scripts/loadtest.py``.

N concurrent clients (asyncio + httpx, one connection each) POST small images to ``/ocr`` until
``max_requests`` answers or ``duration_s`` seconds, whichever comes first, so a run always stops
by itself (:func:`run_load`). Each request changes one pixel of a rendered text picture, so no
two bodies are equal and the result cache never answers. The :class:`Report` has throughput,
latency percentiles (p50/p95/p99) of the 200s, the server-side answer time of the 503s (from the
``Server-Timing`` header), status counts, and samples of the server's resident memory (VmRSS) and
open file descriptors, read from ``/proc/PID`` (:class:`ProcSampler`). With ``probe_requests`` a
separate light client process (this file, run with ``--probe-child``) also sends requests, one at
a time on a fresh connection, and reports the times it saw: on a small machine the load client's
own CPU use (16 busy clients in one Python process) inflates the times its clients see, the
probe's are what one more user of the overloaded service would see.

tests/conftest.py loads this file as module ``cpuocr_loadtest`` (``run_load``, ``ProcSampler``,
``open_fds``, ``wait_for_workers``); ``scripts/loadtest.py`` is its command line.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
WORDS = ("发票", "合计", "金额", "日期", "编号", "Total", "OCR", "Invoice", "No.", "价格")


# -- images ------------------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


class ImageSource:
    """Varied small pictures: ``tiny`` (about 200×60, two short lines, for det=true), ``line``
    (one text line about 200×32, for det=false) or ``page`` (a 480×200 block of six lines);
    :meth:`next` returns new PNG bytes each call (one pixel differs). Or real files
    (:meth:`from_dir`)."""

    KINDS = ("tiny", "line", "page", "files")

    def __init__(
        self, kind: str = "tiny", *, variants: int = 24, seed: int = 7, files: Sequence[bytes] = ()
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown image kind {kind!r}; valid: {', '.join(self.KINDS)}")
        rng = random.Random(seed)
        self.kind = kind
        self._files = list(files)
        self._bases = [] if self._files else [self._render(rng) for _ in range(variants)]
        self._count = 0
        self._lock = threading.Lock()

    def _render(self, rng: random.Random) -> Image.Image:
        def text() -> str:
            return f"{rng.choice(WORDS)} {rng.randint(10, 99999)}"

        if self.kind == "line":
            image = Image.new("RGB", (200, 32), "white")
            ImageDraw.Draw(image).text((6, 4), text(), font=_font(20), fill="black")
        elif self.kind == "tiny":
            image = Image.new("RGB", (200, 60), "white")
            draw = ImageDraw.Draw(image)
            draw.text((6, 4), text(), font=_font(20), fill="black")
            draw.text((6, 32), text(), font=_font(20), fill="black")
        else:
            image = Image.new("RGB", (480, 200), "white")
            draw = ImageDraw.Draw(image)
            for row in range(6):
                draw.text((10, 8 + row * 31), f"{text()}  {text()}", font=_font(22), fill="black")
        return image

    @classmethod
    def from_dir(cls, folder: Path) -> ImageSource:
        """Real image files (``*.jpg``, ``*.png``) of a folder, in name order; each request sends
        one with a counter appended after its end (decoders ignore trailing bytes), so the bytes,
        and hence the cache key, change every time."""
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        if not files:
            raise ValueError(f"no .jpg or .png files in {folder}")
        return cls("files", files=[p.read_bytes() for p in files])

    def next(self) -> bytes:
        with self._lock:
            n = self._count
            self._count += 1
        if self._files:
            return self._files[n % len(self._files)] + b"cpuocr-load-%d" % n
        base = self._bases[n % len(self._bases)]
        image = base.copy()
        # The call's number in base 50, as light-gray pixels in the bottom-right corner: invisible
        # to OCR, and no two calls send the same bytes (for the first 50**4 = 6.25 million).
        for digit in range(4):
            shade = 200 + (n // 50**digit) % 50
            image.putpixel((base.width - 1 - digit, base.height - 1), (shade, 200, 200))
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=1)
        return out.getvalue()


# -- /proc sampling ----------------------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    """Resident memory of ``pid`` in KiB (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def open_fds(pid: int) -> list[str]:
    """Targets of the open file descriptors of ``pid`` (sockets as ``socket:[inode]``)."""
    base = Path(f"/proc/{pid}/fd")
    out = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            out.append(os.readlink(entry))
        except OSError:  # closed between listing and reading
            continue
    return out


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (e.g. uvicorn's worker processes)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


@dataclass
class Sample:
    t: float  # seconds since the run started
    rss_kb: int
    fds: int
    requests_done: int


class ProcSampler:
    """Samples ``rss_kb`` and the fd count of one process every ``interval`` seconds in a
    background thread (and once more on :meth:`stop`)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self.done_counter = lambda: 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="proc-sampler", daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> ProcSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def sample(self) -> None:
        rss = rss_kb(self.pid)
        if rss is not None:
            fds = len(open_fds(self.pid))
            self.samples.append(Sample(time.monotonic() - self._t0, rss, fds, self.done_counter()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
        return self.samples

    @property
    def peak_rss_kb(self) -> int:
        return max((s.rss_kb for s in self.samples), default=0)


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    started: float  # seconds since the run started
    latency_s: float
    status: str  # "200", "503", ..., or the transport error's class name, or "timeout"
    server_s: float | None = None  # from Server-Timing, when the server sent it
    retry_after: str | None = None
    ok_body: bool = True  # for a 200: the JSON said success


@dataclass
class Report:
    concurrency: int
    wall_s: float
    outcomes: list[Outcome]
    samples: list[Sample] = field(default_factory=list)
    warmup_requests: int = 0
    t0: float = 0.0  # time.perf_counter() when the run started; Outcome.started counts from it

    probe: list[tuple[str, float]] = field(default_factory=list)  # (status, seconds)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def probe_latencies(self, status: str) -> list[float]:
        return sorted(seconds for got, seconds in self.probe if got == status)

    def latencies(self, status: str = "200") -> list[float]:
        return sorted(o.latency_s for o in self.outcomes if o.status == status)

    def server_times(self, status: str = "503") -> list[float]:
        return sorted(
            o.server_s for o in self.outcomes if o.status == status and o.server_s is not None
        )

    @property
    def throughput(self) -> float:
        return self.statuses["200"] / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def server_errors(self) -> int:
        """5xx other than 503 (which is the designed answer to overload)."""
        return sum(n for s, n in self.statuses.items() if s.startswith("5") and s != "503")

    @property
    def hangs(self) -> int:
        return self.statuses["timeout"]

    def memory_after_warmup(self) -> tuple[Sample | None, Sample | None]:
        """(first sample after the warm-up requests, last sample)."""
        after = [s for s in self.samples if s.requests_done >= self.warmup_requests]
        if not after:
            return None, None
        return after[0], self.samples[-1]

    def rss_drift(self) -> float | None:
        first, last = self.memory_after_warmup()
        if first is None or last is None:
            return None
        return (last.rss_kb - first.rss_kb) / first.rss_kb

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "concurrency": self.concurrency,
            "requests": len(self.outcomes),
            "wall_s": round(self.wall_s, 2),
            "throughput_per_s": round(self.throughput, 2),
            "statuses": dict(sorted(self.statuses.items())),
            "bad_200_bodies": sum(1 for o in self.outcomes if o.status == "200" and not o.ok_body),
        }
        ok = self.latencies("200")
        if ok:
            out["latency_200_ms"] = _percentiles(ok)
        rejected = self.latencies("503")
        if rejected:
            out["latency_503_client_ms"] = _percentiles(rejected)
        server = self.server_times("503")
        if server:
            out["latency_503_server_ms"] = _percentiles(server)
        for status in sorted({got for got, _ in self.probe}):
            out[f"probe_{status}_ms"] = _percentiles(self.probe_latencies(status))
        if self.samples:
            first, last = self.samples[0], self.samples[-1]
            warm, _ = self.memory_after_warmup()
            out["memory"] = {
                "rss_mb_start": round(first.rss_kb / 1024, 1),
                "rss_mb_after_warmup": round(warm.rss_kb / 1024, 1) if warm else None,
                "rss_mb_end": round(last.rss_kb / 1024, 1),
                "rss_mb_peak": round(max(s.rss_kb for s in self.samples) / 1024, 1),
                "rss_drift_after_warmup_pct": (
                    round(100 * d, 2) if (d := self.rss_drift()) is not None else None
                ),
                "fds_start": first.fds,
                "fds_after_warmup": warm.fds if warm else None,
                "fds_end": last.fds,
                "fds_max": max(s.fds for s in self.samples),
                "samples": len(self.samples),
            }
        return out


def wait_for_workers(pid: int, count: int, timeout: float = 180.0) -> list[int]:
    """The worker processes of a ``--workers N`` server: its children that loaded the models
    (over 150 MB resident), once ``count`` of them have."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loaded = [c for c in children(pid) if (rss_kb(c) or 0) > 150_000]
        if len(loaded) >= count:
            return loaded
        time.sleep(0.5)
    raise AssertionError(f"{count} workers never came up: {children(pid)}")


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    def pct(p: float) -> float:
        return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]

    return {
        "p50": round(pct(50) * 1e3, 1),
        "p95": round(pct(95) * 1e3, 1),
        "p99": round(pct(99) * 1e3, 1),
        "max": round(values[-1] * 1e3, 1),
        "mean": round(statistics.fmean(values) * 1e3, 1),
        "n": len(values),
    }


def server_timing_s(header: str | None) -> float | None:
    """The ``dur`` (ms) of a ``Server-Timing: app;dur=1.23`` header, in seconds."""
    if not header:
        return None
    for metric in header.split(","):
        for param in metric.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name == "dur":
                try:
                    return float(value) / 1e3
                except ValueError:
                    return None
    return None


async def _client(
    url: str,
    images: ImageSource,
    *,
    det: bool,
    stop_at: float,
    budget: list[int],
    outcomes: list[Outcome],
    t0: float,
    timeout_s: float,
    headers: dict[str, str],
    honour_retry_after: bool,
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            body = images.next()
            started = time.perf_counter()
            outcome = Outcome(started - t0, 0.0, "")
            try:
                response = await client.post(
                    "/ocr",
                    files={"image": ("load.png", body, "image/png")},
                    data={"det": "true" if det else "false"},
                    headers=headers,
                )
                outcome.status = str(response.status_code)
                outcome.server_s = server_timing_s(response.headers.get("server-timing"))
                outcome.retry_after = response.headers.get("retry-after")
                if response.status_code == 200:
                    outcome.ok_body = response.json().get("success") is True
            except httpx.TimeoutException:
                outcome.status = "timeout"
            except httpx.TransportError as exc:
                outcome.status = type(exc).__name__
            outcome.latency_s = time.perf_counter() - started
            outcomes.append(outcome)
            if outcome.status == "503" and honour_retry_after:
                await asyncio.sleep(
                    min(float(outcome.retry_after or 1), stop_at - time.monotonic())
                )
            elif not outcome.status.isdigit():
                await asyncio.sleep(0.05)  # the server is gone or restarting: do not spin


async def _run(
    url: str,
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    images: ImageSource,
    det: bool,
    timeout_s: float,
    api_key: str | None,
    honour_retry_after: bool,
    t0: float,
    outcomes: list[Outcome],
) -> None:
    stop_at = time.monotonic() + duration_s
    budget = [max_requests]
    headers = {"X-API-Key": api_key} if api_key else {}
    await asyncio.gather(
        *(
            _client(
                url,
                images,
                det=det,
                stop_at=stop_at,
                budget=budget,
                outcomes=outcomes,
                t0=t0,
                timeout_s=timeout_s,
                headers=headers,
                honour_retry_after=honour_retry_after,
            )
            for _ in range(concurrency)
        )
    )


# -- a probe in a process of its own -----------------------------------------------------------

PROBE_CHILD = "--probe-child"


def _probe_child(url: str, count: int, interval_s: float, duration_s: float) -> None:
    """Run in its own process (``loadtest.py --probe-child URL COUNT INTERVAL DURATION``): up to
    ``count`` requests, one at a time, each on a fresh connection and timed from connecting to the
    last byte of the answer; prints a JSON list of ``[status, seconds]``."""
    import http.client
    import urllib.parse

    target = urllib.parse.urlsplit(url)
    images = ImageSource("tiny", variants=4, seed=11)
    boundary = "cpuocr-probe-boundary"
    api_key = os.environ.get("CPUOCR_API_KEY")
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if api_key:
        headers["X-API-Key"] = api_key
    stop_at = time.monotonic() + duration_s
    seen: list[tuple[str, float]] = []
    while len(seen) < count and time.monotonic() < stop_at:
        head = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        )
        body = head.encode() + images.next() + f"\r\n--{boundary}--\r\n".encode()
        started = time.perf_counter()
        connection = http.client.HTTPConnection(
            target.hostname or "127.0.0.1", target.port, timeout=60
        )
        try:
            connection.request("POST", "/ocr", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = str(response.status)
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
        finally:
            connection.close()
        seen.append((status, time.perf_counter() - started))
        time.sleep(interval_s)
    print(json.dumps(seen))


def _start_probe(
    url: str, count: int, interval_s: float, duration_s: float, api_key: str | None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **({"CPUOCR_API_KEY": api_key} if api_key else {})}
    command = [sys.executable, str(Path(__file__).resolve()), PROBE_CHILD, url]
    command += [str(count), str(interval_s), str(duration_s)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, env=env)


def _probe_results(process: subprocess.Popen[bytes]) -> list[tuple[str, float]]:
    try:
        out, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return [("probe-hung", float("nan"))]
    if process.returncode != 0:
        return [("probe-failed", float("nan"))]
    return [(str(status), float(seconds)) for status, seconds in json.loads(out)]


def _run_in_own_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion on a fresh event loop in a thread of its own, so the load
    client also works when the calling thread already has a running loop (pytest-playwright's
    sync API leaves one behind; ``asyncio.run`` refuses to start inside it)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    thread = threading.Thread(target=target, name="loadtest-client", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def run_load(
    url: str,
    *,
    concurrency: int = 4,
    duration_s: float = 30.0,
    max_requests: int = 1000,
    image_kind: str = "tiny",
    det: bool = True,
    timeout_s: float = 60.0,
    pid: int | None = None,
    sample_interval_s: float = 1.0,
    warmup_requests: int = 0,
    api_key: str | None = None,
    honour_retry_after: bool = False,
    images: ImageSource | None = None,
    probe_requests: int = 0,
    probe_interval_s: float = 0.1,
) -> Report:
    """Run the load and return its :class:`Report`. Bounded by ``max_requests`` and
    ``duration_s`` (plus at most one ``timeout_s`` for the requests still in flight). With
    ``probe_requests``, a probe process runs beside the load (see the module docstring)."""
    images = images if images is not None else ImageSource(image_kind)
    outcomes: list[Outcome] = []
    probe = (
        _start_probe(url, probe_requests, probe_interval_s, duration_s, api_key)
        if probe_requests > 0
        else None
    )
    sampler = ProcSampler(pid, sample_interval_s) if pid is not None else None
    if sampler is not None:
        sampler.done_counter = lambda: len(outcomes)
        sampler.start()
    t0 = time.perf_counter()
    try:
        _run_in_own_thread(
            _run(
                url,
                concurrency=concurrency,
                duration_s=duration_s,
                max_requests=max_requests,
                images=images,
                det=det,
                timeout_s=timeout_s,
                api_key=api_key,
                honour_retry_after=honour_retry_after,
                t0=t0,
                outcomes=outcomes,
            )
        )
    finally:
        wall = time.perf_counter() - t0
        samples = sampler.stop() if sampler is not None else []
        probed = _probe_results(probe) if probe is not None else []
    return Report(concurrency, wall, outcomes, samples, warmup_requests, t0, probed)


# -- a server of our own -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_server(
    args: Sequence[str], log_path: Path, timeout_s: float = 180.0
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m cpuocr serve`` on a free loopback port; returns (process, url) once ready."""
    port = free_port()
    command = [sys.executable, "-m", "cpuocr", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen([*command, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start-up; see {log_path}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"the server did not become ready in {timeout_s:g} s; see {log_path}")


if __name__ == "__main__":  # the probe's own process (see _start_probe)
    if sys.argv[1:2] != [PROBE_CHILD]:
        sys.exit(f"usage: {PROBE_CHILD} URL COUNT INTERVAL DURATION (the CLI: scripts/loadtest.py)")
    _probe_child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
