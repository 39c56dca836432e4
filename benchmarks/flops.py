"""Compute floor of cpuocr's ONNX models: FLOPs at the engine's real input sizes vs this CPU's peak.

    .venv/bin/python benchmarks/flops.py              # count, time, print a report
    .venv/bin/python benchmarks/flops.py --quick --markdown   # fewer repeats, markdown tables
    .venv/bin/python benchmarks/flops.py --no-time    # FLOP counts and peaks only (no CPU load)

Method
------
*Counting.* Each model's input is made static (the shapes the engine really feeds it: the detector
sizes come from ``cpuocr._engine.detection.plan_resize`` for the three images of the per-stage
profile in BENCHMARKS.md; the recogniser and orientation batches were recorded from ``OCR()`` on the
same images, see ``IMAGES``), then ``onnx.shape_inference.infer_shapes`` gives every tensor's shape
(the recogniser's computed reshapes, ``Shape -> Slice -> Concat -> Reshape``, are folded to
constants first; the inferred Conv/MatMul shapes were checked against an ORT run).
Multiply-accumulates (MACs) are counted from those shapes:

- Conv / ConvInteger / QLinearConv: ``out_elems * (Cin / group) * prod(kernel)``, i.e. output
  elements times the weight's per-output fan-in (depthwise: ``out_elems * prod(kernel)``);
- ConvTranspose: ``in_elems * (Cout / group) * prod(kernel)`` (every input scatters to that many
  outputs);
- MatMul / MatMulInteger / QLinearMatMul (batched too): ``out_elems * K``; Gemm: ``M * N * K``.

FLOPs = 2 * MACs. Bias adds are not counted. Everything else (Add, Mul, activations, pooling,
normalisation, Resize, Softmax, Q/DQ) is counted roughly as one op per output element (per input
element for pools, reductions and normalisations) and reported separately: it is memory-bound
work, not FMA work, and a few percent of the total. Data movement (Reshape, Transpose, Concat,
Slice...) counts zero. QDQ int8 models are counted the same way: in QDQ format the compute nodes
are still Conv / MatMul (ORT fuses them with their Q/DQ neighbours into int8 kernels at load).

*Peak.* From ``/proc/cpuinfo``: the ISA flags, the reported ``cpu MHz`` (a VM often reports the
base/TSC clock; the real turbo clock is unknown, so peaks may be understated by the turbo ratio)
and the cores this process may use. Per core and cycle (vendor peaks, see ``PEAKS``):

- fp32 AVX-512 FMA: 2 FMA units x 16 lanes x 2 flops = 64 flops;
- int8 AVX-512 VNNI: ``vpdpbusd zmm`` = 64 u8*s8 MACs, 2 units -> 128 MACs = 256 int8 ops;
- int8 AMX (TMUL): 1024 MACs = 2048 int8 ops; bf16 AMX: 512 MACs = 1024 flops.

*Achieved.* ``session.run`` of each model at each shape through cpuocr's own ``OnnxModel`` (intra-op
2 threads, graph optimisation "all", the engine's session options), median of a few runs after
warm-up, on random inputs (dense kernels do not depend on the values). Achieved GFLOP/s = counted
GFLOPs / median seconds; int8 models are compared with the VNNI and AMX int8 peaks, fp32 models with
the fp32 AVX-512 peak. The ratio is an upper bound on "compute efficiency": depthwise convs and the
elementwise ops are memory-bound and cannot run at the FMA peak anyway.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from cpuocr._engine import models as model_store
from cpuocr._engine.config import EngineConfig
from cpuocr._engine.detection import DetectionConfig, plan_resize
from cpuocr._engine.runtime import OnnxModel, RuntimeConfig, available_cores

Shape = tuple[int, ...]

# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------

# Nodes that move or relabel data: no arithmetic counted.
_MOVEMENT = {
    "Identity",
    "Reshape",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Slice",
    "Concat",
    "Split",
    "Shape",
    "Cast",
    "Constant",
    "Gather",
    "Flatten",
    "Expand",
    "Pad",
}
# Elementwise-like nodes counted per *input* element (they read everything, write little).
_PER_INPUT = {
    "GlobalAveragePool",
    "GlobalMaxPool",
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "MaxPool",
    "AveragePool",
    "LayerNormalization",
    "Softmax",
    "BatchNormalization",
}
_CONV = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}  # op -> index of the weight input
_MATMUL = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}  # A, B indices


@dataclass
class OpCount:
    """MACs of the dense ops by kind, and rough elementwise op counts by op type."""

    macs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    other: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    @property
    def total_other(self) -> int:
        return sum(self.other.values())

    @property
    def gflops(self) -> float:
        return 2 * self.total_macs / 1e9

    def add(self, other: OpCount) -> None:
        for k, v in other.macs.items():
            self.macs[k] += v
        for k, v in other.other.items():
            self.other[k] += v


def _prod(dims: Iterable[int]) -> int:
    return math.prod(dims)


def static_shapes(model: onnx.ModelProto, input_shape: Sequence[int]) -> onnx.ModelProto:
    """A copy of ``model`` with its (first) input fixed to ``input_shape``, shapes inferred.

    Shape computations (``Shape -> Slice -> Concat -> Reshape`` and the like) that ONNX's data
    propagation leaves open are folded to constants and inference is run again, until every
    tensor whose shape follows from the input has one.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    # Initializers also listed as graph inputs (older exporters) count as overridable and would
    # never be folded: keep only the real inputs.
    initializers = {t.name for t in m.graph.initializer}
    graph_inputs = [_copy(i) for i in m.graph.input if i.name not in initializers]
    del m.graph.input[:]
    m.graph.input.extend(graph_inputs)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != len(input_shape):
        raise ValueError(f"input has rank {len(dims)}, got shape {tuple(input_shape)}")
    for d, v in zip(dims, input_shape, strict=True):
        d.Clear()
        d.dim_value = int(v)
    for out in m.graph.output:
        for d in out.type.tensor_type.shape.dim:
            d.Clear()
    for _ in range(20):
        del m.graph.value_info[:]  # stale symbolic shapes would only get in the way
        m = shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
        if not _fold_shape_ops(m):
            break
    return m


