"""The REST contract of SPEC §2 over a real socket: answers, base64, batch, cache, preview,
health, metrics and docs."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import re
from typing import Any

import httpx
from PIL import Image

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py

ANSWER_KEYS = {
    "success",
    "text",
    "time_ms",
    "lines",
    "width",
    "height",
    "image_sha256",
    "cached",
}
EXPECTED = list(live.RECEIPT_LINES)


def _ocr(client: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return client.post("/ocr", files={"image": ("receipt.png", data, "image/png")}, data=fields)


def _check_answer(body: dict[str, Any], data: bytes) -> None:
    assert set(body) == ANSWER_KEYS
    assert body["success"] is True
    assert body["text"] == EXPECTED
    assert [line["text"] for line in body["lines"]] == EXPECTED
    width, height = Image.open(io.BytesIO(data)).size
    assert (body["width"], body["height"]) == (width, height)
    assert body["image_sha256"] == hashlib.sha256(data).hexdigest()
    assert isinstance(body["time_ms"], int | float) and body["time_ms"] > 0
    for line in body["lines"]:
        assert set(line) == {"text", "score", "box"}
        assert 0.5 <= line["score"] <= 1.0
        assert len(line["box"]) == 4
        for x, y in line["box"]:
            assert -1 <= x <= width + 1 and -1 <= y <= height + 1
    # reading order: the first line's box is above the second's
    assert body["lines"][0]["box"][0][1] < body["lines"][1]["box"][0][1]


def test_multipart_answer_has_exactly_the_contract_fields(client: httpx.Client) -> None:
    data = live.render_lines(live.RECEIPT_LINES, size=(520, 200))
    response = _ocr(client, data)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    _check_answer(body, data)
    assert body["cached"] is False


def test_same_image_again_is_a_cache_hit_with_the_same_text(client: httpx.Client) -> None:
    data = live.render_lines(live.RECEIPT_LINES, size=(540, 200))
    first = _ocr(client, data).json()
    second = _ocr(client, data).json()
    assert first["cached"] is False
    assert second["cached"] is True
    assert second["text"] == first["text"] == EXPECTED
    assert second["lines"] == first["lines"]
    # other options are another cache entry
    third = _ocr(client, data, preprocess="none").json()
    assert third["cached"] is False and third["text"] == EXPECTED


def test_json_base64_body(client: httpx.Client, receipt: bytes) -> None:
    encoded = base64.b64encode(receipt).decode()
    response = client.post("/ocr", json={"image": encoded, "det": True, "preprocess": "auto"})
    assert response.status_code == 200, response.text
    _check_answer(response.json(), receipt)
    # a data: URL and string option values are accepted too
    response = client.post(
        "/ocr", json={"image": f"data:image/png;base64,{encoded}", "det": "true"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == EXPECTED


def test_det_false_reads_the_image_as_one_line(client: httpx.Client) -> None:
    data = live.render_lines(["Total 42.50"], font_size=40, margin=12)
    response = _ocr(client, data, det="false")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == ["Total 42.50"]
    width, height = body["width"], body["height"]
    assert body["lines"][0]["box"] == [[0, 0], [width, 0], [width, height], [0, height]]


def test_batch_answers_in_order_and_a_bad_image_gets_its_error_entry(
    client: httpx.Client, receipt: bytes
) -> None:
    other = live.render_lines(["Hello 世界 2024"])
    files = [
        ("image", ("a.png", receipt, "image/png")),
        ("image", ("notes.txt", b"this is not an image", "text/plain")),
        ("image", ("b.png", other, "image/png")),
    ]
    response = client.post("/ocr/batch", files=files)
    assert response.status_code == 200, response.text
    answers = response.json()
    assert isinstance(answers, list) and len(answers) == 3
    _check_answer(answers[0], receipt)
    assert answers[1] == {
        "success": False,
        "error": {"code": "invalid_image", "message": answers[1]["error"]["message"]},
    }
    assert "not an image" in answers[1]["error"]["message"]
    assert answers[2]["success"] is True and answers[2]["text"] == ["Hello 世界 2024"]


def test_batch_json(client: httpx.Client, receipt: bytes) -> None:
    encoded = base64.b64encode(receipt).decode()
    response = client.post("/ocr/batch", json={"images": [encoded, "!!!not base64!!!"]})
    # an undecodable item in a JSON batch is a bad request as a whole: nothing was an image yet
    assert response.status_code == 400
    response = client.post("/ocr/batch", json={"images": [encoded, encoded]})
    assert response.status_code == 200
    assert [a["text"] for a in response.json()] == [EXPECTED, EXPECTED]


def test_preprocess_preview_returns_each_stage_as_png(client: httpx.Client, receipt: bytes) -> None:
    response = client.post("/preprocess", files={"image": ("r.png", receipt, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    names = [stage["name"] for stage in body["stages"]]
    assert names == ["original", "gray", "equalized", "binarized", "resized"]
    width, height = Image.open(io.BytesIO(receipt)).size
    assert (body["width"], body["height"]) == (width, height)
    for stage in body["stages"]:
        png = base64.b64decode(stage["image"])
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == (stage["width"], stage["height"])
    assert body["stages"][-1]["height"] < height  # resized to the classic line height
    assert body["mode"] == "classic" and body["actions"]  # without preprocess=: the recipe


def _title_and_two_paragraphs_png() -> bytes:
    from PIL import ImageDraw, ImageFont

    from rendering import font_path

    path = font_path()
    assert path is not None, "the set-up installs the CJK fonts"
    title, body = ImageFont.truetype(path, 48), ImageFont.truetype(path, 26)
    image = Image.new("RGB", (900, 520), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "Quarterly Report", fill="black", font=title)
    rows = [(150, "Sales rose in every region this quarter, led by"),
            (190, "the north, where two new stores opened."),
            (330, "Costs stayed flat: rent and wages did not change,"),
            (370, "and shipping fell a little.")]  # fmt: skip
    for y, text in rows:
        draw.text((40, y), text, fill="black", font=body)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_paragraphs_true_groups_an_images_lines_as_the_layout_does(client: httpx.Client) -> None:
    data = _title_and_two_paragraphs_png()
    plain = _ocr(client, data).json()
    assert "paragraphs" not in plain  # only when asked: the answer schema stays as it was
    answer = _ocr(client, data, paragraphs="true").json()
    assert answer["lines"] == plain["lines"]  # the lines themselves are not reordered
    groups = answer["paragraphs"]
    indexes = sorted(k for g in groups for k in g["lines"])
    assert indexes == list(range(len(answer["lines"])))  # every line in exactly one paragraph
    texts = [" ".join(answer["lines"][k]["text"] for k in g["lines"]) for g in groups]
    kinds = [g["kind"] for g in groups]
    assert kinds[0] == "title" and "Quarterly" in texts[0], (kinds, texts)
    assert len(groups) == 3, texts
    assert texts[1].startswith("Sales") and "stores" in texts[1]
    assert texts[2].startswith("Costs") and "shipping" in texts[2]
    # a cached answer gets them too
    again = _ocr(client, data, paragraphs="true").json()
    assert again["cached"] is True and again["paragraphs"] == groups
    assert _ocr(client, data, paragraphs="maybe").status_code == 400


def _low_contrast_png() -> bytes:
    image = Image.new("RGB", (400, 120), (150, 150, 150))
    for y in range(20, 100, 20):
        image.paste((120, 120, 120), (20, y, 380, y + 6))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_preprocess_preview_shows_what_auto_and_none_do_to_this_image(
    client: httpx.Client, receipt: bytes
) -> None:
    def preview(data: bytes, mode: str) -> dict[str, Any]:
        files = {"image": ("x.png", data, "image/png")}
        response = client.post("/preprocess", files=files, data={"preprocess": mode})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["mode"] == mode
        return body

    clean = preview(receipt, "auto")
    assert [s["name"] for s in clean["stages"]] == ["original", "detector_input"]
    assert clean["actions"][0].startswith("unchanged: clean enough")
    assert "the detector reads it resized to" in clean["actions"][-1]
    low = preview(_low_contrast_png(), "auto")
    assert low["actions"][0].startswith("CLAHE on lightness: low contrast")
    # the detector's input really is the enhanced one: its gray levels spread wider
    stage = next(s for s in low["stages"] if s["name"] == "detector_input")
    enhanced = Image.open(io.BytesIO(base64.b64decode(stage["image"]))).convert("L")
    lo, hi = enhanced.getextrema()
    assert hi - lo > 30 + 10  # the input's bars differ by 30 levels
    none = preview(_low_contrast_png(), "none")
    assert [s["name"] for s in none["stages"]] == ["original", "detector_input"]
    assert none["actions"][0].startswith("unchanged; the detector reads it resized to")
    assert preview(receipt, "classic")["stages"][-1]["name"] == "resized"
    bad = client.post(
        "/preprocess", files={"image": ("x.png", receipt, "image/png")}, data={"preprocess": "x"}
    )
    assert bad.status_code in (400, 422) and "preprocess" in bad.text


def test_healthz_and_readyz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["auth_required"] is False
    assert body["slots"] >= 1 and body["threads"] >= 1
    assert body["max_upload_bytes"] == 20 * 1024 * 1024 and body["max_pixels"] == 40_000_000


def test_metrics_count_requests_stages_queue_cache_and_process(
    client: httpx.Client, receipt: bytes
) -> None:
    _ocr(client, receipt)
    _ocr(client, receipt)  # a hit
    client.post("/ocr", files={"image": ("x.txt", b"nope", "text/plain")})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for needle in (
        'cpuocr_http_requests_total{method="POST",route="/ocr",status="200"}',
        'cpuocr_http_requests_total{method="POST",route="/ocr",status="400"}',
        'cpuocr_http_request_duration_seconds_bucket{le="0.5",route="/ocr"}',
        'cpuocr_stage_duration_seconds_count{stage="detect"}',
        'cpuocr_stage_duration_seconds_count{stage="recognise"}',
        "cpuocr_queue_depth ",
        "cpuocr_queue_wait_seconds_count ",
        "cpuocr_inflight_inferences ",
        "cpuocr_cache_hits_total ",
        "cpuocr_cache_misses_total ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
    ):
        assert needle in text, needle
    hits = _sample(text, "cpuocr_cache_hits_total")
    assert hits >= 1


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_openapi_documents_the_routes_and_both_body_types(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/ocr", "/ocr/batch", "/preprocess", "/healthz", "/readyz", "/metrics"):
        assert path in spec["paths"], path
    content = spec["paths"]["/ocr"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    assert "image" in content["multipart/form-data"]["schema"]["required"]
    responses = spec["paths"]["/ocr"]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "503"} <= set(responses)
    ocr_schema = spec["components"]["schemas"]["OCRResponse"]
    assert set(ocr_schema["properties"]) == {
        "success",
        "text",
        "time_ms",
        "lines",
        "width",
        "height",
        "image_sha256",
        "cached",
    }


def test_docs_page_is_local_html(client: httpx.Client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/docs.js" in response.text
    assert _external_urls(response.text) == set()
    assert client.get("/static/docs.js").status_code == 200


def test_web_ui_is_served_with_a_strict_content_security_policy(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "开始识别 / Start recognition" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert _external_urls(asset_response.text) == set(), asset


def _external_urls(text: str) -> set[str]:
    """Absolute URLs in a page or asset, except the SVG namespace (a name, never fetched)."""
    found = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    return found - {"http://www.w3.org/2000/svg"}


def test_json_answer_is_utf8_not_escaped(client: httpx.Client, receipt: bytes) -> None:
    raw = _ocr(client, receipt).content
    assert "发票号码".encode() in raw
    assert json.loads(raw)["text"] == EXPECTED
