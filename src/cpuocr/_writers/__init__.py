"""Output writers shared by every door: TXT, JSON, Markdown, hOCR and searchable PDF.

Private: the public names are re-exported by :mod:`cpuocr`.
"""
