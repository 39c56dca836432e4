"""The one ONNX Runtime wrapper: session options, threads, providers and model metadata."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import ModelNotFound


@dataclass(frozen=True)
class RuntimeConfig:
    """How every model session is built. ``threads=None`` uses all cores this process may use."""

    threads: int | None = None
    graph_optimization: str = "all"  # all | extended | basic | disabled
    memory_arena: bool = False  # off: arena growth on varying shapes is what makes RSS creep

    def intra_op_threads(self) -> int:
        if self.threads is not None and self.threads > 0:
            return self.threads
        return available_cores()


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_OPT_LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}


_HALF = np.float32(127.5)
_INV_HALF = np.float32(1.0 / 127.5)


def to_planar(image: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) → float32 (3, H, W) in [-1, 1]: the PP-OCR models' input scaling
    ((x / 255 - 0.5) / 0.5), shared by detection, orientation and recognition."""
    x = (image.astype(np.float32) - _HALF) * _INV_HALF
    return np.ascontiguousarray(x.transpose(2, 0, 1))


class OnnxModel:
    """A loaded ONNX model with one input. ``run`` is thread-safe (ORT sessions are)."""

    def __init__(self, path: Path, config: RuntimeConfig) -> None:
        if not path.is_file():
            raise ModelNotFound(f"model file {path} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.intra_op_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = _OPT_LEVELS[config.graph_optimization]
        opts.enable_cpu_mem_arena = config.memory_arena
        opts.log_severity_level = 3
        self.path = path
        self.session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.input_shape = list(self.session.get_inputs()[0].shape)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(out)
