"""Model presets and model files: where they come from, where they live, and their SHA-256.

The fp32 weights are taken from pinned PyPI wheels that ship ONNX files (``rapidocr==3.10.0``
for PP-OCRv6 small, ``rapidocr-onnxruntime==1.4.4`` for PP-OCRv4 mobile). ``install_models``
downloads the pinned wheel with pip (set-up time only), extracts the files and checks their
hashes. At run time nothing is downloaded: a missing file raises :class:`ModelNotFound` naming
the install command.

The int8 files ship inside this package (``cpuocr/weights/``): they are made from the same
PP-OCRv6 small weights by ``python -m benchmarks.quantize`` (static QDQ, per-channel,
percentile calibration on the calibration slice of the dev sets, which a user's machine does not
have), and are SHA-256 checked like the others.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ModelChecksumMismatch, ModelNotFound

INSTALL_COMMAND = "cpuocr models install"


BUNDLED = "cpuocr"  # ModelFile.package for files shipped inside this package
BUNDLED_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ModelFile:
    """One ONNX file inside a pinned wheel (or bundled with cpuocr)."""

    name: str  # file name in the model directory
    package: str  # PyPI requirement, pinned; BUNDLED for files shipped in cpuocr/weights
    member: str  # path inside the wheel
    sha256: str


@dataclass(frozen=True)
class Preset:
    name: str
    det: ModelFile
    rec: ModelFile
    cls: ModelFile | None
    description: str
    backend: str = "onnxruntime"  # the runtime it was measured on (RuntimeConfig.backend wins)
    precision: str = "fp32"


_V6 = "rapidocr==3.10.0"
_V4 = "rapidocr-onnxruntime==1.4.4"

CLS_MOBILE = ModelFile(
    "ch_ppocr_mobile_v2.0_cls.onnx",
    _V6,
    "rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
)

MODEL_FILES: dict[str, ModelFile] = {
    m.name: m
    for m in (
        ModelFile(
            "PP-OCRv6_det_small.onnx",
            _V6,
            "rapidocr/models/PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
        ),
        ModelFile(
            "PP-OCRv6_rec_small.onnx",
            _V6,
            "rapidocr/models/PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        ),
        CLS_MOBILE,
        ModelFile(
            "PP-OCRv6_det_small.int8.onnx",
            BUNDLED,
            "",
            "e1675055a304d10b9e50102e9e06ba27b966749c9496c59d10b884904035c7b0",
        ),
        ModelFile(
            "PP-OCRv6_rec_small.int8.onnx",
            BUNDLED,
            "",
            "e896e43f0be858339cdc1b3c9b112777f01578c0bfa2f2d8dcf5c6360af82b52",
        ),
        ModelFile(
            "ch_PP-OCRv4_det_infer.onnx",
            _V4,
            "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
            "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        ),
        ModelFile(
            "ch_PP-OCRv4_rec_infer.onnx",
            _V4,
            "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
            "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        ),
    )
}

#: The fp32 file each int8 file was quantised from. ONNX Runtime's CUDA provider has no kernels
#: for the int8 operators (they would run on the CPU, with copies each way), so an engine on a
#: GPU loads these instead.
FLOAT_TWINS: dict[str, ModelFile] = {
    "PP-OCRv6_det_small.int8.onnx": MODEL_FILES["PP-OCRv6_det_small.onnx"],
    "PP-OCRv6_rec_small.int8.onnx": MODEL_FILES["PP-OCRv6_rec_small.onnx"],
}

PRESETS: dict[str, Preset] = {
    "default": Preset(
        "default",
        MODEL_FILES["PP-OCRv6_det_small.int8.onnx"],
        MODEL_FILES["PP-OCRv6_rec_small.onnx"],
        CLS_MOBILE,
        "PP-OCRv6 small: int8 detection, fp32 recognition (the fastest within 0.5 points)",
    ),
    "fp32": Preset(
        "fp32",
        MODEL_FILES["PP-OCRv6_det_small.onnx"],
        MODEL_FILES["PP-OCRv6_rec_small.onnx"],
        CLS_MOBILE,
        "PP-OCRv6 small detection + recognition in fp32 (rapidocr 3.10.0 weights)",
    ),
    "int8": Preset(
        "int8",
        MODEL_FILES["PP-OCRv6_det_small.int8.onnx"],
        MODEL_FILES["PP-OCRv6_rec_small.int8.onnx"],
        CLS_MOBILE,
        "PP-OCRv6 small, detection and recognition both int8 (fastest, a little less accurate)",
    ),
    "openvino": Preset(
        "openvino",
        MODEL_FILES["PP-OCRv6_det_small.onnx"],
        MODEL_FILES["PP-OCRv6_rec_small.onnx"],
        CLS_MOBILE,
        "PP-OCRv6 small fp32 files on OpenVINO, computing in bf16 where the CPU has bf16 units"
        " (AMX, AVX512-BF16), fp32 elsewhere; faster on such CPUs, more memory",
        backend="openvino",
        precision="bf16",
    ),
    # The fastest preset: the int8 preset's files under the name people look for. Measured
    # (BENCHMARKS.md, "Fast preset"): 25-30% less time than default, as accurate within ~0.6
    # point on every dev set, and more accurate than faster-paddle tiny on every one.
    "fast": Preset(
        "fast",
        MODEL_FILES["PP-OCRv6_det_small.int8.onnx"],
        MODEL_FILES["PP-OCRv6_rec_small.int8.onnx"],
        CLS_MOBILE,
        "the fastest: PP-OCRv6 small, detection and recognition int8 (the int8 preset's files)",
    ),
    # The older PP-OCRv4 mobile weights (this preset was called "fast" until it was measured
    # slower than default on every whole-image set and far weaker on document pages).
    "v4": Preset(
        "v4",
        MODEL_FILES["ch_PP-OCRv4_det_infer.onnx"],
        MODEL_FILES["ch_PP-OCRv4_rec_infer.onnx"],
        CLS_MOBILE,
        "PP-OCRv4 mobile detection + recognition (rapidocr-onnxruntime 1.4.4 weights): older,"
        " slower than default here and weaker on document pages; kept for comparison",
    ),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown preset {name!r}; valid presets: {valid}") from None


def model_dir(configured: Path | None = None) -> Path:
    """Where the downloaded model files live: ``configured`` (``EngineConfig.model_dir``, which
    ``CPUOCR_MODEL_DIR`` sets), else ``~/.cache/cpuocr/models``."""
    if configured is not None:
        return configured.expanduser()
    return Path.home() / ".cache" / "cpuocr" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(model: ModelFile, directory: Path | None = None, *, verify: bool = True) -> Path:
    """Path of an installed model file (bundled, or in :func:`model_dir` of ``directory``);
    raises ModelNotFound / ModelChecksumMismatch."""
    base = BUNDLED_DIR if model.package == BUNDLED else model_dir(directory)
    path = base / model.name
    if not path.is_file():
        raise ModelNotFound(
            f"model file {path} is missing; install the models with: {INSTALL_COMMAND}"
        )
    if verify:
        _verify_cached(path, model.sha256)
    return path


_VERIFIED: set[tuple[str, float, int]] = set()


def _verify_cached(path: Path, expected: str) -> None:
    # Hashing 30 MB takes ~50 ms; remember files already checked (by path, mtime, size).
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key in _VERIFIED:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ModelChecksumMismatch(
            f"model file {path} has SHA-256 {actual}, expected {expected}; "
            f"reinstall with: {INSTALL_COMMAND}"
        )
    _VERIFIED.add(key)


def install_models(directory: Path | None = None, *, quiet: bool = False) -> list[Path]:
    """Download the pinned wheels with pip and extract every known model file into
    :func:`model_dir` of ``directory`` (set-up only)."""
    target = model_dir(directory)
    target.mkdir(parents=True, exist_ok=True)
    installed: list[Path] = []
    by_package: dict[str, list[ModelFile]] = {}
    for m in MODEL_FILES.values():
        if m.package == BUNDLED:
            installed.append(locate(m))  # shipped with cpuocr: only verified
            continue
        by_package.setdefault(m.package, []).append(m)
    for package, files in sorted(by_package.items()):
        missing = [m for m in files if not _is_valid(target / m.name, m.sha256)]
        if not missing:
            installed.extend(target / m.name for m in files)
            continue
        with tempfile.TemporaryDirectory(prefix="cpuocr-wheel-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, package]
            subprocess.run(cmd, check=True)
            wheels = list(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise ModelNotFound(f"pip download of {package} gave {len(wheels)} wheels")
            with zipfile.ZipFile(wheels[0]) as zf:
                for m in missing:
                    partial = target / (m.name + ".part")
                    with zf.open(m.member) as src, partial.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
                    if sha256_file(partial) != m.sha256:
                        partial.unlink()
                        raise ModelChecksumMismatch(f"{m.member} from {package}: bad SHA-256")
                    partial.replace(target / m.name)
        installed.extend(target / m.name for m in files)
        if not quiet:
            print(f"installed {len(files)} model files from {package} into {target}")
    return installed


def _is_valid(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_file(path) == expected
