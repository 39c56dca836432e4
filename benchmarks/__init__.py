"""The benchmark and other developer tools: cpuocr and its peers on the labeled dev sets.

Not part of the cpuocr wheel, and nothing in ``src/`` imports it. Importable from the
repository root (the tests add it to the path); run it with ``python -m benchmarks`` or
``.venv-bench/bin/python benchmarks/run.py`` (see BENCHMARKS.md).

- ``datasets``: the labeled sets of ``shared/data``: finding, loading, the calibration split.
- ``scoring``: accuracy by the rules of ``shared/data/README.md`` (pure functions).
- ``readers``: what a benchmarked system offers (``Reader``), and cpuocr's reader.
- ``peers``: RapidOCR, faster-paddle and Tesseract behind the same interface.
- ``workers``: each system in a process of its own, and the line protocol to it.
- ``evaluate``: the scoring loop (interleaved, timed in the workers) and in-process scoring.
- ``report``: the Markdown tables and the BENCHMARKS.md block they go into.
- ``cli`` (``run.py``, ``__main__``): the command line.
- ``quantize``: int8 quantisation of a preset's models (``python -m benchmarks.quantize``).
- ``flops``, ``ab_engine``: multiply-add counts per model; an A/B of two engine trees.
"""
