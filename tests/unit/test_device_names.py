"""Choosing where the models run (``--device``, ``CPUOCR_DEVICE``, ``OCR(device=)``): names are
checked when the config is made and the commands refuse what they cannot do. Nothing here needs
a GPU or a model file (tests/integration/test_device.py runs the engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpuocr import EngineConfig, RuntimeConfig
from cpuocr._engine.runtime import cuda_device_id, load_model
from cpuocr._serving.config import ServeConfig
from cpuocr.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "normal", "number"),
    [("cpu", "cpu", None), ("CPU", "cpu", None), ("cuda", "cuda", 0), (" CUDA:1 ", "cuda:1", 1)],
)
def test_device_names_are_normalised(name: str, normal: str, number: int | None) -> None:
    assert RuntimeConfig(device=name).device == normal
    assert cuda_device_id(normal) == number


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "cuda:-1", "tpu", ""])
def test_an_unknown_device_is_refused_when_the_config_is_made(name: str) -> None:
    with pytest.raises(ConfigError, match="valid: cpu, cuda, cuda:N"):
        RuntimeConfig(device=name)


def test_the_device_comes_from_the_environment_and_a_flag_wins() -> None:
    assert EngineConfig.from_env({}).runtime.device == "cpu"
    from_env = EngineConfig.from_env({"CPUOCR_DEVICE": "cuda", "CPUOCR_THREADS": "3"})
    assert (from_env.runtime.device, from_env.runtime.threads) == ("cuda", 3)
    assert from_env.on_gpu
    flag = EngineConfig.from_env({"CPUOCR_DEVICE": "cuda"}, device="cpu", threads=1)
    assert (flag.runtime.device, flag.runtime.threads) == ("cpu", 1)
    assert not flag.on_gpu
    with pytest.raises(ConfigError):
        EngineConfig.from_env({"CPUOCR_DEVICE": "gpu"})
    assert ServeConfig.from_env({"CPUOCR_DEVICE": "cuda:0"}).device == "cuda:0"


def test_openvino_cannot_be_sent_to_a_gpu(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"x")
    with pytest.raises(ConfigError, match="needs backend 'onnxruntime'"):
        load_model(path, RuntimeConfig(backend="openvino", device="cuda"))
