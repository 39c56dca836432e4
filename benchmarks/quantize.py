"""Int8 static quantisation of a preset's detector or recogniser (QDQ, per-channel weights).

A developer tool: it needs the ``onnx`` package (the ``dev`` extra) and the dev sets, and it is
not part of the cpuocr wheel. Calibration inputs are made by the engine's own code from the
*calibration slice* of the dev sets (:func:`benchmarks.datasets.split_items` with
``part="calib"``), never from the items an fp32-vs-int8 comparison scores:

- detector: each page image is loaded, preprocessed, resized by
  :func:`cpuocr._engine.detection.plan_resize` and normalised by
  :func:`cpuocr._engine.detection.normalize_det`, exactly as
  :class:`cpuocr._engine.detection.TextDetector` does;
- recogniser: line crops (the line sets' images, and the fp32 detector's regions of the page
  images cut by :func:`cpuocr._engine.geometry.crop_quad`) are batched by
  :class:`cpuocr._engine.recognition.TextRecognizer` itself; the batches it sends to the model
  are recorded and replayed.

The quantised file keeps the fp32 model's ``metadata_props`` (the recogniser's charset is read
from its ``character`` key). Usage, from the repository root::

    .venv/bin/python -m benchmarks.quantize --model rec --out models-int8 --method percentile
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
import onnx.version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from cpuocr._engine import models as model_store
from cpuocr._engine.config import EngineConfig
from cpuocr._engine.factory import model_files
from cpuocr._engine.orientation import is_vertical, turn_upright_vertical
from cpuocr._engine.pipeline import OCR
from cpuocr._engine.preprocess import detector_enhancement

from .datasets import SETS, available_sets, find_data_dir, load_dataset, split_items

Role = Literal["det", "rec"]

METHODS: dict[str, CalibrationMethod] = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}

OPSET = 17
"""Opset the models are converted to before quantising (per-channel QDQ needs 13 or later)."""

ACTIVATION_TYPES: dict[str, QuantType] = {"quint8": QuantType.QUInt8, "qint8": QuantType.QInt8}


@dataclass(frozen=True)
class QuantizeOptions:
    """One quantisation recipe. ``exclude_op_types`` and ``exclude_tail`` keep sensitive parts
    in float: the op types named, and the tail of the graph from its N-th last weighted node
    (Conv/ConvTranspose/MatMul/Gemm) on — the DB head, or the CTC classifier with its bias and
    softmax (its top logit is exactly the outlier a percentile range would clip)."""

    role: Role
    preset: str = "default"
    method: str = "percentile"
    percentile: float = 99.99
    activation: str = "quint8"
    exclude_op_types: tuple[str, ...] = ()
    exclude_tail: int = 0
    max_images: int = 40  # calibration page images (detector) or pages cropped (recogniser)
    max_crops: int = 480  # calibration line crops for the recogniser
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.activation not in ACTIVATION_TYPES:
            valid = ", ".join(ACTIVATION_TYPES)
            raise ValueError(f"unknown activation type {self.activation!r}; choose one of {valid}")

    def variant(self) -> str:
        """A short file-name tag naming the recipe."""
        parts = [self.method, self.activation]
        if self.exclude_op_types:
            parts.append("no" + "-".join(sorted(self.exclude_op_types)).lower())
        if self.exclude_tail:
            parts.append(f"tail{self.exclude_tail}fp")
        return "_".join(parts)


@dataclass
class _Feeds(CalibrationDataReader):  # type: ignore[misc]
    """Calibration feeds made on demand, in ranges (ORT's ``CalibStridedMinMax`` protocol), so
    histogram calibrators never hold every activation of every image at once."""

    input_name: str
    make: list[_FeedMaker]
    start: int = 0
    end: int = 0
    cursor: int = 0
    made: int = field(default=0)

    def __post_init__(self) -> None:
        self.set_range(0, len(self.make))

    def __len__(self) -> int:
        return len(self.make)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.start, self.end, self.cursor = start_index, min(end_index, len(self.make)), start_index

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.cursor >= self.end:
            return None
        feed = self.make[self.cursor]()
        self.cursor += 1
        self.made += 1
        return {self.input_name: feed}


class _FeedMaker:
    """A calibration input, built when asked for (detector inputs are large)."""

    def __call__(self) -> np.ndarray:
        raise NotImplementedError


@functools.cache
def _engine(config: EngineConfig) -> OCR:
    """The engine whose own steps make the calibration inputs (built once per config)."""
    return OCR(config=config)


@dataclass(frozen=True)
class _DetFeed(_FeedMaker):
    image: Path
    config: EngineConfig

    def __call__(self) -> np.ndarray:
        # The engine's own steps: load, then the detector's input preparation with the mode's
        # enhancement of it.
        engine = _engine(self.config)
        enhance = detector_enhancement(engine.config.preprocess)
        return engine.detector.prepare(engine.prepare(self.image), enhance)[0]


@dataclass(frozen=True)
class _Batch(_FeedMaker):
    batch: np.ndarray

    def __call__(self) -> np.ndarray:
        return self.batch


def _spread(items: Sequence[Path], limit: int) -> list[Path]:
    """At most ``limit`` items, evenly spaced (deterministic)."""
    if len(items) <= limit:
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def calibration_images(data_dir: Path, kind: Literal["lines", "pages"], limit: int) -> list[Path]:
    """Images of the calibration slice of every available set of ``kind``, taken round-robin
    across sets so that no one set dominates, at most ``limit``."""
    per_set: list[list[Path]] = []
    for name in available_sets(data_dir):
        if SETS[name].kind != kind:
            continue
        items = split_items(load_dataset(name, data_dir).items, part="calib")
        per_set.append([item.image for item in items])
    out: list[Path] = []
    depth = 0
    while len(out) < limit and any(depth < len(s) for s in per_set):
        out.extend(s[depth] for s in per_set if depth < len(s))
        depth += 1
    return out[:limit]


def _model_path(role: Role, preset: str) -> Path:
    files = model_files(EngineConfig.from_env(preset=preset))
    return files.det if role == "det" else files.rec


def det_feeds(opts: QuantizeOptions, data_dir: Path) -> list[_FeedMaker]:
    config = EngineConfig.from_env(preset=opts.preset, threads=opts.threads)
    images = calibration_images(data_dir, "pages", opts.max_images)
    return [_DetFeed(path, config) for path in images]


def rec_feeds(opts: QuantizeOptions, data_dir: Path) -> list[_FeedMaker]:
    """Batches the engine's recogniser builds from calibration crops (fp32 detector regions of
    the page images, and the line sets' crops)."""
    engine = _engine(EngineConfig.from_env(preset=opts.preset, threads=opts.threads))
    crops: list[np.ndarray] = []
    page_crops: list[np.ndarray] = []
    for path in calibration_images(data_dir, "pages", opts.max_images):
        page_crops.extend(engine.line_crops(engine.prepare(path)))
    # Half line crops, half page regions (evenly spaced: a page has many similar lines).
    orientation = engine.config.orientation
    for path in calibration_images(data_dir, "lines", opts.max_crops // 2):
        crop = engine.prepare(path)
        crops.append(turn_upright_vertical(crop) if is_vertical(crop, orientation) else crop)
    room = opts.max_crops - len(crops)
    step = max(1, len(page_crops) // max(1, room))
    crops.extend(page_crops[::step][:room])
    # The batches the engine's recogniser would run on these crops, as it would build them.
    return [_Batch(batch) for batch in engine.recognizer.batches(crops)]


def weighted_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the Conv / ConvTranspose / MatMul / Gemm nodes, in graph order."""
    kinds = {"Conv", "ConvTranspose", "MatMul", "Gemm"}
    return [node.name for node in model.graph.node if node.op_type in kinds]


def tail_nodes(model: onnx.ModelProto, n_weighted: int) -> list[str]:
    """Names of the nodes from the ``n_weighted``-th last weighted node to the graph's end
    (ONNX graphs are stored in topological order)."""
    weighted = weighted_nodes(model)
    if n_weighted <= 0 or not weighted:
        return []
    first = weighted[-min(n_weighted, len(weighted))]
    names = [node.name for node in model.graph.node]
    return names[names.index(first) :]


def copy_metadata(source: onnx.ModelProto, target: onnx.ModelProto) -> None:
    """Replace ``target``'s metadata_props by ``source``'s (the charset lives there)."""
    del target.metadata_props[:]
    for prop in source.metadata_props:
        target.metadata_props.add(key=prop.key, value=prop.value)


def quantize_model(opts: QuantizeOptions, out_dir: Path, data_dir: Path | None = None) -> Path:
    """Quantise one model of a preset; returns the path of the int8 ONNX file written."""
    data = data_dir or find_data_dir()
    if data is None:
        raise FileNotFoundError("no shared/data folder found; set CPUOCR_DATA_DIR")
    source = _model_path(opts.role, opts.preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.stem}.int8_{opts.variant()}.onnx"
    with tempfile.TemporaryDirectory(prefix="cpuocr-quant-") as tmp:
        upgraded = Path(tmp) / "upgraded.onnx"
        prepared = Path(tmp) / "prepared.onnx"
        # Per-channel DequantizeLinear (its ``axis``) needs opset 13; the Paddle exports are 11/12.
        onnx.save(onnx.version_converter.convert_version(onnx.load(str(source)), OPSET), upgraded)
        # Shape inference and ORT's float optimisations (BN/Identity folding) before quantising.
        quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared))
        exclude = tail_nodes(model, opts.exclude_tail)
        exclude += [n.name for n in model.graph.node if n.op_type in opts.exclude_op_types]
        makers = det_feeds(opts, data) if opts.role == "det" else rec_feeds(opts, data)
        feeds = _Feeds(model.graph.input[0].name, makers)
        started = time.perf_counter()
        quantize_static(
            str(prepared),
            str(target),
            feeds,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=ACTIVATION_TYPES[opts.activation],
            weight_type=QuantType.QInt8,
            calibrate_method=METHODS[opts.method],
            nodes_to_exclude=exclude,
            extra_options={
                "CalibStridedMinMax": 1,  # one feed at a time: bounded memory for histograms
                "CalibPercentile": opts.percentile,
            },
        )
        print(
            f"calibrated on {feeds.made} {opts.role} inputs in "
            f"{time.perf_counter() - started:.0f} s; kept {len(exclude)} nodes in float",
            file=sys.stderr,
        )
    quantized = onnx.load(str(target))
    copy_metadata(onnx.load(str(source)), quantized)
    onnx.save(quantized, str(target))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quantize", description=__doc__)
    parser.add_argument("--model", choices=("det", "rec"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the int8 file")
    parser.add_argument("--preset", default="default", choices=sorted(model_store.PRESETS))
    parser.add_argument("--method", default="percentile", choices=sorted(METHODS))
    parser.add_argument("--percentile", type=float, default=99.99)
    parser.add_argument("--activation", default="quint8", choices=sorted(ACTIVATION_TYPES))
    parser.add_argument(
        "--exclude-op-types", default="", help="comma-separated op types kept in float"
    )
    parser.add_argument(
        "--exclude-tail",
        type=int,
        default=0,
        help="keep the graph in float from its N-th last Conv/MatMul on (the model's head)",
    )
    parser.add_argument("--max-images", type=int, default=40)
    parser.add_argument("--max-crops", type=int, default=480)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    opts = QuantizeOptions(
        role=args.model,
        preset=args.preset,
        method=args.method,
        percentile=args.percentile,
        activation=args.activation,
        exclude_op_types=tuple(t for t in args.exclude_op_types.split(",") if t),
        exclude_tail=args.exclude_tail,
        max_images=args.max_images,
        max_crops=args.max_crops,
        threads=args.threads,
    )
    target = quantize_model(opts, args.out, args.data_dir)
    size_mb = target.stat().st_size / 1e6
    print(f"{model_store.sha256_file(target)}  {target}  ({size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
