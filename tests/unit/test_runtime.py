"""The runtime wrappers: both backends load the same file, agree, and reject bad settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cpuocr._engine import models
from cpuocr._engine.runtime import OnnxModel, OpenVinoModel, RuntimeConfig, load_model
from cpuocr.errors import ConfigError, ModelNotFound


@pytest.fixture(scope="module")
def rec_path() -> Path:
    return models.locate(models.PRESETS["fp32"].rec)


@pytest.mark.models  # the fp32 file of `cpuocr models install`
def test_backends_read_the_same_metadata_and_shape(rec_path: Path) -> None:
    ort_model = load_model(rec_path, RuntimeConfig(backend="onnxruntime"))
    ov_model = load_model(rec_path, RuntimeConfig(backend="openvino", precision="fp32"))
    assert isinstance(ort_model, OnnxModel) and isinstance(ov_model, OpenVinoModel)
    assert ov_model.metadata["character"] == ort_model.metadata["character"]
    assert len(ov_model.metadata["character"].splitlines()) > 18000
    assert ov_model.input_shape[1:3] == [3, 48]
    assert ov_model.shape_step > 1 and ort_model.shape_step == 1


@pytest.mark.models  # the fp32 file of `cpuocr models install`
def test_openvino_fp32_matches_onnxruntime(rec_path: Path) -> None:
    rng = np.random.default_rng(7)
    batch = rng.uniform(-1, 1, (2, 3, 48, 192)).astype(np.float32)
    ort_out = load_model(rec_path, RuntimeConfig(backend="onnxruntime")).run(batch)
    ov_out = load_model(rec_path, RuntimeConfig(backend="openvino", precision="fp32")).run(batch)
    assert ov_out.shape == ort_out.shape
    assert np.abs(ov_out - ort_out).max() < 1e-3
    assert (ov_out.argmax(-1) == ort_out.argmax(-1)).all()


@pytest.mark.models  # the fp32 file of `cpuocr models install`
def test_openvino_output_is_not_overwritten_by_the_next_call(rec_path: Path) -> None:
    model = load_model(rec_path, RuntimeConfig(backend="openvino", precision="fp32"))
    rng = np.random.default_rng(8)
    a, b = (rng.uniform(-1, 1, (1, 3, 48, 128)).astype(np.float32) for _ in range(2))
    first = model.run(a)
    kept = first.copy()
    model.run(b)
    assert np.array_equal(first, kept)


@pytest.mark.models  # the fp32 file of `cpuocr models install`
@pytest.mark.parametrize(
    ("change", "message"),
    [({"backend": "tensorrt"}, "unknown backend"), ({"precision": "int4"}, "unknown precision")],
)
def test_bad_runtime_settings_are_config_errors(
    rec_path: Path, change: dict[str, str], message: str
) -> None:
    config = dataclasses.replace(RuntimeConfig(backend="openvino"), **change)
    with pytest.raises(ConfigError, match=message):
        load_model(rec_path, config)


def test_missing_file_is_model_not_found(tmp_path: Path) -> None:
    for backend in ("onnxruntime", "openvino"):
        with pytest.raises(ModelNotFound):
            load_model(tmp_path / "nope.onnx", RuntimeConfig(backend=backend))
