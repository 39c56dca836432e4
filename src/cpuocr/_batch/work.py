"""The unit of work of a batch — one page of one input — and the reader that does it.

A :class:`PageReader` holds one engine, built from an :class:`~cpuocr.EngineConfig` (small,
frozen, picklable); every executor (the local process pool, a Ray actor) builds one per worker and
feeds it :class:`PageTask` s. Tasks, results and options are plain frozen dataclasses, so they
cross process and machine boundaries by pickle.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._documents.model import Page
from .._documents.reader import (
    DEFAULT_DPI,
    DocumentReader,
    TextLayerMode,
    parse_pages,
    probe_document,
)
from .._engine.config import EngineConfig
from .._engine.pipeline import OCR
from ..errors import CpuocrError, ProcessingFailed

#: Pages of one document a batch reads at most (a bound on one input's work and on the page
#: list planned for it); the library's one-call default is lower, a batch is for big documents.
BATCH_MAX_PAGES = 100_000


@dataclass(frozen=True)
class ReadOptions:
    """How each input is read (the same for every input of a batch). ``pages`` applies to
    documents (PDF, multi-page TIFF); an image is always its one page."""

    det: bool = True
    pages: str | None = None
    dpi: float | None = None
    text_layer: TextLayerMode = "auto"
    max_pages: int = BATCH_MAX_PAGES

    def __post_init__(self) -> None:
        # A bad page range is the command's mistake, not each input's: refused before the start
        # (the ranges' own errors), not written into every row of the manifest.
        if self.pages is not None:
            parse_pages(self.pages, BATCH_MAX_PAGES)

    def identity(self, config: EngineConfig) -> dict[str, Any]:
        """Everything that changes the answer, as plain data: two runs with the same identity
        give the same outputs for the same input (the manifest's ``options``)."""
        models = {
            name: str(path)
            for name, path in (
                ("det_model", config.det_model),
                ("rec_model", config.rec_model),
                ("rec_charset", config.rec_charset),
            )
            if path is not None
        }
        return {
            "preset": config.preset,
            "preprocess": config.preprocess,
            "det": self.det,
            "pages": self.pages,
            "dpi": DEFAULT_DPI if self.dpi is None else float(self.dpi),
            "text_layer": self.text_layer,
            **models,
        }


@dataclass(frozen=True)
class PageTask:
    """Read page ``page`` (1-based) of input number ``index`` of the batch, found at ``path``."""

    index: int
    path: str
    page: int


@dataclass(frozen=True)
class PageDone:
    """A task's outcome: the page read, or ``error`` = (code, message) of why it was not."""

    index: int
    page: int
    result: Page | None
    error: tuple[str, str] | None
    seconds: float


@dataclass(frozen=True)
class Probe:
    """What planning learns of input number ``index``: its content hash and size, and — unless
    ``error`` (code, message) says why it cannot be read — its kind, page count and the page
    numbers the batch's options select (an image is its one page)."""

    index: int
    sha256: str
    size: int
    kind: str = ""
    page_count: int = 0
    numbers: tuple[int, ...] = ()
    error: tuple[str, str] | None = None


def probe_input(index: int, path: str, options: ReadOptions, max_bytes: int | None) -> Probe:
    """Hash ``path`` and read its header (no page is rendered or decoded): the planning step,
    run on the driver, or on the cluster by Ray Data."""
    try:
        with open(path, "rb") as f:
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
            size = f.tell()
    except OSError as exc:
        return Probe(index, "", 0, error=("invalid_image", f"cannot read: {exc.strerror or exc}"))
    try:
        kind, count, _ = probe_document(path, max_pages=BATCH_MAX_PAGES, max_bytes=max_bytes)
        numbers = (1,) if kind == "image" else parse_pages(options.pages, count, options.max_pages)
    except CpuocrError as exc:
        return Probe(index, sha256, size, error=(exc.code, str(exc)))
    return Probe(index, sha256, size, kind, count, numbers)


class PageReader:
    """One engine, reading one page at a time. Builds its engine on the first task (so that it
    can be made cheaply where it is pickled or sent)."""

    def __init__(self, config: EngineConfig, options: ReadOptions) -> None:
        self.config = config
        self.options = options
        self._ocr: OCR | None = None

    @property
    def ocr(self) -> OCR:
        if self._ocr is None:
            self._ocr = OCR(config=self.config)
        return self._ocr

    def __call__(self, task: PageTask) -> PageDone:
        start = time.perf_counter()
        try:
            page = self._read(task)
        except CpuocrError as exc:
            return PageDone(task.index, task.page, None, (exc.code, str(exc)), _since(start))
        except Exception as exc:  # a bug or a library's failure: the batch goes on
            failed = ProcessingFailed(f"{type(exc).__name__}: {exc}")
            return PageDone(task.index, task.page, None, (failed.code, str(failed)), _since(start))
        return PageDone(task.index, task.page, page, None, _since(start))

    def _read(self, task: PageTask) -> Page:
        o = self.options
        with DocumentReader(
            Path(task.path),
            ocr=self.ocr,
            pages=[task.page],
            dpi=o.dpi,
            text_layer=o.text_layer,
            det=o.det,
            max_pages=o.max_pages,
        ) as reader:
            for page in reader:
                return page
        raise ProcessingFailed(f"page {task.page} was not read")  # pragma: no cover

    def close(self) -> None:
        if self._ocr is not None:
            self._ocr.close()
            self._ocr = None


def _since(start: float) -> float:
    return time.perf_counter() - start
