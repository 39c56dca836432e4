"""A batch, start to end: plan, run the pages, assemble each input, write its outputs and its
manifest row.

1. **Plan**: expand the inputs (here); probe each — hash its bytes, read its header: kind, page
   count, the pages asked for (here, or on the cluster: :meth:`Executor.probe`); ask the
   manifest whether it is done (then it is skipped); a corrupt or encrypted PDF fails its row
   here, before any work.
2. **Run** the page tasks on an executor: this process, a local pool of processes, or a Ray
   cluster. Pages finish in any order.
3. **Assemble**: when every page of an input is in, its document is written in each format
   (to a temporary name, then renamed: never a half-written file) and its row appended to the
   manifest. A page that fails fails its input (the row says which page and why); its other
   pages not yet started are skipped. Nothing an input does stops the batch.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from .._documents.model import DocumentResult, Page
from .._engine.config import EngineConfig
from .._writers import FORMATS, write
from ..errors import ConfigError, CpuocrError
from .inputs import InputFile, expand_inputs
from .manifest import Manifest, Row
from .work import PageDone, PageTask, Probe, ReadOptions


@dataclass
class BatchProgress:
    """Where a batch stands; handed to ``on_progress`` after planning and after every page.
    ``files_done`` counts inputs finished by this run (ok or failed), not those skipped."""

    files_total: int = 0
    files_planned: int = 0
    files_done: int = 0
    files_failed: int = 0
    files_skipped: int = 0
    pages_total: int = 0
    pages_done: int = 0
    started: float = field(default_factory=time.monotonic)
    planning: bool = True

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def pages_per_s(self) -> float:
        elapsed = self.elapsed_s
        return self.pages_done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (None until a page is done, or while planning)."""
        rate = self.pages_per_s
        if self.planning or rate <= 0:
            return None
        return (self.pages_total - self.pages_done) / rate


@dataclass(frozen=True)
class BatchSummary:
    """The end of a batch: counts, time, and where the manifest is."""

    files: int
    ok: int
    failed: int
    skipped: int
    pages: int
    seconds: float
    manifest: Path
    interrupted: bool = False
    skipped_failed: int = 0  # of the skipped: inputs that failed as bad input in an earlier run

    def __str__(self) -> str:
        rate = self.pages / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.files} files: {self.ok} read, {self.failed} failed, {self.skipped} already "
            f"done{f' ({self.skipped_failed} of them failed)' if self.skipped_failed else ''}; "
            f"{self.pages} pages in {self.seconds:.1f} s ({rate:.2f} pages/s); "
            f"manifest: {self.manifest}"
        )


class Executor(Protocol):
    """Where a batch's work runs: :meth:`probe` plans the inputs (hash + header of each, in any
    order), :meth:`run` reads the pages (``skip(task)`` may be asked before a task starts)."""

    def probe(self, inputs: Sequence[tuple[int, str]]) -> Iterator[Probe]: ...

    def run(
        self, tasks: Sequence[PageTask], skip: Callable[[PageTask], bool]
    ) -> Iterator[PageDone]: ...


ProgressHook = Callable[[BatchProgress], None]


@dataclass
class _Pending:
    item: InputFile
    sha256: str
    size: int
    kind: str
    page_count: int
    numbers: tuple[int, ...]
    pages: dict[int, Page] = field(default_factory=dict)
    error: tuple[int, str, str] | None = None  # (page, code, message)
    seconds: float = 0.0
    received: set[int] = field(default_factory=set)  # page numbers in (read, failed, skipped)


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(
            f"unknown output format {', '.join(unknown) or '(none)'}: choose from "
            f"{', '.join(FORMATS)}"
        )
    return tuple(dict.fromkeys(formats))


