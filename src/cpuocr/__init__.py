"""cpuocr: CPU-first Chinese/English OCR (library, CLI, REST API and Web UI over one engine).

This module is the whole public API: everything in ``__all__``, documented in the README. Every
other module is private (``cpuocr._engine``, ``cpuocr._serving``, ``cpuocr._cli``, ...) and may
change without notice; the exception tree is drawn in ``cpuocr.errors``.
"""

from ._batch import BatchProgress, BatchSummary, RayOptions, iter_batch, run_batch
from ._deadline import Deadline
from ._documents.model import Block, DocumentResult, Page, Paragraph, Row
from ._documents.reader import iter_pages, read_document
from ._engine.config import EngineConfig
from ._engine.detection import DetectionConfig
from ._engine.orientation import OrientationConfig
from ._engine.pipeline import OCR
from ._engine.recognition import RecognitionConfig
from ._engine.runtime import RuntimeConfig
from ._types import Line, OCRResult
from ._writers import write
from .errors import (
    ConfigError,
    CpuocrError,
    DeadlineExceeded,
    ImageTooLarge,
    InvalidImage,
    ModelChecksumMismatch,
    ModelNotFound,
    ProcessingFailed,
    UnsupportedFormat,
    WorkLimitExceeded,
)

__all__ = [
    "OCR",
    "BatchProgress",
    "BatchSummary",
    "Block",
    "ConfigError",
    "CpuocrError",
    "Deadline",
    "DeadlineExceeded",
    "DetectionConfig",
    "DocumentResult",
    "EngineConfig",
    "ImageTooLarge",
    "InvalidImage",
    "Line",
    "ModelChecksumMismatch",
    "ModelNotFound",
    "OCRResult",
    "OrientationConfig",
    "Page",
    "Paragraph",
    "ProcessingFailed",
    "RayOptions",
    "RecognitionConfig",
    "Row",
    "RuntimeConfig",
    "UnsupportedFormat",
    "WorkLimitExceeded",
    "iter_batch",
    "iter_pages",
    "read_document",
    "run_batch",
    "write",
]
__version__ = "0.1.0"

# Public names say where users import them from (in reprs, tracebacks and pickles), not the
# private module that happens to define them today.
for _name in __all__:
    globals()[_name].__module__ = "cpuocr"
del _name
