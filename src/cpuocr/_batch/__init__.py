"""Batches: many files, on this machine or on a Ray cluster, resumable.

>>> summary = run_batch(["scans/"], "out/", formats=["txt", "json"])   # doctest: +SKIP
>>> for row in iter_batch(["a.pdf", "b.png"], "out/"): print(row["status"])  # doctest: +SKIP

The parts: :mod:`.inputs` (what the inputs are, where their outputs go), :mod:`.manifest` (the
manifest a rerun resumes from), :mod:`.work` (a page task and the engine that reads it),
:mod:`.runner` (plan → run → assemble → write), :mod:`.local` (this process or a process pool)
and :mod:`.ray_exec` (Ray Data's actor pool). The command line is ``cpuocr batch``.

Private: the public names are re-exported by :mod:`cpuocr`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from .._engine.config import EngineConfig
from .._engine.runtime import available_cores
from .local import LocalExecutor
from .manifest import MANIFEST_NAME, Row
from .ray_exec import RayExecutor, RayOptions
from .runner import Batch, BatchProgress, BatchSummary, Executor, ProgressHook, write_atomically
from .work import BATCH_MAX_PAGES, ReadOptions

__all__ = [
    "BATCH_MAX_PAGES",
    "MANIFEST_NAME",
    "Batch",
    "BatchProgress",
    "BatchSummary",
    "RayOptions",
    "ReadOptions",
    "default_workers",
    "iter_batch",
    "make_batch",
    "run_batch",
    "write_atomically",
]


def default_workers(cores: int | None = None) -> int:
    """Local worker processes for a machine of ``cores`` cores (BENCHMARKS.md, "Batch")."""
    return max(1, cores or available_cores())


def make_batch(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    formats: Sequence[str] = ("txt", "json"),
    config: EngineConfig | None = None,
    det: bool = True,
    pages: str | None = None,
    dpi: float | None = None,
    text_layer: str = "auto",
    max_pages: int = BATCH_MAX_PAGES,
    workers: int | None = None,
    ray: RayOptions | None = None,
    retry_failed: bool = False,
    on_progress: ProgressHook | None = None,
) -> Batch:
    """A :class:`Batch` ready to run (inputs expanded and checked; nothing read yet)."""
    config = config or EngineConfig.from_env()
    options = ReadOptions(
        det=det,
        pages=pages,
        dpi=dpi,
        text_layer=text_layer,  # type: ignore[arg-type]
        max_pages=max_pages,
    )
    executor: Executor
    if ray is not None:
        executor = RayExecutor(config, options, ray)
    else:
        executor = LocalExecutor(config, options, default_workers() if workers is None else workers)
    return Batch(
        [str(i) for i in inputs],
        out,
        executor=executor,
        config=config,
        options=options,
        formats=formats,
        retry_failed=retry_failed,
        on_progress=on_progress,
    )


def run_batch(inputs: Sequence[str | Path], out: str | Path, **kwargs: object) -> BatchSummary:
    """Read every input (files, folders, globs; PDFs page by page) into ``out``: one file per
    input and format, mirroring the input tree, and ``out/manifest.jsonl``. Inputs already done
    with the same options (by content hash) are skipped, so a rerun resumes. ``workers``: local
    processes (default: one per core); ``ray``: run on Ray instead (:class:`RayOptions`);
    ``on_progress(BatchProgress)``: called as planning and pages advance. Keyword arguments as
    :func:`make_batch`."""
    return make_batch(inputs, out, **kwargs).run()  # type: ignore[arg-type]


def iter_batch(inputs: Sequence[str | Path], out: str | Path, **kwargs: object) -> Iterator[Row]:
    """As :func:`run_batch`, yielding each input's manifest row as it is finished."""
    yield from make_batch(inputs, out, **kwargs).rows()  # type: ignore[arg-type]
