"""cpuocr: CPU-first Chinese/English OCR (library, CLI, REST API and Web UI over one engine)."""

from ._deadline import Deadline
from ._engine.pipeline import OCR
from ._types import Line, OCRResult
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
    "ConfigError",
    "CpuocrError",
    "Deadline",
    "DeadlineExceeded",
    "ImageTooLarge",
    "InvalidImage",
    "Line",
    "ModelChecksumMismatch",
    "ModelNotFound",
    "OCRResult",
    "ProcessingFailed",
    "UnsupportedFormat",
    "WorkLimitExceeded",
]
__version__ = "0.1.0"
