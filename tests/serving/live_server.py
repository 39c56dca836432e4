"""A real ``cpuocr serve`` process on a free loopback port, and the images the service tests send
(rendered with the CJK font that tests/rendering.py finds).

Shared by tests/serving and tests/web (loaded by path from their conftest files, so it works under
any pytest import mode).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, ImageDraw, ImageFont

from rendering import font_path  # tests/rendering.py, on sys.path through tests/conftest.py

START_TIMEOUT_S = 180.0
API_KEY = "test-key-5f3a"  # the key of the servers started with auth on

#: The two lines of the standard test image, and what the engine must read back exactly.
RECEIPT_LINES = ("发票号码 12345678", "Total 42.50")


def render_lines(
    lines: tuple[str, ...] | list[str],
    *,
    size: tuple[int, int] | None = None,
    font_size: int = 36,
    fmt: str = "PNG",
    margin: int = 30,
    line_gap: int = 34,
) -> bytes:
    """Black text on white, one string per line, as image file bytes."""
    path = font_path()
    if path is None:
        raise RuntimeError("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    font = ImageFont.truetype(path, font_size)
    if size is None:
        width = max(int(font.getlength(text)) for text in lines) + 2 * margin
        height = len(lines) * (font_size + line_gap) + 2 * margin - line_gap
        size = (width, height)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    y = margin
    for text in lines:
        draw.text((margin, y), text, font=font, fill="black")
        y += font_size + line_gap
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def receipt_png() -> bytes:
    return render_lines(RECEIPT_LINES)


RECEIPT_PAGE_LINES = (
    "上海市便利店 收银小票",
    "门店编号 0215  收银员 07",
    "日期 2024-05-18 14:32",
    "矿泉水 550ml      2.00",
    "全麦面包          8.50",
    "牛奶 1L          12.80",
    "苹果 1.2kg       15.60",
    "Coffee Latte     19.00",
    "小计 Subtotal    57.90",
    "优惠 Discount    -5.00",
    "合计 Total       52.90",
    "谢谢惠顾 Thank you",
)


def receipt_page_png(variant: int = 0) -> bytes:
    """A receipt-like page (12 lines, 560 px wide); ``variant`` changes the pixels (defeats the
    cache) without changing the text."""
    data = render_lines(list(RECEIPT_PAGE_LINES), font_size=28, line_gap=18, margin=40)
    if variant == 0:
        return data
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.putpixel((variant % image.width, image.height - 1), (250, 250, 250))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims ``width`` × ``height``: a decompression bomb's header."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """``python -m cpuocr serve`` in a subprocess. Use :meth:`start` / :meth:`stop`."""

    log_dir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"server-{self.port}.log"

    def start(self) -> LiveServer:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPUOCR_")}
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "cpuocr", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *self.args]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start-up:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the server did not become ready in {START_TIMEOUT_S} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        self.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def start_with_private_tmpdir(tmp: Path) -> LiveServer:
    """A started server in the default configuration whose TMPDIR is ``tmp/tmpdir``, private and
    empty, so tests can check that uploads leave nothing behind."""
    srv = LiveServer(tmp / "logs")
    srv.env["TMPDIR"] = str(tmp / "tmpdir")
    (tmp / "tmpdir").mkdir()
    return srv.start()
