"""The exception tree of cpuocr. This module imports nothing from the package.

    CpuocrError                      base of every error cpuocr raises on purpose
    ├── InvalidImage                 not a readable image (empty, corrupt, truncated, text)
    │   └── UnsupportedFormat        a real file of a type we do not decode (SVG, PDF, HEIC…)
    ├── ImageTooLarge                over the byte or pixel limit (checked before decoding)
    ├── WorkLimitExceeded            within the byte and pixel limits, but its work is over a cap
    │                                (recognition pieces of a line, decoder scans, working memory)
    ├── DeadlineExceeded             the work passed its deadline and was abandoned
    ├── ProcessingFailed             an unexpected failure of a library on this input (a bug or an
    │                                input no check foresaw); never leaks as a foreign exception
    ├── ModelNotFound                a model file is missing; the message names the install command
    │   └── ModelChecksumMismatch    a model file is present but its SHA-256 is wrong
    └── ConfigError                  an unknown preset / mode / option value (also a ValueError)

The HTTP layer maps these to status codes in exactly one place (``cpuocr._serving.errors``);
the CLI maps them to exit code 3 (bad input) or 2 (usage).
"""

from __future__ import annotations


class CpuocrError(Exception):
    """Base class. ``code`` is a stable machine-readable name used in API error bodies."""

    code = "cpuocr_error"


class InvalidImage(CpuocrError):
    """Not a readable image: empty, corrupt, truncated, or not an image at all."""

    code = "invalid_image"


class UnsupportedFormat(InvalidImage):
    """A real file of a type cpuocr does not decode (SVG, PDF, HEIC, ...)."""

    code = "unsupported_format"


class ImageTooLarge(CpuocrError):
    """Over the byte or pixel limit; checked from the header, before decoding."""

    code = "image_too_large"


class WorkLimitExceeded(CpuocrError):
    """Within the byte and pixel limits, but the work it needs is over a cap
    (recogniser columns, decoder scans, working memory); refused before the work starts."""

    code = "work_limit_exceeded"


class DeadlineExceeded(CpuocrError):
    """The call passed its :class:`~cpuocr.Deadline` (or it was cancelled) and was
    abandoned at the next check."""

    code = "deadline_exceeded"


class ProcessingFailed(CpuocrError):
    """An unexpected failure of a library on this input (a bug, or an input no
    check foresaw), with the library's words; never a foreign exception."""

    code = "processing_failed"


class ModelNotFound(CpuocrError):
    """A model file is missing; the message names the command that installs it."""

    code = "model_not_found"


class ModelChecksumMismatch(ModelNotFound):
    """A model file is present but its SHA-256 is not the pinned one."""

    code = "model_checksum_mismatch"


class ConfigError(CpuocrError, ValueError):
    """An unknown preset, mode or option value (also a ValueError)."""

    code = "config_error"