_M = TypeVar("_M", onnx.ValueInfoProto, onnx.NodeProto)


def _copy(msg: _M) -> _M:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


_FOLDABLE = {
    "Constant",
    "Identity",
    "Slice",
    "Concat",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Cast",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Floor",
    "Ceil",
    "Range",
    "Equal",
    "Where",
    "ReduceProd",
    "Reshape",
    "Expand",
    "ConstantOfShape",
    "Min",
    "Max",
    "Less",
    "Greater",
    "Not",
}
_SMALL = 64  # only tensors this small are folded: shape vectors and scalars, never weights


def _evaluate(
    node: onnx.NodeProto, feeds: dict[str, np.ndarray], opsets: dict[str, int]
) -> np.ndarray:
    """One node on constant inputs, by ONNX's reference evaluator at the model's opset."""
    inputs = [
        helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
        for k, v in feeds.items()
    ]
    output = helper.make_empty_tensor_value_info(node.output[0])
    graph = helper.make_graph([node], "fold", inputs, [output])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()]
    )
    outputs = ReferenceEvaluator(model).run(None, feeds)
    first = outputs[node.output[0]] if isinstance(outputs, dict) else outputs[0]
    return np.asarray(first)


def _fold_shape_ops(m: onnx.ModelProto) -> bool:
    """Replace shape arithmetic with constants (in place); True if anything was folded."""
    shapes = _shape_table(m)
    consts: dict[str, np.ndarray] = {
        t.name: numpy_helper.to_array(t) for t in m.graph.initializer if _prod(t.dims) <= _SMALL
    }
    opsets = {o.domain or "": o.version for o in m.opset_import if o.domain in ("", "ai.onnx")}
    kept: list[onnx.NodeProto] = []
    folded: list[onnx.TensorProto] = []
    for node in m.graph.node:
        value: np.ndarray | None = None
        if len(node.output) == 1 and node.op_type == "Shape":
            s = shapes.get(node.input[0])
            if s is not None:
                start, end = _attr(node, "start", 0), _attr(node, "end", len(s))
                value = np.array(s[start:end], dtype=np.int64)
        elif (
            len(node.output) == 1
            and node.op_type in _FOLDABLE
            and all(i in consts for i in node.input if i)
        ):
            feeds = {i: consts[i] for i in node.input if i}
            value = _evaluate(node, feeds, opsets)
        if value is not None and value.size <= _SMALL:
            consts[node.output[0]] = value
            folded.append(numpy_helper.from_array(value, node.output[0]))
        else:
            kept.append(_copy(node))
    if not folded:
        return False
    del m.graph.node[:]
    m.graph.node.extend(kept)
    m.graph.initializer.extend(folded)
    return True


