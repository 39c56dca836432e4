"""The serving edges, on real servers: /metrics stays bounded whatever methods clients invent,
the Host header and cross-site POSTs are checked, an API key protects /metrics and the details of
/readyz, and a key HTTP cannot carry is refused at start-up."""

from __future__ import annotations

import importlib
import os
import random
import re
import socket
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpuocr._serving.config import ServeConfig

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

OK_ORIGIN = "http://ok.example"
KEY = {"X-API-Key": live.API_KEY}
STANDARD_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An API key and one CORS origin; Host names as defaulted for a loopback bind."""
    srv = live.LiveServer(
        tmp_path_factory.mktemp("edges") / "logs",
        env={
            "CPUOCR_API_KEY": live.API_KEY,
            "CPUOCR_CORS_ORIGINS": OK_ORIGIN,
            "CPUOCR_WARMUP": "false",
            "CPUOCR_CACHE_MB": "0",
        },
    )
    srv.start()
    yield srv
    code = srv.stop()
    assert code == 0, srv.log()


def _raw_request(port: int, head: str) -> bytes:
    """One HTTP/1.1 request written on a socket as is; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _request_series(metrics_text: str) -> list[str]:
    return [
        line.split(" ")[0]
        for line in metrics_text.splitlines()
        if line.startswith("cpuocr_http_requests_total{")
    ]


# -- /metrics ------------------------------------------------------------------------------------


def test_metrics_label_sets_stay_bounded_under_invented_methods(keyed: Any) -> None:
    rng = random.Random(10)
    methods = {"".join(rng.choices(string.ascii_uppercase, k=12)) for _ in range(300)}
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        for i, method in enumerate(sorted(methods)):
            path = ("/ocr", "/healthz", f"/nowhere/{i}")[i % 3]
            assert client.request(method, path).status_code in (401, 404, 405)
    # and a few over a raw socket, where nothing normalises the request line
    for i in range(20):
        answer = _raw_request(
            keyed.port, f"X{i}-Y /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    text = httpx.get(f"{keyed.url}/metrics", headers=KEY, timeout=30).text
    series = _request_series(text)
    methods_seen = set(re.findall(r'method="([^"]*)"', "\n".join(series)))
    routes_seen = set(re.findall(r'route="([^"]*)"', "\n".join(series)))
    assert methods_seen <= STANDARD_METHODS | {"other"}, methods_seen
    assert "other" in methods_seen
    assert "unmatched" in routes_seen and not any("/nowhere" in r for r in routes_seen)
    assert len(series) < 40, series
    assert len(text) < 100_000


def test_metrics_need_the_key_when_one_is_set(keyed: Any) -> None:
    response = httpx.get(f"{keyed.url}/metrics", timeout=30)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": {"code": "unauthorized", "message": "the X-API-Key header is missing"},
    }
    assert "cpuocr_" not in response.text
    wrong = httpx.get(f"{keyed.url}/metrics", headers={"X-API-Key": "nope"}, timeout=30)
    assert wrong.status_code == 401
    right = httpx.get(f"{keyed.url}/metrics", headers=KEY, timeout=30)
    assert right.status_code == 200 and "cpuocr_http_requests_total" in right.text


# -- /readyz and /healthz --------------------------------------------------------------------------


def test_readyz_tells_only_readiness_without_the_key(keyed: Any) -> None:
    assert httpx.get(f"{keyed.url}/healthz").json() == {"status": "ok"}
    public = httpx.get(f"{keyed.url}/readyz", timeout=30)
    assert public.status_code == 200
    assert public.json() == {"ready": True, "auth_required": True}
    wrong = httpx.get(f"{keyed.url}/readyz", headers={"X-API-Key": "nope"}, timeout=30)
    assert wrong.json() == {"ready": True, "auth_required": True}
    full = httpx.get(f"{keyed.url}/readyz", headers=KEY, timeout=30).json()
    assert full["ready"] is True and full["auth_required"] is True
    assert full["slots"] >= 1 and full["max_pixels"] == 40_000_000


def test_readyz_without_a_key_configured_shows_everything(server: Any) -> None:
    body = httpx.get(f"{server.url}/readyz", timeout=30).json()
    assert body["auth_required"] is False and body["slots"] >= 1 and "max_pixels" in body


