"""Building the engine: the factory, engines composed from handed stages, a config that travels
to another process, the lifecycle (close, context manager, warm-up) and the stages' own input
preparation. Real models throughout."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from typing import Any

import numpy as np
import pytest

from cpuocr import OCR, EngineConfig
from cpuocr._engine.factory import build_stages, model_files
from cpuocr._engine.runtime import Model

from rendering import render_lines, to_bgr

PAGE = to_bgr(render_lines(["发票号码 12345678", "Total 42.50 USD", "合计金额 ¥1,280.00"]))
#: Enough lines for several recognition batches (they run side by side on the engine's threads).
LONG_PAGE = to_bgr(
    render_lines([f"第{i}行 Item {i * 37} 数量 {i % 7} 单价 {i * 3}.50" for i in range(24)])
)


def _texts(ocr: OCR, image: np.ndarray) -> list[str]:
    return [line.text for line in ocr(image).lines]


def test_an_engine_composed_from_handed_stages_reads_like_one_it_built(ocr: OCR) -> None:
    config = EngineConfig()
    with OCR(config=config, stages=build_stages(config)) as composed:
        assert _texts(composed, PAGE) == _texts(ocr, PAGE)
        assert composed.runtime == ocr.runtime


def _read_in_child(blob: bytes, image: np.ndarray) -> list[str]:
    with OCR(config=pickle.loads(blob)) as engine:
        return _texts(engine, image)


def test_the_config_is_the_spec_a_worker_process_builds_from(ocr: OCR) -> None:
    config = EngineConfig(preprocess="none")
    blob = pickle.dumps(config)
    assert pickle.loads(blob) == config
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        texts = pool.apply(_read_in_child, (blob, PAGE))
    assert texts == [line.text for line in ocr(PAGE, preprocess="none").lines]


def _rec_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("cpuocr-rec")]


def test_close_stops_the_threads_and_the_engine_still_reads() -> None:
    before = set(_rec_threads())
    engine = OCR(threads=2)
    expected = _texts(engine, LONG_PAGE)
    assert set(_rec_threads()) - before  # the side-by-side pool ran
    engine.close()
    engine.close()  # idempotent
    assert not set(_rec_threads()) - before
    assert _texts(engine, LONG_PAGE) == expected  # one batch at a time now


def test_warm_up_reads_its_own_canvas(ocr: OCR) -> None:
    ocr.warm_up()


class _Recording:
    """A real model that also keeps every input it is given."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self.inputs: list[np.ndarray] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch.copy())
        return self._model.run(batch)


def test_the_stages_prepare_exactly_the_tensors_their_models_run(ocr: OCR) -> None:
    config = EngineConfig(runtime=ocr.config.runtime.__class__(threads=1))
    stages = build_stages(config)
    det, rec = _Recording(stages.detector.model), _Recording(stages.recognizer.model)
    stages.detector.model = det  # type: ignore[assignment]
    stages.recognizer.model = rec  # type: ignore[assignment]
    with OCR(config=config, stages=stages) as engine:
        prepared = engine.prepare(PAGE)
        crops = engine.line_crops(prepared)
        engine(PAGE)
        assert len(det.inputs) == 2  # line_crops, then the call
        np.testing.assert_array_equal(det.inputs[-1], engine.detector.prepare(prepared)[0])
        planned = list(engine.recognizer.batches(crops))
        assert len(planned) == len(rec.inputs) >= 1
        for want, got in zip(planned, rec.inputs, strict=True):
            np.testing.assert_array_equal(want, got)


def test_model_files_names_the_missing_file_without_loading(tmp_path: Any) -> None:
    from cpuocr import ModelNotFound

    with pytest.raises(ModelNotFound, match=r"cpuocr models install|pip install"):
        model_files(EngineConfig(preset="fp32", model_dir=tmp_path))
