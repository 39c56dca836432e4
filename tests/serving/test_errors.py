"""Every refusal over a real socket: the right status, a JSON error body, never a 500."""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py

MB = 1024 * 1024


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def _png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


# -- 400 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("empty.png", b"", "invalid_image"),
        ("notes.txt", "这不是图片 not an image\n".encode(), "invalid_image"),
        ("random.bin", bytes(range(256)) * 8, "invalid_image"),
        ("truncated.png", None, "invalid_image"),
    ],
)
def test_bad_image_is_400(
    client: httpx.Client, receipt: bytes, filename: str, data: bytes | None, code: str
) -> None:
    payload = receipt[: len(receipt) // 2] if data is None else data
    response = client.post("/ocr", files={"image": (filename, payload, "image/png")})
    _error(response, 400, code)


def test_missing_field_is_400(client: httpx.Client, receipt: bytes) -> None:
    response = client.post("/ocr", files={"file": ("r.png", receipt, "image/png")})
    body = _error(response, 400, "missing_field")
    assert "'image'" in body["error"]["message"]
    _error(client.post("/ocr", json={"det": True}), 400, "missing_field")
    _error(client.post("/ocr/batch", json={}), 400, "missing_field")


def test_image_sent_as_a_text_field_is_400(client: httpx.Client) -> None:
    # a url-encoded form is not multipart: 415 names the two accepted body types
    _error(client.post("/ocr", data={"image": "aGVsbG8="}), 415, "unsupported_media_type")
    response = client.post(
        "/ocr", files={"dummy": ("x.png", b"x", "image/png")}, data={"image": "not a file"}
    )
    _error(response, 400, "bad_field")


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"det": "maybe"}, "det"), ({"preprocess": "sharpen"}, "preprocess")],
)
def test_bad_option_values_are_400(
    client: httpx.Client, receipt: bytes, fields: dict[str, str], param: str
) -> None:
    response = client.post("/ocr", files={"image": ("r.png", receipt, "image/png")}, data=fields)
    body = _error(response, 400, "invalid_parameter")
    assert param in body["error"]["message"]
    _error(client.post("/ocr", json={"image": "", **fields}), 400)


def test_bad_json_and_bad_base64_are_400(client: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    _error(client.post("/ocr", content=b"{not json", headers=headers), 400, "invalid_json")
    _error(client.post("/ocr", content=b"[1, 2]", headers=headers), 400, "invalid_json")
    _error(client.post("/ocr", content=b"\xff\xfe", headers=headers), 400, "invalid_json")
    deep = b"[" * 100_000 + b"]" * 100_000  # nesting that overflows a recursive parser
    _error(client.post("/ocr", content=deep, headers=headers), 400, "invalid_json")
    _error(client.post("/ocr", json={"image": "!!! not base64 !!!"}), 400, "invalid_base64")
    _error(client.post("/ocr", json={"image": 12345}), 400, "invalid_base64")
    garbage = base64.b64encode(b"garbage bytes, not a picture").decode()
    _error(client.post("/ocr", json={"image": garbage}), 400, "invalid_image")


def test_two_images_to_the_single_route_is_400(client: httpx.Client, receipt: bytes) -> None:
    files = [("image", ("a.png", receipt, "image/png")), ("image", ("b.png", receipt, "image/png"))]
    _error(client.post("/ocr", files=files), 400, "too_many_files")


def test_multipart_abuse_is_refused(client: httpx.Client, receipt: bytes) -> None:
    # 40 file parts in one batch (limit 16)
    files = [("image", (f"{i}.png", b"x", "image/png")) for i in range(40)]
    _error(client.post("/ocr/batch", files=files), 400, "bad_multipart")
    # too many text fields
    fields = {f"f{i}": "x" for i in range(40)}
    response = client.post("/ocr", files={"image": ("r.png", receipt, "image/png")}, data=fields)
    _error(response, 400, "bad_multipart")
    # a huge text field
    response = client.post(
        "/ocr", files={"image": ("r.png", receipt, "image/png")}, data={"det": "x" * 200_000}
    )
    _error(response, 413, "field_too_large")
    # a multipart body without its boundary
    response = client.post(
        "/ocr", content=b"--x\r\n\r\n", headers={"content-type": "multipart/form-data"}
    )
    _error(response, 400, "bad_multipart")


# -- 415 -------------------------------------------------------------------------------------


def test_unsupported_body_type_is_415(client: httpx.Client, receipt: bytes) -> None:
    _error(
        client.post("/ocr", content=receipt, headers={"content-type": "image/png"}),
        415,
        "unsupported_media_type",
    )
    _error(client.post("/ocr", content=b"hello", headers={"content-type": "text/plain"}), 415)
    _error(client.post("/ocr"), 415)


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        # (a PDF is a document now, read per page; a broken one is 400: test_documents_api.py)
        ("page.ps", b"%!PS-Adobe-3.0\n(%pipe%id) (r) file\n"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ],
)
def test_unsupported_image_type_is_415(client: httpx.Client, filename: str, data: bytes) -> None:
    response = client.post("/ocr", files={"image": (filename, data, "application/octet-stream")})
    _error(response, 415, "unsupported_format")