class Batch:
    """One batch run; :meth:`rows` yields each input's manifest row as it is finished (skipped
    inputs first, then the others as they finish), :attr:`summary` is set at the end."""

    def __init__(
        self,
        inputs: Sequence[str],
        out: str | Path,
        *,
        executor: Executor,
        config: EngineConfig,
        options: ReadOptions,
        formats: Sequence[str] = ("txt", "json"),
        retry_failed: bool = False,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self.out = Path(out)
        self.formats = check_formats(formats)
        if self.out.exists() and not self.out.is_dir():
            raise ConfigError(f"--out {self.out}: exists and is not a folder")
        self.items = expand_inputs(inputs, exclude=self.out)
        self.executor = executor
        self.config = config
        self.options = options
        self.identity = options.identity(config)
        self.retry_failed = retry_failed
        self.on_progress = on_progress
        self.progress = BatchProgress(files_total=len(self.items))
        self.summary: BatchSummary | None = None
        self._pending: dict[int, _Pending] = {}
        self._ready: list[Row] = []  # rows finished inside _skip, yielded next
        self._manifest: Manifest | None = None
        self._counts = {"ok": 0, "failed": 0, "skipped": 0, "skipped_failed": 0, "pages": 0}

    def rows(self) -> Iterator[Row]:
        self.out.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.out)
        manifest = Manifest(self.out)
        start = time.monotonic()
        interrupted = True
        try:
            inputs = [(index, str(item.path)) for index, item in enumerate(self.items)]
            for probe in self.executor.probe(inputs):
                row = self._plan(self.items[probe.index], probe, manifest)
                if row is not None:
                    yield row
            tasks = [
                PageTask(index, str(pending.item.path), n)
                for index, pending in sorted(self._pending.items())
                for n in pending.numbers
            ]
            self.progress.planning = False
            self._tell()
            self._manifest = manifest
            for done in self.executor.run(tasks, self._skip):
                row = self._receive(done, manifest)
                if row is not None:
                    yield row
                yield from self._drain()
            yield from self._drain()
            interrupted = False
        finally:
            manifest.compact()
            self.summary = BatchSummary(
                files=len(self.items),
                ok=self._counts["ok"],
                failed=self._counts["failed"],
                skipped=self._counts["skipped"],
                pages=self._counts["pages"],
                seconds=time.monotonic() - start,
                manifest=manifest.path,
                interrupted=interrupted,
                skipped_failed=self._counts["skipped_failed"],
            )

    def run(self) -> BatchSummary:
        for _ in self.rows():
            pass
        assert self.summary is not None
        return self.summary

    # -- planning --

    def _plan(self, item: InputFile, probe: Probe, manifest: Manifest) -> Row | None:
        """Skip the input if the manifest has it done, fail it if it cannot be read, else hold
        it pending and return None (its page tasks are made by :meth:`rows`)."""
        self.progress.files_planned += 1
        if probe.sha256:
            earlier = manifest.done(
                str(item.rel), probe.sha256, self.identity, self.formats,
                retry_failed=self.retry_failed,
            )  # fmt: skip
            if earlier is not None:
                self._counts["skipped"] += 1
                self._counts["skipped_failed"] += earlier.get("status") != "ok"
                self.progress.files_skipped += 1
                self._tell()
                return None
        if probe.error is not None:
            return self._finish_failed(manifest, item, probe.sha256, probe.size, probe.error)
        self._pending[probe.index] = _Pending(
            item, probe.sha256, probe.size, probe.kind, probe.page_count, probe.numbers
        )
        self.progress.pages_total += len(probe.numbers)
        self._tell()
        return None

    # -- assembling --

    def _skip(self, task: PageTask) -> bool:
        pending = self._pending.get(task.index)
        if pending is None or pending.error is None:
            return False
        # The input already failed: count the page as done without reading it.
        self._count_page(pending, task.page)
        if len(pending.received) == len(pending.numbers):
            assert self._manifest is not None
            self._ready.append(self._complete(task.index, pending, self._manifest))
        return True

    def _drain(self) -> Iterator[Row]:
        while self._ready:
            yield self._ready.pop(0)

    def _receive(self, done: PageDone, manifest: Manifest) -> Row | None:
        pending = self._pending.get(done.index)
        if pending is None:
            return None
        if done.page in pending.received:  # a page run twice (a retried Ray task): the first
            return None
        pending.seconds += done.seconds
        if done.error is not None:
            if pending.error is None:
                pending.error = (done.page, *done.error)
        elif done.result is not None:
            pending.pages[done.page] = done.result
        self._count_page(pending, done.page)
        if len(pending.received) < len(pending.numbers):
            return None
        return self._complete(done.index, pending, manifest)

    def _count_page(self, pending: _Pending, page: int) -> None:
        pending.received.add(page)
        self.progress.pages_done += 1
        self._tell()

    def _complete(self, index: int, pending: _Pending, manifest: Manifest) -> Row:
        del self._pending[index]
        item = pending.item
        if pending.error is not None:
            page, code, message = pending.error
            where = f"page {page}: " if pending.kind != "image" else ""
            return self._finish_failed(
                manifest, item, pending.sha256, pending.size, (code, where + message),
                pending.seconds,
            )  # fmt: skip
        document = DocumentResult(
            pages=tuple(pending.pages[n] for n in pending.numbers),
            page_count=pending.page_count,
            kind=pending.kind,  # type: ignore[arg-type]
        )
        try:
            outputs = self._write(item, document)
        except (OSError, CpuocrError) as exc:
            code = exc.code if isinstance(exc, CpuocrError) else "write_failed"
            return self._finish_failed(
                manifest, item, pending.sha256, pending.size, (code, str(exc)), pending.seconds
            )
        pages = len(document.pages)
        row = self._row(item, pending.sha256, pending.size, "ok", pending.seconds, None)
        row.update(outputs=outputs, pages=pages)
        manifest.append(row)
        self._counts["ok"] += 1
        self._counts["pages"] += pages
        self.progress.files_done += 1
        self._tell()
        return row

    def _write(self, item: InputFile, document: DocumentResult) -> list[str]:
        source = item.path.read_bytes() if "pdf" in self.formats else None
        written = []
        for fmt in self.formats:
            rel = item.output(fmt)
            data = write(document, fmt, source=source)
            write_atomically(self.out / rel, data)
            written.append(str(rel))
        return written

    def _finish_failed(
        self,
        manifest: Manifest,
        item: InputFile,
        sha256: str,
        size: int,
        error: tuple[str, str],
        seconds: float = 0.0,
    ) -> Row:
        row = self._row(item, sha256, size, "failed", seconds, error)
        manifest.append(row)
        self._counts["failed"] += 1
        self.progress.files_done += 1
        self.progress.files_failed += 1
        self._tell()
        return row

    def _row(
        self,
        item: InputFile,
        sha256: str,
        size: int,
        status: str,
        seconds: float,
        error: tuple[str, str] | None,
    ) -> Row:
        return {
            "input": str(item.path),
            "output": str(item.rel),
            "sha256": sha256,
            "bytes": size,
            "options": self.identity,
            "formats": list(self.formats),
            "outputs": [],
            "pages": 0,
            "status": status,
            "seconds": round(seconds, 3),
            "error": None if error is None else {"code": error[0], "message": error[1]},
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)


_TEMP_NAME = re.compile(r"^\..+\.\d+\.tmp$")


def remove_stale_temps(out: Path) -> int:
    """Delete the temporary files a killed run left in ``out`` (the names
    :func:`write_atomically` and the manifest use); their final names were never written."""
    removed = 0
    for folder, _, files in os.walk(out):
        for name in files:
            if _TEMP_NAME.match(name):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary name beside ``target``, then rename: never a half-written file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
