"""Security defaults, each on a real server: no URL fetching, uploads never on disk, the optional
API key, CORS off unless configured, configurable limits, a non-root Docker image."""

from __future__ import annotations

import importlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import hostile_corpus as hc
import httpx
import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py
loadtest = importlib.import_module("cpuocr_loadtest")
ROOT = Path(__file__).resolve().parents[2]


def test_no_url_is_ever_fetched(hostile_server: Any) -> None:
    with socket.socket() as trap:
        trap.bind(("127.0.0.1", 0))
        trap.listen(4)
        trap.settimeout(0.5)
        url = f"http://127.0.0.1:{trap.getsockname()[1]}/a.png"
        for body in ({"url": url}, {"image": url}, {"image": "file:///etc/hostname"}):
            response = httpx.post(f"{hostile_server.url}/ocr", json=body, timeout=30)
            assert response.status_code == 400, response.text
            assert response.json()["success"] is False
        with pytest.raises(TimeoutError):
            trap.accept()  # nobody connected


def _regular_files(pid: int) -> set[str]:
    return {t for t in loadtest.open_fds(pid) if t.startswith("/") and not t.startswith("/dev/")}


def test_uploads_stay_in_memory_and_leave_nothing_behind(hostile_server: Any) -> None:
    """A 10 MB upload sent slowly: while its body is half-way in, the server holds no new open
    file and its private TMPDIR has no new entry; afterwards neither has one."""
    pid = hostile_server.process.pid
    tmpdir = Path(hostile_server.env["TMPDIR"])
    # ONNX Runtime leaves a 51-byte ".ses" id file in TMPDIR at start-up: not an upload.
    before = _regular_files(pid) | {str(p) for p in tmpdir.rglob("*")}
    boundary = "hostileboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.bmp"\r\n'
        "Content-Type: image/bmp\r\n\r\n"
    ).encode()
    payload = hc.bmp_header(3000, 1100) + b"\x80" * (10 * 1024 * 1024)
    tail = f"\r\n--{boundary}--\r\n".encode()
    halfway = threading.Event()
    seen_during: set[str] = set()

    def body() -> Any:
        yield head
        for i in range(0, len(payload), 1 << 20):
            yield payload[i : i + (1 << 20)]
            if i >= len(payload) // 2 and not halfway.is_set():
                time.sleep(0.3)  # let the server take what it got
                seen_during.update(_regular_files(pid))
                seen_during.update(str(p) for p in tmpdir.rglob("*"))
                halfway.set()
        yield tail

    response = httpx.post(
        f"{hostile_server.url}/ocr",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        timeout=120,
    )
    assert response.status_code in (200, 400), response.text
    assert halfway.is_set()
    assert seen_during - before == set(), seen_during - before
    assert _regular_files(pid) - before == set()
    assert {str(p) for p in tmpdir.rglob("*")} - before == set()


def test_cors_is_off_by_default(hostile_server: Any) -> None:
    origin = {"Origin": "http://evil.example"}
    response = httpx.get(f"{hostile_server.url}/healthz", headers=origin)
    assert "access-control-allow-origin" not in response.headers
    preflight = httpx.options(
        f"{hostile_server.url}/ocr",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400


def test_api_key_cors_and_limits_when_configured(tmp_path: Path) -> None:
    srv = live.LiveServer(
        tmp_path / "logs",
        env={
            "CPUOCR_API_KEY": live.API_KEY,
            "CPUOCR_CORS_ORIGINS": "http://ok.example",
            "CPUOCR_MAX_UPLOAD_MB": "0.05",  # 52 KB
            "CPUOCR_MAX_PIXELS": "20000",
            "CPUOCR_WARMUP": "false",
        },
    )
    srv.start()
    try:
        key = {"X-API-Key": live.API_KEY}
        small = hc.base_file("png")  # 120×40 = 4,800 px, a few KB
        post = f"{srv.url}/ocr"
        for headers in ({}, {"X-API-Key": "wrong"}):
            response = httpx.post(post, files={"image": ("a.png", small)}, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
        assert httpx.post(post, files={"image": ("a.png", small)}, headers=key).status_code == 200
        too_many_px = hc.encode(hc.base_picture().resize((200, 120)), format="PNG")
        response = httpx.post(post, files={"image": ("b.png", too_many_px)}, headers=key)
        assert response.status_code == 413, response.text
        too_many_bytes = os.urandom(60 * 1024)
        response = httpx.post(post, files={"image": ("c.png", too_many_bytes)}, headers=key)
        assert response.status_code == 413, response.text
        ready = httpx.get(f"{srv.url}/readyz", headers=key).json()
        assert ready["max_pixels"] == 20000 and ready["auth_required"] is True
        # without the key: readiness only (probes stay public), not the configuration
        assert httpx.get(f"{srv.url}/readyz").json() == {"ready": True, "auth_required": True}
        assert httpx.get(f"{srv.url}/metrics").status_code == 401
        assert httpx.get(f"{srv.url}/metrics", headers=key).status_code == 200
        allowed = httpx.get(f"{srv.url}/healthz", headers={"Origin": "http://ok.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://ok.example"
        other = httpx.get(f"{srv.url}/healthz", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        assert srv.stop() == 0, srv.log()


def test_the_docker_image_runs_as_a_non_root_user() -> None:
    users = [
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip().upper().startswith("USER ")
    ]
    assert users and users[-1] not in ("root", "0", "0:0")
