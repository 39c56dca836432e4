"""Output writers shared by every door: TXT, JSON, Markdown, hOCR and searchable PDF.

One entry, :func:`write`; each format is described in its module: TXT and Markdown in
:mod:`.text`, JSON (the schema and its version) in :mod:`.jsonout`, hOCR in :mod:`.hocr`, the
searchable PDF in :mod:`.pdf` (its font in :mod:`.font`), and where characters and words lie on
a line in :mod:`.geometry`.

Private: the public names are re-exported by :mod:`cpuocr`.
"""

from __future__ import annotations

from .._documents.model import DocumentResult
from ..errors import ConfigError
from .hocr import write_hocr
from .jsonout import SCHEMA_VERSION, document_dict, write_json
from .pdf import write_pdf
from .text import page_text, write_md, write_txt

#: The output formats, as the doors name them (``--format``, ``format=``).
FORMATS = ("txt", "json", "md", "hocr", "pdf")

#: The media type of each format (for HTTP answers).
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "hocr": "application/xhtml+xml",
    "pdf": "application/pdf",
}

__all__ = ["FORMATS", "MEDIA_TYPES", "SCHEMA_VERSION", "document_dict", "page_text", "write"]


def write(
    document: DocumentResult, fmt: str, *, source: bytes | None = None, chars: bool = False
) -> bytes:
    """``document`` in format ``fmt`` (one of :data:`FORMATS`), as bytes (UTF-8 for the text
    formats). ``source``: the original input's bytes (a PDF or an image file), needed by
    ``"pdf"`` (the page images come from it) and ignored by the others. ``chars``: the JSON lists
    each line's characters with their positions. An unknown ``fmt`` is a ConfigError."""
    if fmt == "txt":
        return write_txt(document)
    if fmt == "json":
        return write_json(document, chars=chars)
    if fmt == "md":
        return write_md(document)
    if fmt == "hocr":
        return write_hocr(document)
    if fmt == "pdf":
        return write_pdf(document, source)
    raise ConfigError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}")
