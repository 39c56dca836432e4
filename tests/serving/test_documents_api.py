"""Documents over the REST API, on a real server: a PDF answered per page, page ranges, base64,
output formats (a searchable PDF read back by pdftotext), bad documents as 4xx, and PDFs kept out
of /ocr/batch. Images keep their single-image answer (tests/serving/test_api.py)."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import tempfile
from pathlib import Path

import httpx
import pikepdf
import pytest

from rendering import image_pdf, render_lines

PAGES = (["第一页 发票 12345"], ["Page two total 42.50"], ["第三页 合同 2026"])
DOC_KEYS = {"success", "page_count", "time_ms", "image_sha256", "cached", "pages"}
PAGE_KEYS = {"page", "text", "lines", "width", "height", "dpi", "source", "time_ms"}


@pytest.fixture(scope="module")
def scan() -> bytes:
    return image_pdf([render_lines(lines, size=40) for lines in PAGES])


def _post(
    client: httpx.Client, data: bytes, name: str = "scan.pdf", **fields: str
) -> httpx.Response:
    return client.post("/ocr", files={"image": (name, data, "application/pdf")}, data=fields)


def _squash(lines: list[str]) -> list[str]:
    return ["".join(line.split()) for line in lines]


def test_a_pdf_is_answered_page_by_page(client: httpx.Client, scan: bytes) -> None:
    response = _post(client, scan)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == DOC_KEYS and body["success"] is True and body["page_count"] == 3
    assert body["image_sha256"] == hashlib.sha256(scan).hexdigest()
    assert [page["page"] for page in body["pages"]] == [1, 2, 3]
    for page, expected in zip(body["pages"], PAGES, strict=True):
        assert set(page) == PAGE_KEYS and page["source"] == "ocr"
        assert _squash(page["text"]) == _squash(expected)
        assert len(page["lines"][0]["box"]) == 4


def test_page_ranges_and_base64(client: httpx.Client, scan: bytes) -> None:
    body = _post(client, scan, pages="2-3").json()
    assert [page["page"] for page in body["pages"]] == [2, 3] and body["page_count"] == 3
    encoded = base64.b64encode(scan).decode()
    body = client.post("/ocr", json={"image": encoded, "pages": "1"}).json()
    assert [page["page"] for page in body["pages"]] == [1]
    assert _squash(body["pages"][0]["text"]) == _squash(PAGES[0])


def test_output_formats(client: httpx.Client, scan: bytes) -> None:
    txt = _post(client, scan, format="txt")
    assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
    assert all("".join(p[0].split()) in "".join(txt.text.split()) for p in PAGES)
    hocr = _post(client, scan, format="hocr")
    assert "ocr_page" in hocr.text and "html" in hocr.headers["content-type"]
    md = _post(client, scan, format="md")
    assert md.status_code == 200 and "42.50" in md.text
    as_json = _post(client, scan, format="json")
    assert as_json.status_code == 200 and as_json.json()["version"] == 1
    pdf = _post(client, scan, format="pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(pikepdf.open(io.BytesIO(pdf.content)).pages) == 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pdf"
        path.write_bytes(pdf.content)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    assert all("".join(p[0].split()) in "".join(text.split()) for p in PAGES)


def test_an_image_in_a_format(client: httpx.Client) -> None:
    png = io.BytesIO()
    render_lines(["图片也可以 txt"], size=40).save(png, "PNG")
    response = _post(client, png.getvalue(), name="a.png", format="txt")
    assert response.status_code == 200
    assert "".join(response.text.split()) == "图片也可以txt"


def _encrypted(scan: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(scan)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="secret"))
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "fields", "status", "code"),
    [
        ("encrypted", {}, 400, None),
        ("truncated", {}, 400, None),
        ("ok", {"pages": "abc"}, 400, "invalid_parameter"),
        ("ok", {"pages": "5"}, 400, None),
        ("ok", {"dpi": "5000"}, 400, "invalid_parameter"),
        ("ok", {"text_layer": "maybe"}, 400, "invalid_parameter"),
        ("ok", {"format": "docx"}, 400, "invalid_parameter"),
    ],
)
def test_bad_documents_and_options_are_4xx(
    client: httpx.Client,
    scan: bytes,
    case: str,
    fields: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    data = {"ok": scan, "encrypted": _encrypted(scan), "truncated": scan[: len(scan) // 2]}[case]
    response = _post(client, data, **fields)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and (code is None or error["code"] == code)


def test_a_pdf_in_a_batch_is_that_items_error(client: httpx.Client, scan: bytes) -> None:
    png = io.BytesIO()
    render_lines(["批量 batch 7"], size=40).save(png, "PNG")
    files = [
        ("image", ("a.png", png.getvalue(), "image/png")),
        ("image", ("s.pdf", scan, "application/pdf")),
    ]
    answers = client.post("/ocr/batch", files=files).json()
    assert answers[0]["success"] is True
    assert answers[1]["success"] is False and "POST /ocr" in answers[1]["error"]["message"]


def test_preview_gives_each_page_its_image(client: httpx.Client, scan: bytes) -> None:
    from PIL import Image

    for response in (
        _post(client, scan, preview="true"),
        client.post("/ocr", json={"image": base64.b64encode(scan).decode(), "preview": True}),
    ):
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == DOC_KEYS and len(body["pages"]) == 3
        for page in body["pages"]:
            assert set(page) == PAGE_KEYS | {"preview"}
            preview = page["preview"]
            image = Image.open(io.BytesIO(base64.b64decode(preview["image"])))
            image.load()
            assert image.format == "JPEG" and image.size == (preview["width"], preview["height"])
            assert max(image.size) <= 1600
            aspect, page_aspect = image.width / image.height, page["width"] / page["height"]
            assert abs(aspect - page_aspect) < 0.01 * page_aspect, (image.size, page)
    bad = _post(client, scan, preview="maybe")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


def test_json_format_with_character_positions(client: httpx.Client, scan: bytes) -> None:
    plain = _post(client, scan, format="json", pages="1").json()
    with_chars = _post(client, scan, format="json", pages="1", chars="true").json()
    line = with_chars["pages"][0]["blocks"][0]["paragraphs"][0]["rows"][0]["lines"][0]
    assert len(line["chars"]) == len(line["text"])
    starts = [c["start"] for c in line["chars"]]
    assert starts == sorted(starts) and starts[0] >= 0 and starts[-1] <= 1
    plain_line = plain["pages"][0]["blocks"][0]["paragraphs"][0]["rows"][0]["lines"][0]
    assert "chars" not in plain_line
    assert _post(client, scan, chars="perhaps").status_code == 400
