"""The int8 quantisation tool's pieces that need no data set: options, metadata, feeds."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from benchmarks.quantize import (
    QuantizeOptions,
    _Batch,
    _Feeds,
    copy_metadata,
    tail_nodes,
    weighted_nodes,
)


def _toy_model() -> onnx.ModelProto:
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.ones(108, np.float32))
    m = helper.make_tensor("m", TensorProto.FLOAT, [4, 5], np.ones(20, np.float32))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv0"),
        helper.make_node("Relu", ["c"], ["r"], name="relu0"),
        helper.make_node("MatMul", ["r", "m"], ["y"], name="head"),
    ]
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w, m],
    )
    return helper.make_model(graph)


def test_weighted_nodes_in_graph_order() -> None:
    assert weighted_nodes(_toy_model()) == ["conv0", "head"]


@pytest.mark.parametrize(
    ("n", "names"),
    [(0, []), (1, ["head"]), (2, ["conv0", "relu0", "head"]), (9, ["conv0", "relu0", "head"])],
)
def test_tail_nodes_start_at_the_nth_last_weighted_node(n: int, names: list[str]) -> None:
    assert tail_nodes(_toy_model(), n) == names


def test_copy_metadata_replaces_target_props() -> None:
    source, target = _toy_model(), _toy_model()
    source.metadata_props.add(key="character", value="a\nb\n中")
    target.metadata_props.add(key="stale", value="x")
    copy_metadata(source, target)
    assert {p.key: p.value for p in target.metadata_props} == {"character": "a\nb\n中"}


@pytest.mark.parametrize(
    ("opts", "variant"),
    [
        (QuantizeOptions("det"), "percentile_quint8"),
        (QuantizeOptions("rec", method="minmax", activation="qint8"), "minmax_qint8"),
        (
            QuantizeOptions("rec", exclude_op_types=("Softmax", "MatMul"), exclude_tail=2),
            "percentile_quint8_nomatmul-softmax_tail2fp",
        ),
    ],
)
def test_variant_names(opts: QuantizeOptions, variant: str) -> None:
    assert opts.variant() == variant


@pytest.mark.parametrize("bad", [{"method": "kl"}, {"activation": "int4"}])
def test_unknown_names_fail_with_the_valid_ones(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="choose one of"):
        QuantizeOptions("det", **bad)  # type: ignore[arg-type]


def test_feeds_follow_the_strided_range_protocol() -> None:
    makers = [_Batch(np.full((1, 1), i, np.float32)) for i in range(3)]
    feeds = _Feeds("x", list(makers))
    assert len(feeds) == 3
    assert [float(f["x"][0, 0]) for f in feeds] == [0.0, 1.0, 2.0]
    feeds.set_range(start_index=1, end_index=2)
    first = feeds.get_next()
    assert first is not None and float(first["x"][0, 0]) == 1.0
    assert feeds.get_next() is None