# -- 413 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(8000, 6000), (30000, 30000)])
def test_pixel_limit_is_413_from_the_header(client: httpx.Client, size: tuple[int, int]) -> None:
    bomb = live.png_header_only(*size)  # 48 MP or 900 MP in ~100 bytes
    started = time.perf_counter()
    response = client.post("/ocr", files={"image": ("bomb.png", bomb, "image/png")})
    elapsed = time.perf_counter() - started
    _error(response, 413, "image_too_large")
    assert elapsed < 2.0  # refused from the header, nothing decoded


def test_file_over_the_byte_limit_is_413(client: httpx.Client) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * MB + 10)
    response = client.post("/ocr", files={"image": ("big.png", data, "image/png")})
    _error(response, 413, "file_too_large")
    encoded = base64.b64encode(data[: 20 * MB + 3]).decode()
    _error(client.post("/ocr", json={"image": encoded}), 413)


def _raw_request(port: int, head: bytes, chunks: Iterator[bytes]) -> tuple[int, bytes, int]:
    """Send ``head`` then body chunks until the server answers; (status, response, bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        response = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):  # nothing to read yet
                response += sock.recv(65536)
            if response:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sent += len(chunk)
                sock.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in response or not _complete(response):
                more = sock.recv(65536)
                if not more:
                    break
                response += more
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1") else 0
    return status, response, sent


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def test_declared_content_length_over_the_limit_is_413_before_the_body(server: Any) -> None:
    declared = 200 * MB
    head = (
        f"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n\r\n"
    ).encode()
    status, response, sent = _raw_request(server.port, head, iter([b"x" * 65536] * 3200))
    assert status == 413, response[:300]
    assert b'"request_too_large"' in response
    assert sent < 10 * MB  # answered long before the body could have been read


def test_streamed_body_over_the_limit_is_413_while_streaming(server: Any) -> None:
    head = (
        b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\n\r\n"
    )
    part_head = (
        b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )

    def chunked(piece: bytes) -> bytes:
        return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    chunks = [chunked(part_head)] + [chunked(b"y" * MB)] * 200
    status, response, sent = _raw_request(server.port, head, iter(chunks))
    assert status == 413, response[:300]
    assert b'"request_too_large"' in response
    assert sent < 60 * MB  # stopped near the 27 MB limit, not at 200 MB


# -- 404 / 405 and the server stays healthy ----------------------------------------------------


def test_unknown_route_and_wrong_method_are_json(client: httpx.Client) -> None:
    _error(client.get("/nope"), 404, "not_found")
    _error(client.get("/ocr"), 405, "method_not_allowed")


def test_server_still_answers_correctly_after_the_bad_requests(
    client: httpx.Client, receipt: bytes
) -> None:
    odd = _png_bytes(Image.new("RGB", (1, 1), "white"))
    response = client.post("/ocr", files={"image": ("1x1.png", odd, "image/png")})
    assert response.status_code == 200 and response.json()["text"] == []
    response = client.post("/ocr", files={"image": ("r.png", receipt, "image/png")})
    assert response.status_code == 200
    assert response.json()["text"] == list(live.RECEIPT_LINES)
    metrics = client.get("/metrics").text
    assert 'status="500"' not in metrics