def _shape_table(model: onnx.ModelProto) -> dict[str, Shape | None]:
    table: dict[str, Shape | None] = {}
    for t in model.graph.initializer:
        table[t.name] = tuple(int(d) for d in t.dims)
    for vi in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            table.setdefault(vi.name, None)
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        table[vi.name] = None if any(d <= 0 for d in dims) else tuple(dims)
    for node in model.graph.node:  # Constant nodes: shapes from their tensor
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    table[node.output[0]] = tuple(int(d) for d in a.t.dims)
    return table


def _conv_kind(weight: Shape, group: int) -> str:
    kernel = weight[2:]
    if group > 1 and weight[1] == 1:
        return "Conv dw"
    if group > 1:
        return "Conv grouped"
    if _prod(kernel) == 1:
        return "Conv 1x1"
    return "Conv " + "x".join(str(k) for k in kernel)


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def count_ops(model: onnx.ModelProto, input_shape: Sequence[int]) -> OpCount:
    """MACs by dense-op kind and rough elementwise ops of ``model`` at a static input shape.

    Raises ``ValueError`` when a dense op's shapes cannot be inferred (its count would be lost).
    """
    inferred = static_shapes(model, input_shape)
    shapes = _shape_table(inferred)
    count = OpCount()

    def need(name: str, node: onnx.NodeProto) -> Shape:
        s = shapes.get(name)
        if s is None:
            raise ValueError(f"no static shape for {name!r} ({node.op_type} {node.name!r})")
        return s

    for node in inferred.graph.node:
        op = node.op_type
        if op in _CONV:
            out = need(node.output[0], node)
            w = need(node.input[_CONV[op]], node)
            group = _attr(node, "group", 1)
            count.macs[_conv_kind(w, group)] += _prod(out) * _prod(w[1:])
        elif op == "ConvTranspose":
            x = need(node.input[0], node)
            w = need(node.input[1], node)  # (Cin, Cout/group, *kernel)
            count.macs["ConvTranspose"] += _prod(x) * _prod(w[1:])
        elif op in _MATMUL:
            ia, _ = _MATMUL[op]
            a = need(node.input[ia], node)
            out = need(node.output[0], node)
            count.macs["MatMul"] += _prod(out) * a[-1]
        elif op == "Gemm":
            a = need(node.input[0], node)
            out = need(node.output[0], node)
            k = a[0] if _attr(node, "transA", 0) else a[-1]
            count.macs["Gemm"] += _prod(out) * k
        elif op in _MOVEMENT:
            continue
        else:
            name = node.input[0] if op in _PER_INPUT else node.output[0]
            s = shapes.get(name)
            if s is not None:
                count.other[op] += _prod(s)
    return count


# ---------------------------------------------------------------------------------------------
# Peak
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeakUnit:
    name: str
    flags: tuple[str, ...]  # all required in /proc/cpuinfo
    ops_per_cycle: int  # per core, 2 ops per MAC
    source: str


