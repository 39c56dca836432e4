"""Documents: PDF / multi-page TIFF / image sources read page by page, and the page layout
(blocks, reading order, paragraphs, rows). Sits between the engine and the doors.

Private: the public names are re-exported by :mod:`cpuocr`.
"""
