"""cpuocr: CPU-first Chinese/English OCR (library, CLI, REST API and Web UI over one engine)."""

from .deadline import Deadline
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
from .pipeline import OCR
from .types import Line, OCRResult

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
