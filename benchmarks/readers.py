"""What a benchmarked system offers (:class:`Reader`), and cpuocr's own reader.

A system spec is ``FAMILY[:OPTIONS]``; a :data:`ReaderFactory` per family builds the reader from
the options. cpuocr's factories are here; the peers' (RapidOCR, faster-paddle, Tesseract) are in
``benchmarks/peers.py``, whose packages only ``.venv-bench`` has installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from .scoring import Quad

PagePrediction = list[tuple[str, Quad]]


class Reader(Protocol):
    """What every benchmarked system offers (cpuocr and each peer adapter)."""

    name: str

    def info(self) -> dict[str, str]:
        """At least ``version`` and ``threads`` (how the system uses CPU threads)."""
        ...

    def read_page(self, path: Path) -> PagePrediction:
        """Whole image → (text, 4-point box) lines, original pixel coordinates."""
        ...

    def read_line(self, path: Path) -> str:
        """The whole image as one text line (recognition only where the system allows it)."""
        ...


ReaderFactory = Callable[[str], Reader]
"""Builds a reader from the part of a system spec after the family name ("" when none)."""


class CpuocrReader:
    """The product engine. Spec: ``cpuocr[:PRESET[:PREPROCESS[:DEVICE]]]``, e.g.
    ``cpuocr:fast:none`` or ``cpuocr:fp32::cuda`` (the engine's preprocessing, on the GPU)."""

    def __init__(self, options: str, threads: int | None = None) -> None:
        from cpuocr import OCR  # the engine is imported only in the worker that runs it

        preset, _, rest = options.partition(":")
        preprocess, _, device = rest.partition(":")
        self.preset = preset or "default"
        self.preprocess = preprocess or None
        self.name = "cpuocr:" + options if options else "cpuocr:default"
        self._ocr = OCR(preset=self.preset, threads=threads, device=device or None)

    def info(self) -> dict[str, str]:
        from cpuocr import __version__

        config = self._ocr.config
        runtime = self._ocr.runtime
        threads = runtime.intra_op_threads()
        if runtime.backend == "openvino":
            engine = f"OpenVINO, {threads} inference threads, precision hint {runtime.precision}"
        else:
            engine = f"ONNX Runtime intra-op {threads}, inter-op 1"
        if self._ocr.device != "cpu":
            engine = f"ONNX Runtime CUDA provider on {self._ocr.device}"
        return {
            "version": __version__,
            "threads": engine,
            "preprocess": self.preprocess or config.preprocess,
        }

    def read_page(self, path: Path) -> PagePrediction:
        result = self._ocr(path, det=True, preprocess=self.preprocess)
        return [(line.text, line.box) for line in result.lines]

    def read_line(self, path: Path) -> str:
        result = self._ocr(path, det=False, preprocess=self.preprocess)
        return "".join(result.text)


def cpuocr_factories(threads: int | None = None) -> dict[str, ReaderFactory]:
    """The factories for cpuocr systems (all a run needs when the peers are not installed)."""
    return {"cpuocr": lambda options: CpuocrReader(options, threads)}


def make_reader(spec: str, factories: Mapping[str, ReaderFactory]) -> Reader:
    """Build the reader for ``FAMILY[:OPTIONS]``; unknown families fail with the known ones."""
    family, _, options = spec.partition(":")
    factory = factories.get(family)
    if factory is None:
        known = ", ".join(sorted(factories))
        raise ValueError(f"unknown system {spec!r}; known: {known}")
    return factory(options)