# Vendor peaks per core and cycle (2 ops per multiply-accumulate).
# - fp32 AVX-512: Xeon Scalable Gold/Platinum cores (Skylake-SP .. Sapphire Rapids) have two
#   512-bit FMA units (port 0+1 fused, port 5): 2 x 16 fp32 lanes x 2 = 64 flops/cycle. Intel 64
#   and IA-32 Optimization Reference Manual, "Intel AVX-512 ... two FMA units"; some Bronze/Silver
#   and client SKUs have one unit (32 flops/cycle).
# - int8 AVX-512 VNNI: VPDPBUSD zmm multiplies 64 u8 x s8 pairs and accumulates groups of 4 into
#   16 int32 lanes (64 MACs per instruction), two per cycle on the two 512-bit units -> 128 MACs
#   = 256 int8 ops/cycle. Intel DL Boost material quotes "256 INT8 ops/cycle/core" for VNNI.
# - AMX int8: TDPBUSD computes a 16x16 int32 tile from 16x64 by 64x16 bytes = 16384 MACs and
#   issues every 16 cycles -> 1024 MACs = 2048 int8 ops/cycle. Intel's AMX overview and the
#   Architecture Day 2021 slides: "2048 INT8 operations per cycle" per core (ops, not MACs).
# - AMX bf16: TDPBF16PS, 16x16 fp32 from 16x32 by 32x16 bf16 = 8192 MACs per 16 cycles ->
#   512 MACs = 1024 flops/cycle ("1024 BF16 operations per cycle", same sources).
PEAKS = (
    PeakUnit("fp32 AVX-512 FMA", ("avx512f",), 64, "2 FMA units x 16 lanes x 2"),
    PeakUnit("int8 AVX-512 VNNI", ("avx512_vnni",), 256, "2 units x 64 MAC x 2"),
    PeakUnit("int8 AMX", ("amx_tile", "amx_int8"), 2048, "1024 MAC/cycle (Intel: 2048 ops)"),
    PeakUnit("bf16 AMX", ("amx_tile", "amx_bf16"), 1024, "512 MAC/cycle (Intel: 1024 ops)"),
)


@dataclass(frozen=True)
class Cpu:
    model: str
    mhz: float
    cores: int
    flags: frozenset[str]

    def peak_gops(self, unit: PeakUnit) -> float | None:
        if not all(f in self.flags for f in unit.flags):
            return None
        return unit.ops_per_cycle * self.mhz * 1e6 * self.cores / 1e9


def read_cpu(path: Path = Path("/proc/cpuinfo")) -> Cpu:
    model, flags, mhz = "unknown", frozenset[str](), []
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        elif key == "cpu MHz":
            mhz.append(float(value))
    return Cpu(model, statistics.mean(mhz) if mhz else float("nan"), available_cores(), flags)


# ---------------------------------------------------------------------------------------------
# Cases: the engine's real input shapes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    name: str
    width: int
    height: int
    rec_batches: tuple[tuple[Shape, int], ...]  # (batch shape, how many such batches)
    cls_batches: tuple[tuple[Shape, int], ...]


def _rec(*items: tuple[int, int, int]) -> tuple[tuple[Shape, int], ...]:
    return tuple(((n, 3, 48, w), k) for n, w, k in items)


