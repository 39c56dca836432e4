"""Decoder work and decode memory (cpuocr._engine.imaging) and bounded preprocessing
(cpuocr._engine.preprocess) on files built in code: no models. Each decoder either has a cap checked
from the bytes before decoding (refused with WorkLimitExceeded, in milliseconds) or a test that its
worst in-limit file decodes in bounded time. Memory is measured as the peak RSS of a fresh
subprocess (VmHWM: unlike ru_maxrss, it is not inherited from the parent across fork and exec)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from cpuocr._engine import imaging, preprocess
from cpuocr._engine.imaging import array_to_bgr, load_image, probe_image
from cpuocr.errors import CpuocrError, InvalidImage, WorkLimitExceeded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import hostile_corpus as hc

#: A refusal reads the structure of the bytes only: it must be near-instant. Generous for a
#: shared machine; the refused files took 3–85 s to decode before the caps.
REFUSE_WITHIN_S = 2.0
#: Peak extra RSS allowed for decoding a 40 MP image (the BGR result alone is 120 MB; before
#: the banded conversion an RGBA PNG took 2.4 GB and an RGB JPEG 680 MB).
MAX_DECODE_RSS_MB = 400


def _refused(data: bytes, *, words: str) -> str:
    for call in (lambda: load_image(data, max_bytes=None), lambda: probe_image(data)):
        started = time.perf_counter()
        with pytest.raises(WorkLimitExceeded) as caught:
            call()
        assert time.perf_counter() - started < REFUSE_WITHIN_S
        assert words in str(caught.value), str(caught.value)
    return str(caught.value)


# -- JPEG scans and segments ----------------------------------------------------------------------


def test_a_progressive_jpeg_scan_bomb_is_refused_before_decoding_with_its_scan_count() -> None:
    data = hc.jpeg_scan_bomb()  # 6000×6600, 20000 empty scans, 5 KB: 45–85 s to decode before
    assert len(data) < 300_000
    message = _refused(data, words="scans")
    assert "20006 scans" in message and f"at most {imaging.MAX_JPEG_SCANS}" in message


def test_real_progressive_and_baseline_jpegs_are_far_under_the_scan_cap() -> None:
    picture = hc.base_picture()
    for options in ({"progressive": True}, {"progressive": False}, {"quality": 100}):
        data = hc.encode(picture, format="JPEG", **options)
        work = imaging._scan_decode_work(data)
        assert 1 <= work.jpeg_scans <= 12
        assert load_image(data).shape == (40, 120, 3)
    gray = hc.encode(picture.convert("L"), format="JPEG", progressive=True)
    assert imaging._scan_decode_work(gray).jpeg_scans <= 12


def test_a_jpeg_with_exactly_the_cap_of_scans_decodes() -> None:
    data = hc.jpeg_scan_bomb(64, 64, scans=imaging.MAX_JPEG_SCANS - 6)
    assert imaging._scan_decode_work(data).jpeg_scans == imaging.MAX_JPEG_SCANS
    assert load_image(data).shape == (64, 64, 3)
    with pytest.raises(WorkLimitExceeded):
        load_image(hc.jpeg_scan_bomb(64, 64, scans=imaging.MAX_JPEG_SCANS - 5))


def test_markers_inside_exif_and_entropy_data_are_not_counted_as_scans() -> None:
    # An EXIF thumbnail is a whole JPEG inside APP1; its SOS must not count (the walk skips
    # segments by length). 0xFF 0xDA cannot occur in entropy data (0xFF is stuffed there).
    exif = Image.Exif()
    exif[0x0112] = 1
    thumb = hc.encode(Image.new("RGB", (8, 8), "red"), format="JPEG")
    exif[0x9286] = thumb * 20  # UserComment: bytes that contain SOS markers
    data = hc.encode(hc.base_picture(), format="JPEG", exif=exif)
    assert data.count(b"\xff\xda") > 1
    assert imaging._scan_decode_work(data).jpeg_scans == 1


def test_a_jpeg_of_a_million_tiny_segments_is_refused() -> None:
    base = hc.base_file("jpeg")
    comments = b"\xff\xfe\x00\x02" * 1_000_000  # empty COM segments before the frame
    _refused(base[:2] + comments + base[2:], words="marker segments")


# -- TIFF strips, tiles and pages ----------------------------------------------------------------


def test_a_tiff_of_two_million_strips_is_refused_before_pil_opens_it() -> None:
    data = hc.tiff_many_strips()  # 16 MB; PIL's open alone took 3.3 s and the decode 700 MB
    message = _refused(data, words="strips")
    assert "2000000 strips" in message


def test_a_tiff_of_16x16_tiles_over_the_cap_is_refused() -> None:
    message = _refused(hc.tiff_many_tiles(), words="tiles")
    assert "156000 tiles" in message


def test_a_tiff_just_under_the_strip_cap_decodes_in_bounded_time() -> None:
    data = hc.tiff_many_strips(width=8, height=imaging.MAX_TIFF_STRIPS)
    started = time.perf_counter()
    assert load_image(data).shape == (imaging.MAX_TIFF_STRIPS, 8, 3)
    assert time.perf_counter() - started < 10.0  # ~0.4 s on a laptop


def test_a_tiff_of_180000_pages_decodes_its_first_page_only() -> None:
    data = hc.tiff_many_pages()
    assert len(data) > 15_000_000
    started = time.perf_counter()
    assert load_image(data, max_bytes=None).shape == (8, 8, 3)
    assert time.perf_counter() - started < 2.0


def test_a_big_endian_tiff_is_read_too() -> None:
    data = hc.encode(hc.base_picture(), format="TIFF")
    imaging.check_decode_work(data)
    big_endian = bytearray(b"MM\x00*" + struct.pack(">I", 8))
    entries = [(256, 8), (257, 8), (273, 0), (279, 64)]
    big_endian += struct.pack(">H", len(entries))
    for tag, value in entries:
        count = imaging.MAX_TIFF_STRIPS + 1 if tag in (273, 279) else 1
        big_endian += struct.pack(">HHII", tag, 4, count, value)
    arrays = b"\x00" * 8 * (imaging.MAX_TIFF_STRIPS + 1)  # room for both arrays
    with pytest.raises(WorkLimitExceeded, match="strips"):
        imaging.check_decode_work(bytes(big_endian) + arrays)
    # A count the file cannot hold is a damaged header (400), not work (422).
    with pytest.raises(InvalidImage, match="corrupt TIFF header"):
        imaging.check_decode_work(bytes(big_endian) + b"\x00" * 64)


# -- PNG chunks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("private", [False, True], ids=["idat", "private"])
def test_a_png_of_1_5_million_chunks_is_refused(private: bool) -> None:
    _refused(hc.png_many_chunks(private=private), words="chunks")


def test_a_png_just_under_the_chunk_cap_decodes_in_bounded_time() -> None:
    data = hc.png_many_chunks(chunks=imaging.MAX_PNG_CHUNKS - 10)
    started = time.perf_counter()
    assert load_image(data).shape == (64, 64, 3)
    assert time.perf_counter() - started < 5.0  # ~0.2 s on a laptop


# -- GIF and WebP frames --------------------------------------------------------------------------


def test_a_gif_of_200000_frames_decodes_its_first_frame_only() -> None:
    started = time.perf_counter()
    assert load_image(hc.gif_many_frames()).shape == (2, 2, 3)
    assert time.perf_counter() - started < 2.0


def test_a_gif_of_six_million_blocks_before_its_image_is_refused() -> None:
    _refused(hc.gif_many_frames(frames=1, extensions=6_000_000), words="blocks")


def test_an_animated_webp_of_200000_frames_decodes_its_first_frame_in_bounded_time() -> None:
    data = hc.webp_many_frames(width=64, height=64)
    assert len(data) > 5_000_000
    started = time.perf_counter()
    assert load_image(data).shape == (64, 64, 3)
    assert time.perf_counter() - started < 5.0  # libwebp's demuxer: ~0.2 s


# -- BMP RLE (PIL decodes it in pure Python) ------------------------------------------------------


def test_rle_bitmaps_over_the_pixel_cap_are_refused() -> None:
    message = _refused(hc.bmp_rle_eol(), words="RLE")  # 1 KB, 3.6 s of Python before
    assert "40000000×1" in message
    _refused(hc.bmp_rle_runs(), words="RLE")


def test_rle_bitmaps_with_too_much_rle_data_are_refused() -> None:
    data = hc.bmp_rle_runs(width=2000, height=2000, limit_bytes=imaging.MAX_BMP_RLE_BYTES + 64)
    _refused(data, words="bytes of RLE data")


def test_an_rle_bitmap_at_the_pixel_cap_decodes_in_bounded_time() -> None:
    data = hc.bmp_rle_eol(width=imaging.MAX_BMP_RLE_PIXELS, height=1)  # the padding worst case
    started = time.perf_counter()
    assert load_image(data).shape == (1, imaging.MAX_BMP_RLE_PIXELS, 3)
    assert time.perf_counter() - started < 10.0  # ~0.4 s on a laptop
    assert load_image(hc._bmp_rle8(hc.base_picture().convert("L"))).shape == (40, 120, 3)


def test_work_errors_are_cpuocr_errors_with_the_422_code() -> None:
    with pytest.raises(CpuocrError) as caught:
        load_image(hc.jpeg_scan_bomb())
    assert caught.value.code == "work_limit_exceeded"


# -- decode memory ---------------------------------------------------------------------------------


def test_the_memory_estimate_fits_every_40mp_image_and_refuses_bigger_when_allowed() -> None:
    w, h = 6000, 6600
    for mode in ("1", "L", "P", "I;16", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
        img = Image.new(mode, (8, 8))
        img._size = (w, h)  # the estimate reads only the header fields
        worst = imaging._DecodeWork(jpeg_scans=10, jpeg_components=4, jpeg_progressive=True)
        assert imaging.decode_memory_estimate(img, worst) <= imaging.DEFAULT_MAX_DECODE_BYTES
    header_only = hc.png_header(12000, 12000, 8, 6)  # 144 MP RGBA, allowed by max_pixels
    for call in (load_image, probe_image):
        started = time.perf_counter()
        with pytest.raises(WorkLimitExceeded, match="MiB"):
            call(header_only, max_pixels=200_000_000)  # type: ignore[operator]
        assert time.perf_counter() - started < REFUSE_WITHIN_S


_MEASURE = textwrap.dedent(
    """
    import json, sys
    from cpuocr._engine.imaging import load_image
    data = open(sys.argv[1], "rb").read()
    def status_kb(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field))
    before = status_kb("VmRSS")
    out = load_image(data, max_bytes=None)
    peak = status_kb("VmHWM")
    print(json.dumps({"shape": list(out.shape), "extra_mb": (peak - before) / 1024}))
    """
)


def _big_cases() -> dict[str, bytes]:
    w, h = 6000, 6600
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[::40] = 255
    picture = Image.fromarray(rgb)
    rotated = Image.Exif()
    rotated[0x0112] = 6
    g16 = np.zeros((h, w), np.uint16)
    g16[::40] = 60000
    return {
        "rgba-png": hc.png_rgba_40mp(),
        "la-png": hc.encode(picture.convert("LA"), format="PNG"),
        "palette-transparent-png": hc.encode(picture.convert("P"), format="PNG", transparency=0),
        "rgba16-png": hc._cv2_png(np.dstack([g16] * 4)),
        "gray16-png": hc._cv2_png(g16),
        "float-tiff": hc.encode(
            Image.fromarray(g16.astype(np.float32) / 65535), format="TIFF", compression="tiff_lzw"
        ),
        "exif-rotated-progressive-jpeg": hc.encode(
            picture, format="JPEG", progressive=True, exif=rotated
        ),
        "40000000x1-png": hc.png_gray(40_000_000, 1),
    }


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    paths = {}
    for name, data in _big_cases().items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    "name",
    [
        "rgba-png",
        "la-png",
        "palette-transparent-png",
        "rgba16-png",
        "gray16-png",
        "float-tiff",
        "exif-rotated-progressive-jpeg",
        "40000000x1-png",
    ],
)
def test_decoding_a_40mp_image_stays_within_about_three_results(
    big_files: dict[str, Path], name: str
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big_files[name])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(out.stdout)
    h, w, _ = answer["shape"]
    assert w * h >= 39_600_000
    assert answer["extra_mb"] < MAX_DECODE_RSS_MB, answer


# -- conversion results (the banded conversion must equal the plain formulas) ----------------------


def _white_flatten(rgba: np.ndarray) -> np.ndarray:
    """The reference: color × a + 255 × (1 − a), rounded half up, in float64, as BGR."""
    a = rgba[:, :, 3:4].astype(np.float64) / 255.0
    rgb = rgba[:, :, :3] * a + 255.0 * (1.0 - a)
    return np.floor(rgb + 0.5).astype(np.uint8)[:, :, ::-1]


@pytest.mark.parametrize("size", [(1500, 1000), (1_100_000, 2), (3, 1)])
def test_alpha_is_flattened_on_white_exactly_across_band_edges(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    w, h = size
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[0, 0, 3] = 0
    rgba[-1, -1, 3] = 255
    expected = _white_flatten(rgba)
    assert np.array_equal(load_image(Image.fromarray(rgba, "RGBA")), expected)
    assert np.array_equal(array_to_bgr(np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])), expected)


def test_la_and_transparent_palette_images_are_flattened_like_rgba() -> None:
    picture = hc.base_picture()
    la = picture.convert("LA")
    la.putalpha(Image.linear_gradient("L").resize(la.size))
    palette = picture.convert("P")
    for img in (la, palette):
        data = hc.encode(img, format="PNG", **({"transparency": 0} if img.mode == "P" else {}))
        decoded = Image.open(io.BytesIO(data))
        expected = _white_flatten(np.asarray(decoded.convert("RGBA")))
        assert np.array_equal(load_image(data), expected)


def test_rgb_cmyk_gray_and_1bit_images_convert_like_pil() -> None:
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (700, 1600, 3), dtype=np.uint8))
    for img in (rgb, rgb.convert("CMYK"), rgb.convert("L"), rgb.convert("1"), rgb.convert("P")):
        expected = np.asarray(img.convert("RGB"))[:, :, ::-1]
        got = load_image(img)
        assert got.flags.c_contiguous and got.dtype == np.uint8
        assert np.array_equal(got, expected), img.mode


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pil(orientation: int) -> None:
    rng = np.random.default_rng(orientation)
    picture = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = hc.encode(picture, format="PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))[:, :, ::-1]
    got = load_image(data)
    assert got.flags.c_contiguous
    assert np.array_equal(got, expected)


def test_high_depth_images_are_scaled_as_before() -> None:
    ramp16 = (np.arange(60 * 70, dtype=np.uint32).reshape(60, 70) * 15).astype(np.uint16)
    cases = [
        (ramp16, 255.0 / 65535.0),  # 16-bit with values over 4095: from 0–65535
        ((ramp16 // 16).astype(np.uint16), 255.0 / 4095.0),  # 12-bit: from 0–4095
        (ramp16.astype(np.int32) // 300, 1.0),  # 32-bit integers up to 255: as they are
        (ramp16.astype(np.float32) / 65535.0, 255.0),  # floats in 0–1
    ]
    for array, factor in cases:
        expected = np.clip(array.astype(np.float64) * factor + 0.5, 0, 255).astype(np.uint8)
        assert np.array_equal(array_to_bgr(array)[:, :, 0], expected), array.dtype
        img = Image.fromarray(array)  # I;16, I or F
        got = load_image(hc.encode(img, format="TIFF"))
        assert np.array_equal(got[:, :, 1], expected), img.mode


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(InvalidImage):
        array_to_bgr(np.zeros((4, 4, 5), np.uint8))  # (H, W, 2) is gray + alpha
    with pytest.raises(InvalidImage):
        array_to_bgr(np.zeros((0, 4), np.uint8))


# -- preprocessing bounds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(1, 400_000), (1, 40_000_000), (40_000_000, 1), (1, 1), (2, 3), (3000, 8)]
)
def test_the_classic_resized_stage_is_bounded(shape: tuple[int, int]) -> None:
    h, w = shape
    new_w, new_h = preprocess.classic_resized_size(w, h)
    assert 1 <= new_w <= preprocess.CLASSIC_MAX_WIDTH
    assert 1 <= new_h <= preprocess.CLASSIC_LINE_HEIGHT
    if w * preprocess.CLASSIC_LINE_HEIGHT / h <= preprocess.CLASSIC_MAX_WIDTH:
        assert new_h == preprocess.CLASSIC_LINE_HEIGHT  # ordinary lines keep the 48 px height


@pytest.mark.parametrize("shape", [(1, 400_000), (400_000, 1), (1, 1), (1, 7), (7, 1), (9, 2)])
def test_every_mode_handles_strips_and_specks(shape: tuple[int, int]) -> None:
    dark_flat = np.full((*shape, 3), 20, np.uint8)  # dark and flat: auto runs gamma and CLAHE
    dark_flat[:, ::3] = 24
    for mode in preprocess.MODES:
        out = preprocess.apply_preprocess(dark_flat, mode)
        assert out.shape == dark_flat.shape and out.dtype == np.uint8
    stages = preprocess.classic_stages(dark_flat)
    assert stages["binarized"].shape == shape
    assert stages["resized"].shape[1] <= preprocess.CLASSIC_MAX_WIDTH


def test_auto_enhancement_is_unchanged_on_an_ordinary_image() -> None:
    rng = np.random.default_rng(11)
    image = rng.integers(0, 40, (300, 500, 3), dtype=np.uint8)  # dark, low contrast
    lut = np.clip(((np.arange(256) / 255.0) ** 0.6) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(cv2.LUT(image, lut), cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    expected = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    before = image.copy()
    assert np.array_equal(preprocess.enhance_auto(image), expected)
    assert np.array_equal(image, before)  # the input is never written
    clean = np.full((50, 60, 3), 255, np.uint8)
    clean[20:30] = 0
    assert preprocess.enhance_auto(clean) is clean


_PREPROCESS_PEAK = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from cpuocr._engine import preprocess
    h, w, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    image = np.full((h, w, 3), 20, np.uint8)
    image[:, ::7] = 24
    def status_kb(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field))
    before = status_kb("VmRSS")
    if what == "stages":
        preprocess.classic_stages(image)
    else:
        preprocess.apply_preprocess(image, what)
    peak = status_kb("VmHWM")
    print(json.dumps({"extra_mb": (peak - before) / 1024}))
    """
)


@pytest.mark.parametrize(
    ("h", "w", "what", "limit_mb"),
    [
        (1, 400_000, "stages", 60),  # was 1.3 GB: a 48×19200000 resized stage
        (1, 40_000_000, "stages", 700),  # was a cv2.error (92 GB) → HTTP 500
        (1, 40_000_000, "auto", 400),  # was 1.2 GB: CLAHE's per-column buffers
        (6600, 6000, "auto", 400),
    ],
)
def test_preprocessing_memory_is_bounded(h: int, w: int, what: str, limit_mb: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PREPROCESS_PEAK, str(h), str(w), what],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["extra_mb"] < limit_mb
