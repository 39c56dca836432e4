from pathlib import Path

import pytest

from cpuocr._engine import models
from cpuocr.errors import ConfigError, ModelChecksumMismatch, ModelNotFound


def test_every_preset_names_known_files() -> None:
    for preset in models.PRESETS.values():
        for f in (preset.det, preset.rec, preset.cls):
            assert f is None or models.MODEL_FILES[f.name] == f
            assert f is None or len(f.sha256) == 64


def test_unknown_preset_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="default"):
        models.get_preset("huge")


def test_bundled_int8_files_verify() -> None:
    for f in models.MODEL_FILES.values():
        if f.package == models.BUNDLED:
            assert models.locate(f).parent == models.BUNDLED_DIR


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    wheel_file = models.MODEL_FILES["PP-OCRv6_det_small.onnx"]
    with pytest.raises(ModelNotFound, match="cpuocr models install"):
        models.locate(wheel_file, tmp_path)
    (tmp_path / wheel_file.name).write_bytes(b"not a model")
    with pytest.raises(ModelChecksumMismatch, match="SHA-256"):
        models.locate(wheel_file, tmp_path)