# Recorded 2026-11 from OCR() (default preset) on the profile's images, by wrapping
# OnnxModel.run: every recogniser / orientation batch shape (n, 3, 48, W) and its count.
IMAGES = (
    Image(
        "page 1655x2340 (148 lines)",
        1655,
        2340,
        _rec(
            *[(1, w, 1) for w in (1233, 1293, 1295, 1360, 1362, 1370, 1372, 1382)],
            (1, 1374, 4),
            (1, 1377, 3),
            *[(2, w, 1) for w in (916, 1191, 1202, 1205, 1206, 1209, 1215)],
            (3, 677, 1),
            (3, 836, 1),
            (4, 605, 1),
            (5, 436, 1),
            (7, 335, 1),
            (9, 277, 1),
            (11, 227, 1),
            (13, 180, 1),
            (16, 96, 2),
            (16, 101, 1),
            (16, 120, 1),
        ),
        (((12, 3, 48, 192), 1),),
    ),
    Image(
        "receipt 992x1403 (79 lines)",
        992,
        1403,
        _rec(
            (3, 572, 1),
            (3, 725, 1),
            (4, 537, 1),
            (5, 437, 1),
            (6, 360, 1),
            (10, 232, 1),
            (16, 96, 1),
            (16, 99, 1),
            (16, 142, 1),
        ),
        (((12, 3, 48, 192), 1),),
    ),
    Image(
        "screenshot 340x76 (4 lines)",
        340,
        76,
        _rec((1, 644, 1), (3, 344, 1)),
        (((4, 3, 48, 192), 1),),
    ),
)


@dataclass(frozen=True)
class Case:
    model: str  # file name
    label: str  # input description
    batches: tuple[tuple[Shape, int], ...]
    stage: str  # det | rec | cls
    image: str = ""  # IMAGES name, for the per-image floor

    @property
    def int8(self) -> bool:
        return ".int8." in self.model


def det_shape(image: Image) -> Shape:
    t = plan_resize(image.width, image.height, DetectionConfig())
    return (1, 3, t.dst_h, t.dst_w)


def _fmt_shape(s: Shape) -> str:
    return "x".join(str(d) for d in s)


def _fmt_batches(batches: Sequence[tuple[Shape, int]]) -> str:
    if len(batches) == 1 and batches[0][1] == 1:
        return _fmt_shape(batches[0][0])
    n = sum(k for _, k in batches)
    lines = sum(s[0] * k for s, k in batches)
    pixels = sum(s[0] * s[3] * k for s, k in batches)
    return f"{n} batches, {lines} crops, {pixels} px wide in all"


V6_DET, V6_DET8 = "PP-OCRv6_det_small.onnx", "PP-OCRv6_det_small.int8.onnx"
V6_REC, V6_REC8 = "PP-OCRv6_rec_small.onnx", "PP-OCRv6_rec_small.int8.onnx"
V4_DET, V4_REC = "ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx"
CLS = model_store.CLS_MOBILE.name


def cases() -> list[Case]:
    out: list[Case] = []
    for img in IMAGES:
        short = img.name.split(" (")[0]
        det = ((det_shape(img), 1),)
        label = f"{short}: {_fmt_shape(det[0][0])}"
        out += [
            Case(V6_DET, label, det, "det", img.name),
            Case(V6_DET8, label, det, "det", img.name),
        ]
        if img is IMAGES[0]:
            out.append(Case(V4_DET, label, det, "det", img.name))
    one_line = (((1, 3, 48, 320), 1),)
    for model in (V6_REC, V6_REC8, V4_REC):
        out.append(Case(model, "one line: 1x3x48x320", one_line, "rec"))
    for img in IMAGES:
        short = img.name.split(" (")[0]
        label = f"{short} lines: {_fmt_batches(img.rec_batches)}"
        out.append(Case(V6_REC, label, img.rec_batches, "rec", img.name))
        if img is IMAGES[0]:
            out.append(Case(V6_REC8, label, img.rec_batches, "rec", img.name))
        label = f"{short} lines: {_fmt_batches(img.cls_batches)}"
        out.append(Case(CLS, label, img.cls_batches, "cls", img.name))
    return out


def model_path(name: str) -> Path:
    directory = EngineConfig.from_env().model_dir
    return model_store.locate(model_store.MODEL_FILES[name], directory, verify=False)


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def time_case(
    model: OnnxModel, batches: Sequence[tuple[Shape, int]], warm: int, runs: int
) -> float:
    """Median seconds of one pass over all ``batches`` (each shape run as often as it occurs)."""
    rng = np.random.default_rng(0)
    inputs = [(rng.uniform(-1, 1, s).astype(np.float32), k) for s, k in batches]

    def one_pass() -> None:
        for x, k in inputs:
            for _ in range(k):
                model.run(x)

    for _ in range(warm):
        one_pass()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    case: Case
    count: OpCount
    seconds: float | None = None


