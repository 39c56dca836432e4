"""End to end on images rendered by the test itself: exact text, real models."""

from __future__ import annotations

import io
import unicodedata

import numpy as np
import pytest
from PIL import Image

from cpuocr import OCR

from rendering import render_lines, render_vertical, to_bgr

INVOICE = ["发票号码 12345678", "开票日期 2024年03月15日", "Total 42.50 USD", "合计金额 ¥1,280.00"]


def squash(lines: list[str]) -> list[str]:
    """Whether a space between CJK and Latin/digits is emitted varies with the crop; as in the
    scoring rules of ../shared/data, mixed-script lines are compared with whitespace removed."""
    return ["".join(unicodedata.normalize("NFKC", line).split()) for line in lines]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["今天天气很好，我们去公园散步。"], ["今天天气很好，我们去公园散步。"]),
        (
            ["The quick brown fox jumps over 13 lazy dogs."],
            ["The quick brown fox jumps over 13 lazy dogs."],
        ),
        (["电话 Tel: 021-6543 2100"], ["电话 Tel: 021-6543 2100"]),
        (["0123456789", "3.14159 2.71828"], ["0123456789", "3.14159 2.71828"]),
    ],
)
def test_rendered_lines(ocr: OCR, lines: list[str], expected: list[str]) -> None:
    assert ocr(to_bgr(render_lines(lines))).text == expected


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_rotated_page_reads_in_order(ocr: OCR, angle: int) -> None:
    img = render_lines(INVOICE).rotate(angle, expand=True)
    assert squash(ocr(to_bgr(img)).text) == squash(INVOICE)


def test_vertical_chinese_line_is_read(ocr: OCR) -> None:
    result = ocr(to_bgr(render_vertical("春眠不觉晓处处闻啼鸟")))
    assert result.text == ["春眠不觉晓处处闻啼鸟"]


def test_no_det_reads_whole_image_as_one_line(ocr: OCR) -> None:
    result = ocr(to_bgr(render_lines(["春眠不觉晓"], margin=6)), det=False)
    assert result.text == ["春眠不觉晓"]
    assert len(result.lines) == 1
    assert result.lines[0].box == (
        (0.0, 0.0),
        (result.width, 0.0),
        (result.width, result.height),
        (0.0, result.height),
    )


def test_boxes_are_in_original_coordinates(ocr: OCR) -> None:
    img = render_lines(INVOICE, size=40, margin=60)
    result = ocr(to_bgr(img))
    assert (result.width, result.height) == img.size
    for line in result.lines:
        xs = [p[0] for p in line.box]
        ys = [p[1] for p in line.box]
        assert 0 <= min(xs) < max(xs) <= img.size[0]
        assert 0 <= min(ys) < max(ys) <= img.size[1]
        assert 0.5 < line.score <= 1.0
    # Lines come top to bottom.
    tops = [min(p[1] for p in line.box) for line in result.lines]
    assert tops == sorted(tops)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "TIFF"])
def test_every_input_type_gives_the_same_text(ocr: OCR, fmt: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = render_lines(["格式测试 Format 2024"])
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=95) if fmt in ("JPEG", "WEBP") else img.save(buf, format=fmt)
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(buf.getvalue())
    expected = ["格式测试 Format 2024"]
    assert ocr(buf.getvalue()).text == expected
    assert ocr(path).text == expected
    assert ocr(str(path)).text == expected
    assert ocr(Image.open(path)).text == expected


def test_alpha_gray_and_16bit(ocr: OCR) -> None:
    img = render_lines(["透明背景 Alpha"])
    gray = np.asarray(img.convert("L"))
    rgba = np.zeros((*gray.shape, 4), dtype=np.uint8)
    rgba[:, :, 3] = 255 - gray  # black text on a transparent background
    expected = ["透明背景Alpha"]
    assert squash(ocr(Image.fromarray(rgba, "RGBA")).text) == expected
    assert squash(ocr(gray).text) == expected
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)
    buf = io.BytesIO()
    sixteen.save(buf, format="PNG")
    assert squash(ocr(buf.getvalue()).text) == expected


def test_exif_orientation_is_applied(ocr: OCR) -> None:
    img = render_lines(["旋转标记 EXIF 6"]).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer must rotate 90° clockwise
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, exif=exif)
    result = ocr(buf.getvalue())
    assert squash(result.text) == ["旋转标记EXIF6"]
    assert result.width > result.height  # reported size is after the EXIF rotation


def test_preprocess_modes_and_stages(ocr: OCR) -> None:
    img = to_bgr(render_lines(["预处理 Preprocess"]))
    for mode in ("auto", "none", "classic"):
        assert squash(ocr(img, preprocess=mode).text) == ["预处理Preprocess"]
    stages = ocr.preprocess_stages(img)
    assert list(stages) == ["original", "gray", "equalized", "binarized", "resized"]
    assert stages["resized"].shape[0] == 48
    assert set(np.unique(stages["binarized"])) <= {0, 255}


def test_fast_preset_reads_too(fast_ocr: OCR) -> None:
    assert squash(fast_ocr(to_bgr(render_lines(INVOICE))).text) == squash(INVOICE)


def test_many_threads_share_one_engine(ocr: OCR) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [["第一张 1111"], ["第二张 2222"], ["第三张 3333"], ["第四张 4444"]]
    images = [to_bgr(render_lines(t)) for t in texts]
    modes = ["auto", "none", "classic", "auto"]
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda a: squash(ocr(a[0], preprocess=a[1]).text),
                zip(images * 3, modes * 3, strict=True),
            )
        )
    expected = [[t[0].replace(" ", "")] for t in texts] * 3
    assert results == expected
    assert ocr.config.preprocess == "auto"


def test_very_wide_line_is_split_and_merged_without_loss(ocr: OCR) -> None:
    from cpuocr._engine.recognition import RecognitionConfig, TextRecognizer

    text = "本报告署名分析师具有中国证券业协会授予的证券投资咨询执业资格并登记为注册分析师"
    crop = to_bgr(render_lines([text], size=32, margin=4, spacing=0.2))
    whole = ocr.recognizer([crop])[0].text
    assert whole == text
    for max_width in (300, 480, 700):
        small = TextRecognizer(ocr.recognizer.model, RecognitionConfig(max_width=max_width))
        assert len(small._split(0, crop)) > 1
        assert small([crop])[0].text == text


def test_openvino_preset_reads_like_onnxruntime(ocr: OCR, openvino_ocr: OCR) -> None:
    assert openvino_ocr.runtime.backend == "openvino"
    image = to_bgr(render_lines(INVOICE))
    ov_result = openvino_ocr(image)
    assert squash(ov_result.text) == squash(INVOICE)
    # Same lines in the same places as the ONNX Runtime engine (bf16 moves boxes a pixel or two).
    ort_result = ocr(image)
    assert len(ov_result.lines) == len(ort_result.lines)
    for a, b in zip(ov_result.lines, ort_result.lines, strict=True):
        assert np.abs(np.asarray(a.box) - np.asarray(b.box)).max() <= 4


def test_openvino_engine_is_thread_safe(openvino_ocr: OCR) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"线程{i} {i}{i}{i}{i} Line" for i in range(6)]
    images = [to_bgr(render_lines([t])) for t in texts]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda im: squash(openvino_ocr(im).text), images * 2))
    assert results == [[t.replace(" ", "")] for t in texts] * 2