# -- Host header -----------------------------------------------------------------------------------


def test_a_loopback_server_answers_only_loopback_host_names(server: Any) -> None:
    for host in ("127.0.0.1", f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]:80"):
        response = httpx.get(f"{server.url}/healthz", headers={"Host": host}, timeout=30)
        assert response.status_code == 200, (host, response.text)
    for host in ("evil.example", f"rebind.evil.example:{server.port}", "127.0.0.1.evil.example"):
        for method, path in (("GET", "/healthz"), ("GET", "/"), ("POST", "/ocr")):
            response = httpx.request(
                method, f"{server.url}{path}", headers={"Host": host}, timeout=30
            )
            assert response.status_code == 403, (host, path, response.text)
            assert response.json()["success"] is False
            assert response.json()["error"]["code"] == "host_not_allowed"


def test_trusted_hosts_setting_and_the_default_of_other_binds() -> None:
    assert ServeConfig(host="0.0.0.0").allowed_hosts is None  # a network bind: any name
    assert ServeConfig(host="127.0.0.1").allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert ServeConfig(host="::1").allowed_hosts == ("localhost", "127.0.0.1", "::1")
    config = ServeConfig.from_env({"CPUOCR_TRUSTED_HOSTS": "OCR.example.com, *.corp.example"})
    assert config.allowed_hosts == ("ocr.example.com", "*.corp.example")
    assert ServeConfig(trusted_hosts=("*",)).allowed_hosts is None


def test_trusted_hosts_flag_on_a_real_server(tmp_path: Path) -> None:
    srv = live.LiveServer(
        tmp_path / "logs", args=["--trusted-hosts", "ocr.example,*.corp.example,127.0.0.1"]
    )
    srv.env["CPUOCR_WARMUP"] = "false"
    srv.start()
    try:
        for host, status in (
            ("ocr.example", 200),
            ("OCR.example:8080", 200),
            ("a.corp.example", 200),
            ("corp.example", 403),
            ("localhost", 403),  # not in the list any more
            ("evil.example", 403),
        ):
            response = httpx.get(f"{srv.url}/healthz", headers={"Host": host}, timeout=30)
            assert response.status_code == status, (host, response.text)
    finally:
        assert srv.stop() == 0, srv.log()


# -- cross-site POSTs ------------------------------------------------------------------------------


def _post(url: str, headers: dict[str, str]) -> httpx.Response:
    files = {"image": ("r.png", live.receipt_png(), "image/png")}
    return httpx.post(f"{url}/ocr", files=files, headers=headers, timeout=120)


def test_cross_site_posts_are_refused_same_origin_and_curl_are_not(server: Any) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Origin": f"http://localhost:{server.port + 1}"},  # same site, another origin
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        response = _post(server.url, headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["error"]["code"] == "cross_origin_refused"
    # a browser page of this server (the Web UI), and a client that is no browser
    for headers in (
        {"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        {"Origin": f"http://localhost:{server.port}", "Host": f"localhost:{server.port}"},
        {},
    ):
        response = _post(server.url, headers)
        assert response.status_code == 200, (headers, response.text)
        assert response.json()["text"] == list(live.RECEIPT_LINES)
    # reading stays open to any page (CORS decides what the page may see)
    assert httpx.get(f"{server.url}/healthz", headers={"Origin": "http://evil.example"}).is_success


def test_cors_origins_may_post(keyed: Any) -> None:
    allowed = _post(keyed.url, {**KEY, "Origin": OK_ORIGIN, "Sec-Fetch-Site": "cross-site"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == OK_ORIGIN
    refused = _post(keyed.url, {**KEY, "Origin": "http://evil.example"})
    assert refused.status_code == 403
    preflight = httpx.options(
        f"{keyed.url}/ocr",
        headers={"Origin": OK_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == OK_ORIGIN


# -- the API key itself --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["clé-secrète", "键1234", "tab\tinside"])
def test_a_key_http_cannot_carry_is_refused_at_start_up(key: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPUOCR_")}
    env.update(CPUOCR_API_KEY=key, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "cpuocr", "serve", "--port", str(live.free_port())],
        env=env,
        capture_output=True,
        timeout=120,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert "api_key must be printable ASCII" in stderr
    assert key not in stderr  # the key is never printed