def count_case(proto: onnx.ModelProto, case: Case, cache: dict[Shape, OpCount]) -> OpCount:
    total = OpCount()
    for shape, k in case.batches:
        if shape not in cache:
            cache[shape] = count_ops(proto, shape)
        c = cache[shape]
        for _ in range(k):
            total.add(c)
    return total


def shares(count: OpCount) -> str:
    total = count.total_macs or 1
    parts = sorted(count.macs.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in parts if v / total >= 0.005)


def peak_pcts(r: Result, cpu: Cpu) -> str:
    if r.seconds is None:
        return ""
    achieved = r.count.gflops / r.seconds
    units = ("int8 AVX-512 VNNI", "int8 AMX") if r.case.int8 else ("fp32 AVX-512 FMA",)
    out = []
    for u in PEAKS:
        if u.name in units:
            peak = cpu.peak_gops(u)
            short = u.name.split()[-1] if r.case.int8 else "fp32"
            out.append(f"{100 * achieved / peak:.1f}% {short}" if peak else f"n/a {short}")
    return " / ".join(out)


def print_peaks(cpu: Cpu) -> None:
    print(f"CPU: {cpu.model}, {cpu.cores} cores usable, reported clock {cpu.mhz:.0f} MHz")
    print("  (the 'cpu MHz' of /proc/cpuinfo; turbo clock unknown, so peaks may be understated)")
    for u in PEAKS:
        g = cpu.peak_gops(u)
        have = f"{g:8.0f} G{'FLOP' if 'fp' in u.name else 'OP'}/s" if g else "   absent"
        print(f"  {u.name:18s} {u.ops_per_cycle:5d} ops/cycle/core ({u.source}): {have}")


def print_text(results: list[Result], cpu: Cpu) -> None:
    for r in results:
        c = r.count
        print(f"\n{r.case.model}  [{r.case.label}]")
        print(
            f"  {c.total_macs / 1e9:.3f} GMACs = {c.gflops:.3f} GFLOPs; "
            f"elementwise etc. ~{c.total_other / 1e9:.3f} Gops (not in GFLOPs)"
        )
        print(f"  dense share: {shares(c)}")
        top = sorted(c.other.items(), key=lambda kv: -kv[1])[:5]
        print("  elementwise top: " + ", ".join(f"{k} {v / 1e6:.0f}M" for k, v in top))
        if r.seconds is not None:
            gfs = c.gflops / r.seconds
            print(
                f"  median {1e3 * r.seconds:.1f} ms -> {gfs:.1f} GFLOP/s "
                f"({peak_pcts(r, cpu)} of peak)"
            )


@dataclass(frozen=True)
class Floor:
    image: str
    gop_int8: float  # the int8 detector
    gflop_fp32: float  # recogniser + orientation batches
    ms_fp32: float  # everything at the fp32 AVX-512 peak
    ms_vnni: float | None  # int8 detector at the VNNI peak, the rest at fp32
    ms_amx: float | None  # int8 detector at the AMX int8 peak, the rest at fp32
    measured_ms: float | None  # the same model runs, timed here


