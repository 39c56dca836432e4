"""``--device cuda`` where ONNX Runtime has no CUDA provider (every CI machine: the CPU build is
installed): the engine says why and reads on the CPU, with the same text, through every door.
On a GPU machine with ``cpuocr[gpu]`` the same calls run on the GPU (BENCHMARKS.md, "GPU")."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from cpuocr import OCR, EngineConfig
from cpuocr._engine import models, runtime
from cpuocr._engine.factory import model_files

from rendering import render_lines, to_bgr

PAGE = to_bgr(render_lines(["设备 device 回退 42", "Total 7.50 USD"]))
CLI = [sys.executable, "-m", "cpuocr"]

needs_cpu_build = pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(),
    reason="this onnxruntime has the CUDA provider: the fallback is not what runs here",
)


def test_on_a_gpu_the_int8_files_give_way_to_their_fp32_twins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: cuda)  # the GPU build's list
    for preset in ("default", "int8"):
        cpu = model_files(EngineConfig(preset=preset))
        gpu = model_files(EngineConfig.from_env({}, preset=preset, device="cuda"))
        assert ".int8." in cpu.det.name
        assert ".int8." not in gpu.det.name and ".int8." not in gpu.rec.name
        assert gpu.det.name == models.FLOAT_TWINS[cpu.det.name].name
    fp32 = EngineConfig(preset="fp32")
    assert model_files(fp32) == model_files(EngineConfig.from_env({}, preset="fp32", device="cuda"))


@needs_cpu_build
def test_without_the_gpu_build_cuda_keeps_the_presets_own_files() -> None:
    # the fallback runs on the CPU: the int8 files are the fast ones there
    assert model_files(EngineConfig.from_env({}, device="cuda")) == model_files(EngineConfig())


@needs_cpu_build
def test_asked_for_cuda_the_engine_reads_on_the_cpu_and_says_why(
    ocr: OCR, caplog: pytest.LogCaptureFixture
) -> None:
    runtime._say_once.cache_clear()  # said once per process: this test must see it said
    with (
        caplog.at_level(logging.WARNING, logger="cpuocr"),
        OCR(preset="fp32", device="cuda") as engine,
    ):
        assert engine.device == "cpu" and engine.config.runtime.device == "cuda"
        got = [line.text for line in engine(PAGE).lines]
    with OCR(preset="fp32") as cpu:
        assert got == [line.text for line in cpu(PAGE).lines]
    assert ocr.device == "cpu"
    said = [r.getMessage() for r in caplog.records if "no CUDA provider" in r.getMessage()]
    assert len(said) == 1 and "cpuocr[gpu]" in said[0]


@needs_cpu_build
def test_the_cli_reads_with_device_cuda_and_tells_how_to_get_the_gpu(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    render_lines(["设备 device 回退 42"]).save(image)
    out = subprocess.run(
        [*CLI, "--device", "cuda", str(image)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["设备 device 回退 42"]
    assert "no CUDA provider: running on the CPU" in out.stderr
    assert 'pip install "cpuocr[gpu]"' in out.stderr and "force-reinstall" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_commands_refuse_a_bad_device_and_cuda_on_ray(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    render_lines(["x"]).save(image)
    out = subprocess.run([*CLI, "--device", "gpu", str(image)], capture_output=True, text=True)
    assert out.returncode == 2 and "unknown device 'gpu'" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run(
        [*CLI, "batch", str(image), "--out", str(tmp_path / "o"), "--device", "cuda", "--ray"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "--device cuda with --ray is not supported" in out.stderr
    assert not (tmp_path / "o").exists()
