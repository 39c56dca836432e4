"""Running page tasks on this machine: in this process (one worker), or in a pool of worker
processes, each with its own engine and ``cores // workers`` ONNX Runtime threads.

Processes, not threads, for more than one worker: the engine's Python parts (decoding, cropping,
layout) hold the GIL, so threads sharing one engine serialise on them, and ONNX Runtime's thread
pool scales poorly on the small recogniser batches of one page (BENCHMARKS.md, "Batch": the
measured choice). Workers are spawned (not forked: the parent may hold threads) and ignore Ctrl-C
(the parent stops them); each also exits within a second of its parent's death, so a killed batch
leaves no orphans. At most ``2 × workers`` tasks are in flight: pages stream, memory stays
bounded whatever the batch's size. A worker that dies is replaced (see :func:`_run_pool`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .._engine.config import EngineConfig
from .._engine.runtime import available_cores
from .work import PageDone, PageReader, PageTask, Probe, ReadOptions, probe_input

log = logging.getLogger("cpuocr.batch")
_reader: PageReader | None = None  # the worker process's engine (set by _start_worker)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """ONNX Runtime threads for each of ``workers`` workers sharing the machine's cores."""
    return max(1, (cores or available_cores()) // max(1, workers))


class LocalExecutor:
    """A batch on this machine: planning in this process, pages on ``workers`` processes (or in
    this process for one)."""

    def __init__(self, config: EngineConfig, options: ReadOptions, workers: int) -> None:
        self.config, self.options, self.workers = config, options, workers

    def probe(self, inputs: Sequence[tuple[int, str]]) -> Iterator[Probe]:
        for index, path in inputs:
            yield probe_input(index, path, self.options, self.config.max_bytes)

    def run(
        self, tasks: Sequence[PageTask], skip: Callable[[PageTask], bool]
    ) -> Iterator[PageDone]:
        return run_local(tasks, self.config, self.options, workers=self.workers, skip=skip)


def run_local(
    tasks: Iterable[PageTask],
    config: EngineConfig,
    options: ReadOptions,
    *,
    workers: int = 1,
    skip: Callable[[PageTask], bool] | None = None,
) -> Iterator[PageDone]:
    """Each task's :class:`PageDone`, in the order they finish. ``skip(task)`` is asked just
    before a task would start (the batch skips the rest of an input that already failed)."""
    if workers <= 1:
        reader = PageReader(config, options)
        try:
            for task in tasks:
                if skip is None or not skip(task):
                    yield reader(task)
        finally:
            reader.close()
        return
    yield from _run_pool(tasks, config.with_threads(threads_per_worker(workers)), options,
                         workers, skip)  # fmt: skip


#: Why a page whose worker process died twice is failed (the second time it ran alone).
WORKER_DIED = (
    "processing_failed",
    "the worker process died reading this page (out of memory, or a crash in a library)",
)


def _run_pool(
    tasks: Iterable[PageTask],
    config: EngineConfig,
    options: ReadOptions,
    workers: int,
    skip: Callable[[PageTask], bool] | None,
) -> Iterator[PageDone]:
    """The process pool. A worker that dies (killed for memory, a crash in a native library)
    breaks the pool: it is replaced, and the pages that were in flight are run again one at a
    time, so that a page that kills its worker alone fails only its own input."""

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(config, options, os.getpid()),
        )

    pool = start()
    pending: dict[Future[PageDone], tuple[PageTask, bool]] = {}  # task, ran alone
    suspects: deque[PageTask] = deque()  # in flight when a worker died: run alone
    finished = False
    try:
        source = iter(tasks)
        exhausted = False
        while pending or suspects or not exhausted:
            if suspects:
                if not pending:
                    task = suspects.popleft()
                    pending[pool.submit(_read, task)] = (task, True)
            else:
                while not exhausted and len(pending) < 2 * workers:
                    nxt = next(source, None)
                    if nxt is None:
                        exhausted = True
                    elif skip is None or not skip(nxt):
                        pending[pool.submit(_read, nxt)] = (nxt, False)
            if not pending:
                continue
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task, alone = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        yield PageDone(task.index, task.page, None, WORKER_DIED, 0.0)
                    else:
                        suspects.append(task)
            if broken:
                log.warning("a batch worker process died; starting another")
                suspects.extend(task for task, _ in pending.values())
                pending.clear()
                _terminate(pool)
                pool = start()
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted, or the consumer stopped early: stop the workers now
            for future in pending:
                future.cancel()
            _terminate(pool)


def _terminate(pool: ProcessPoolExecutor) -> None:
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def _start_worker(config: EngineConfig, options: ReadOptions, parent: int) -> None:
    global _reader
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _reader = PageReader(config, options)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _read(task: PageTask) -> PageDone:
    assert _reader is not None
    return _reader(task)