def floors(results: list[Result], cpu: Cpu) -> list[Floor]:
    """Per image, default preset (int8 det + fp32 rec + cls): compute floor and measured time."""
    fp32 = cpu.peak_gops(PEAKS[0])
    vnni, amx = cpu.peak_gops(PEAKS[1]), cpu.peak_gops(PEAKS[2])
    if not fp32:
        return []
    out = []
    for img in IMAGES:
        mine = [r for r in results if r.case.image == img.name]
        det8 = next(r for r in mine if r.case.model == V6_DET8)
        rest = [r for r in mine if r.case.model in (V6_REC, CLS)]
        g8 = det8.count.gflops
        g32 = sum(r.count.gflops for r in rest)
        secs = [r.seconds for r in [det8, *rest]]
        out.append(
            Floor(
                img.name,
                g8,
                g32,
                1e3 * (g8 + g32) / fp32,
                1e3 * (g8 / vnni + g32 / fp32) if vnni else None,
                1e3 * (g8 / amx + g32 / fp32) if amx else None,
                1e3 * sum(t for t in secs if t is not None) if None not in secs else None,
            )
        )
    return out


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def print_floor(results: list[Result], cpu: Cpu) -> None:
    print("\nCompute floor per image, default preset (int8 det + fp32 rec + cls):")
    for f in floors(results, cpu):
        print(
            f"  {f.image}: {f.gop_int8:.1f} GOP int8 + {f.gflop_fp32:.1f} GFLOP fp32 -> "
            f"floor {f.ms_fp32:.0f} ms all at fp32 peak, {_ms(f.ms_vnni)} ms with int8 at the "
            f"VNNI peak, {_ms(f.ms_amx)} ms at the AMX peak; measured here {_ms(f.measured_ms)} ms"
        )


def print_markdown(results: list[Result], cpu: Cpu) -> None:
    peaks = ", ".join(
        f"{u.name} {g:.0f} G{'FLOP' if 'fp' in u.name else 'OP'}/s"
        for u in PEAKS
        if (g := cpu.peak_gops(u))
    )
    print(f"{cpu.model}, {cpu.cores} cores at the reported {cpu.mhz:.0f} MHz. Peaks: {peaks}.\n")
    print("| model | input | GFLOPs | median ms | achieved GFLOP/s | % of peak |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        ms = f"{1e3 * r.seconds:.1f}" if r.seconds is not None else "–"
        gfs = f"{r.count.gflops / r.seconds:.1f}" if r.seconds is not None else "–"
        model = r.case.model.removesuffix(".onnx")
        print(
            f"| {model} | {r.case.label} | {r.count.gflops:.2f} | {ms} | {gfs} | "
            f"{peak_pcts(r, cpu) or '–'} |"
        )
    print(
        "\n| image | det GOP (int8) | rec + cls GFLOP (fp32) | floor ms, fp32 peak "
        "| floor ms, int8 at VNNI / AMX | measured ms (same runs) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for f in floors(results, cpu):
        print(
            f"| {f.image} | {f.gop_int8:.1f} | {f.gflop_fp32:.1f} | {f.ms_fp32:.0f} | "
            f"{_ms(f.ms_vnni)} / {_ms(f.ms_amx)} | {_ms(f.measured_ms)} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer timing repeats")
    ap.add_argument("--no-time", action="store_true", help="count FLOPs only, run nothing")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables instead")
    ap.add_argument("--threads", type=int, default=2, help="ORT intra-op threads (default 2)")
    args = ap.parse_args(argv)

    cpu = read_cpu()
    results: list[Result] = []
    protos: dict[str, onnx.ModelProto] = {}
    counts: dict[str, dict[Shape, OpCount]] = defaultdict(dict)
    sessions: dict[str, OnnxModel] = {}
    runtime = RuntimeConfig(threads=args.threads, graph_optimization="all")
    for case in cases():
        if case.model not in protos:
            protos[case.model] = onnx.load(str(model_path(case.model)))
        result = Result(case, count_case(protos[case.model], case, counts[case.model]))
        if not args.no_time:
            if case.model not in sessions:
                sessions[case.model] = OnnxModel(model_path(case.model), runtime)
            passes = sum(k for _, k in case.batches)
            warm, runs = (1, 2) if args.quick else (2, 5)
            if passes > 1:  # a whole image's batches: already many runs per pass
                warm, runs = (1, 1) if args.quick else (1, 3)
            result.seconds = time_case(sessions[case.model], case.batches, warm, runs)
        results.append(result)
    if args.markdown:
        print_markdown(results, cpu)
    else:
        print_peaks(cpu)
        print_text(results, cpu)
        print_floor(results, cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
