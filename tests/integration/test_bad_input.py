"""Every kind of bad input gets a precise error from the engine (and exit code 3 from the CLI)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cpuocr import OCR, ImageTooLarge, InvalidImage, UnsupportedFormat
from cpuocr._engine.config import EngineConfig

from rendering import render_lines


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _bad_inputs() -> dict[str, tuple[bytes, type[Exception], str]]:
    page = render_lines(["截断测试 truncated"])
    png, jpeg = _png(page), _jpeg(page)
    return {
        "empty": (b"", InvalidImage, "empty"),
        "text": (b"hello, this is a text file\n", InvalidImage, "not an image"),
        "random": (bytes(range(256)) * 4, InvalidImage, "not an image"),
        "truncated_png": (png[: len(png) // 2], InvalidImage, "truncated"),
        "truncated_jpeg": (jpeg[: len(jpeg) // 2], InvalidImage, "truncated"),
        "header_only_png": (png[:40], InvalidImage, r"not an image|corrupt|truncated"),
        "svg": (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            UnsupportedFormat,
            "SVG",
        ),
        "pdf": (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", UnsupportedFormat, "PDF"),
    }


@pytest.mark.parametrize("case", sorted(_bad_inputs()))
def test_bad_bytes_raise_precise_errors(ocr: OCR, case: str) -> None:
    data, error, words = _bad_inputs()[case]
    with pytest.raises(error, match=words):
        ocr(data)


def test_missing_file(ocr: OCR, tmp_path: Path) -> None:
    with pytest.raises(InvalidImage, match="no such file"):
        ocr(tmp_path / "nope.png")


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    # A BMP header that claims 60000×60000 pixels: refused from the header, nothing decoded.
    header = bytearray(b"BM" + (54).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little"))
    header += (40).to_bytes(4, "little") + (60000).to_bytes(4, "little", signed=True)
    header += (60000).to_bytes(4, "little", signed=True) + (1).to_bytes(2, "little")
    header += (24).to_bytes(2, "little") + bytes(24)
    ocr = OCR(config=EngineConfig(max_pixels=40_000_000))
    with pytest.raises(ImageTooLarge, match=r"too large|over the limit"):
        ocr(bytes(header))
    big = _png(Image.new("L", (3000, 2000), 255))  # 6 MP, a few KB of PNG
    with pytest.raises(ImageTooLarge):
        OCR(config=EngineConfig(max_pixels=5_000_000))(big)


@pytest.mark.parametrize("size", [(1, 1), (1, 20000), (20000, 1)])
def test_extreme_shapes_succeed_with_few_lines(ocr: OCR, size: tuple[int, int]) -> None:
    result = ocr(_png(Image.new("RGB", size, "white")))
    assert (result.width, result.height) == size
    assert len(result.lines) <= 1


def test_odd_arrays(ocr: OCR) -> None:
    with pytest.raises(InvalidImage):
        ocr(np.zeros((0, 5, 3), dtype=np.uint8))
    with pytest.raises(InvalidImage):
        ocr(np.zeros((5, 5, 7), dtype=np.uint8))
    assert ocr(np.full((40, 40), 1.0, dtype=np.float32)).text == []


def test_the_callers_array_is_never_written_to(ocr: OCR) -> None:
    # Dark and low in contrast: ``auto`` enhances it, in place only in the engine's own copies.
    page = np.full((200, 300, 3), 40, np.uint8)
    page[80:120, 40:260] = 20
    before = page.copy()
    ocr(page)
    np.testing.assert_array_equal(page, before)


def test_unknown_preprocess_mode(ocr: OCR) -> None:
    from cpuocr import ConfigError

    with pytest.raises(ConfigError, match="valid modes"):
        ocr(np.zeros((10, 10, 3), dtype=np.uint8), preprocess="magic")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cpuocr", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_bad_inputs_exit_3_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    for path in (empty, text, tmp_path / "missing.png"):
        proc = _cli(str(path))
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.count("\n") == 1 and str(path) in proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_usage_errors_exit_2() -> None:
    assert _cli("--preset", "nope", "x.png").returncode == 2
    assert _cli().returncode == 2


def test_missing_models_name_the_install_command(tmp_path: Path) -> None:
    from cpuocr import ModelNotFound

    with pytest.raises(ModelNotFound, match="cpuocr models install"):
        OCR(config=EngineConfig(model_dir=tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "cpuocr", "x.png"],
        capture_output=True,
        text=True,
        env={"CPUOCR_MODEL_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert proc.returncode == 4 and "cpuocr models install" in proc.stderr
