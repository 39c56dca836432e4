"""The MAC counter of benchmarks/flops.py on tiny hand-built graphs vs hand-computed numbers."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from benchmarks import flops as flops_module


@pytest.fixture(scope="module")
def flops() -> ModuleType:
    return flops_module


def _tensor(name: str, shape: list[int], dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, dtype), name)


def _model() -> onnx.ModelProto:
    """x (N,3,H,W) -> Conv 3x3 (4 out) -> Relu -> depthwise Conv 3x3 stride 2 (group 4)
    -> Reshape to (N, 4, -1), the target computed from Shape -> Slice -> Concat -> MatMul (16x5).
    """
    inits = [
        _tensor("w", [4, 3, 3, 3]),
        _tensor("wdw", [4, 1, 3, 3]),
        _tensor("m", [16, 5]),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node(
            "Conv",
            ["r", "wdw"],
            ["d"],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[2, 2],
            group=4,
        ),
        helper.make_node("Shape", ["d"], ["ds"]),
        helper.make_node("Slice", ["ds", "zero", "two"], ["nc"]),
        helper.make_node("Concat", ["nc", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["d", "target"], ["flat"]),
        helper.make_node("MatMul", ["flat", "m"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 5])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def test_counts_match_hand_computation(flops: ModuleType) -> None:
    count = flops.count_ops(_model(), (1, 3, 8, 8))
    # Conv 3x3: out 1x4x8x8 = 256 elements, each 3 (Cin) * 3 * 3 MACs.
    assert count.macs["Conv 3x3"] == 256 * 3 * 9 == 6912
    # Depthwise, stride 2: out 1x4x4x4 = 64 elements, each (Cin/group = 1) * 3 * 3 MACs.
    assert count.macs["Conv dw"] == 64 * 9 == 576
    # MatMul (1,4,16) x (16,5): out 1x4x5 = 20 elements, each K = 16 MACs.
    assert count.macs["MatMul"] == 20 * 16 == 320
    assert count.total_macs == 6912 + 576 + 320
    assert count.gflops == pytest.approx(2 * 7808 / 1e9)
    # Elementwise: Relu on 256 elements; the shape arithmetic counts nothing.
    assert dict(count.other) == {"Relu": 256}


def test_counts_scale_with_batch(flops: ModuleType) -> None:
    one = flops.count_ops(_model(), (1, 3, 8, 8))
    three = flops.count_ops(_model(), (3, 3, 8, 8))
    assert dict(three.macs) == {k: 3 * v for k, v in one.macs.items()}


def test_conv_transpose_and_gemm(flops: ModuleType) -> None:
    nodes = [
        helper.make_node("ConvTranspose", ["x", "wt"], ["u"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["u"], ["f"]),
        helper.make_node("Gemm", ["f", "b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "toy2",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [_tensor("wt", [4, 2, 2, 2]), _tensor("b", [128, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    count = flops.count_ops(model, (1, 4, 4, 4))
    # ConvTranspose: 64 input elements, each scattered to (Cout/group = 2) * 2 * 2 outputs; the
    # same as 128 outputs * (Cin 4 * 2 * 2 taps / stride 2*2).
    assert count.macs["ConvTranspose"] == 64 * 2 * 2 * 2 == 512
    # Gemm (1,128) x (128,3): M * N * K.
    assert count.macs["Gemm"] == 1 * 3 * 128


def test_wrong_rank_is_refused(flops: ModuleType) -> None:
    with pytest.raises(ValueError, match="rank"):
        flops.count_ops(_model(), (1, 3, 8))
