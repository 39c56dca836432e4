"""Which inputs the doors read as documents (page by page) rather than as one image: a PDF, or
a TIFF with more than one page. A single-page TIFF stays an image (its answer unchanged)."""

from __future__ import annotations

from ..errors import CpuocrError
from .reader import sniff
from .tiff import tiff_pages

#: Bytes of a file's head that tell a PDF (its header may follow some junk) or a TIFF.
HEAD_BYTES = 1024


def is_document(data: bytes) -> bool:
    """``data``: a whole file, or at least its first :data:`HEAD_BYTES` when it is no TIFF."""
    kind = sniff(data[:HEAD_BYTES])
    if kind == "pdf":
        return True
    if kind == "tiff":
        try:
            return tiff_pages(data) > 1
        except CpuocrError:
            return False  # the image loader names what is wrong with it
    return False
