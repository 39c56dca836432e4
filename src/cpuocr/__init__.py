"""cpuocr: CPU-first Chinese/English OCR (library, CLI, REST API and Web UI over one engine)."""

from .errors import (
    ConfigError,
    CpuocrError,
    ImageTooLarge,
    InvalidImage,
    ModelChecksumMismatch,
    ModelNotFound,
    UnsupportedFormat,
)
from .pipeline import OCR
from .types import Line, OCRResult

__all__ = [
    "OCR",
    "ConfigError",
    "CpuocrError",
    "ImageTooLarge",
    "InvalidImage",
    "Line",
    "ModelChecksumMismatch",
    "ModelNotFound",
    "OCRResult",
    "UnsupportedFormat",
]
__version__ = "0.1.0"
