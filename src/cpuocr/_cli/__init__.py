"""The command line (``cpuocr``): ``cpuocr IMAGE...``, ``cpuocr serve``, ``cpuocr models``.

Private: the entry point is ``cpuocr`` (``python -m cpuocr``)."""
