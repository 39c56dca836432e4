"""Durable jobs in the service: what ``POST /jobs``, ``GET /jobs/{id}``, ``…/result`` and
``DELETE /jobs/{id}`` call (:class:`JobService`), and the runners that read the jobs.

**Submit.** Every file is checked before the job is stored (:func:`check_file`): its kind and
page count from the document's header (``probe_document``: a corrupt or encrypted PDF, a bad
TIFF chain, a bad page range fail that file at once, with the reason ``POST /ocr`` would give),
an image's header (pixel limit), and the byte limit of the engine for images and TIFFs. The pages
of all the files together are held to ``max_job_pages`` (413 ``too_many_pages``), the jobs
waiting to ``max_queued_jobs`` (503 + Retry-After): the work is bounded before it is accepted.

**Run.** A runner claims a job from the store (:mod:`.jobstore`) with a lease, and reads its
files one page at a time, each page in a slot of the service's :class:`~.inference.InferencePool`
(the same engines, limits and per-request deadline as ``POST /ocr``), saving each page as it
finishes; a file that fails (a page the engine refuses, a page past the request timeout) is
failed with its reason and the job goes on with the next file. Between pages it honours a cancel
(the store refuses the writes of a cancelled job) and keeps its lease alive (a heartbeat every
third of the lease). On shutdown the job is handed back (``release``); after a crash its lease
expires and the next start, or another process sharing the store, resumes it at the first page
not saved.

**Previews.** A job submitted with ``preview=true`` (the Web UI's) keeps each page's image as
``POST /ocr``'s ``preview=true`` makes it (a JPEG, long side at most 1600 px), encoded in the slot
while the page image is alive and saved with the page in one write; ``GET
/jobs/{id}/pages/{n}/preview`` serves it. A JPEG over :data:`JOB_PREVIEW_MAX_BYTES` is not kept
(the page is shown without its image), so a job's previews stay under that times its pages.

**Interactive requests first.** A job page takes a slot only when one is free *and* no request
waits for one or holds a promise of one (:meth:`JobService.wait_for_idle_slot`); the service runs
``max(1, slots - 1)`` runners, so with two or more slots one stays for ``/ocr``. Once running, a
page is one engine call (a few seconds at most at 200 dpi): an ``/ocr`` request that arrives
meanwhile waits at most that page, never a whole document. The price: under a steady stream of
interactive requests jobs wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
import numpy as np
from prometheus_client import Counter

from .._deadline import Deadline
from .._documents.model import Page
from .._documents.reader import TextLayerMode, probe_document, read_document, sniff
from .._documents.serialize import document_from_pages, page_from_dict, page_to_dict
from .._engine.imaging import probe_image
from .._engine.pipeline import OCR
from .._writers import MEDIA_TYPES, document_dict, write
from ..errors import CpuocrError, ImageTooLarge, WorkLimitExceeded
from .config import ServeConfig
from .errors import BadRequest, Conflict, NotFound, Overloaded, PayloadTooLarge, error_payload
from .inputs import ImageInput, ParsedRequest
from .jobstore import (
    FINISHED,
    Job,
    JobError,
    JobFile,
    JobOptions,
    JobStore,
    NewFile,
    QueueFull,
    valid_job_id,
)
from .jobstore_redis import RedisJobStore
from .jobstore_sqlite import SqliteJobStore
from .metrics import Metrics
from .redis_client import redact
from .service import OcrService, page_preview_jpeg

log = logging.getLogger("cpuocr.serving")

#: An idle runner looks for claimable jobs this often (a submit to this process wakes it at
#: once; this finds jobs of other processes and expired leases).
POLL_S = 1.0
#: How often a runner waiting for a free slot looks again (a check of two counters).
IDLE_SLOT_POLL_S = 0.05
#: Expired jobs are removed this often.
EXPIRY_EVERY_S = 60.0
#: A page preview larger than this is not kept. The pages measured at 1600 px (service.py) make
#: 80-410 KB; only a page of noise passes it.
JOB_PREVIEW_MAX_BYTES = 512 * 1024
#: Pages one ``GET /jobs/{id}/pages`` returns at most (``?limit=``, at most
#: :data:`MAX_PAGES_PER_CALL`); ``more`` says whether to ask again from the last one.
PAGES_PER_CALL = 100
MAX_PAGES_PER_CALL = 1000


def open_store(config: ServeConfig) -> JobStore:
    """The job store ``config`` names: Redis at ``jobs_url`` (shared by replicas), else SQLite
    in ``data_dir``."""
    if config.jobs_url is not None:
        return RedisJobStore(config.jobs_url, ttl_s=config.job_ttl_s)
    if config.data_dir is None:
        raise ValueError("no data directory")
    return SqliteJobStore(Path(config.data_dir), ttl_s=config.job_ttl_s)


class JobService:
    """The jobs of one service process: the store (opened when the first job is submitted, or at
    start when the data directory already holds one), the runners, and the answers."""

    def __init__(self, service: OcrService, metrics: Metrics) -> None:
        self.service = service
        self._store: JobStore | None = None
        self._opening = asyncio.Lock()
        self._runners: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._mean_job_s = 30.0  # for Retry-After when the queue is full
        registry = metrics.registry
        self.pages_read = Counter(
            "cpuocr_job_pages", "Job pages read, by outcome", ("outcome",), registry=registry
        )
        self.jobs_finished = Counter(
            "cpuocr_jobs_finished", "Jobs ended in this process, by state", ("state",),
            registry=registry,
        )  # fmt: skip

    @property
    def config(self) -> ServeConfig:
        return self.service.config

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume: when the data directory already holds a job store, open it and start the
        runners (queued jobs, and running ones whose worker died, are claimed again)."""
        data_dir = self.config.data_dir
        shared = self.config.jobs_url is not None  # other replicas' jobs may be waiting
        if shared or (data_dir is not None and (Path(data_dir) / "jobs.sqlite3").is_file()):
            await self.store()

    async def stop(self) -> None:
        """Stop the runners; each hands its job back to the store for the next start."""
        for task in self._runners:
            task.cancel()
        for task in self._runners:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._runners.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    async def store(self) -> JobStore:
        if self._store is not None:
            return self._store
        if self.config.data_dir is None and self.config.jobs_url is None:
            raise Overloaded(
                "jobs are off: this server has no data directory (--data-dir)",
                retry_after_s=3600,
                code="jobs_disabled",
            )
        async with self._opening:
            if self._store is None:
                try:
                    store = await anyio.to_thread.run_sync(open_store, self.config)
                except (OSError, ValueError) as exc:
                    log.error("cannot open the job store in %s: %s", self._where(), exc)
                    raise Overloaded(
                        f"the job store cannot be opened in {self.config.data_dir} (see "
                        "--data-dir)",
                        retry_after_s=60,
                        code="jobs_unavailable",
                    ) from None
                self._store = store
                runners = max(1, (self.service.config.slots or 1) - 1)
                for n in range(runners):
                    task = asyncio.create_task(self._run_forever(f"{self._worker_id}:{n}", n == 0))
                    self._runners.append(task)
                log.info("job store open in %s, %d runner(s)", self._where(), runners)
        assert self._store is not None
        return self._store

    def _where(self) -> str:
        url = self.config.jobs_url
        return redact(url) if url is not None else str(self.config.data_dir)

    # -- the routes' calls ----------------------------------------------------------------------

    async def check_room(self) -> None:
        """503 before the body is read when the queue of jobs is full."""
        store = await self.store()
        queued = await anyio.to_thread.run_sync(store.count_queued)
        if queued >= self.config.max_queued_jobs:
            raise self._queue_full()

    def _queue_full(self) -> Overloaded:
        return Overloaded(
            f"{self.config.max_queued_jobs} jobs are already waiting; retry later",
            retry_after_s=max(1, min(600, math.ceil(self._mean_job_s))),
            code="queue_full",
        )

    async def submit(self, parsed: ParsedRequest) -> Job:
        """Check the files (the module docstring), store the job, wake a runner."""
        store = await self.store()
        options = JobOptions(
            det=parsed.options.det,
            preprocess=parsed.options.preprocess,
            pages=parsed.document.pages,
            dpi=parsed.document.dpi,
            text_layer=parsed.document.text_layer,
            preview=parsed.document.preview,
        )
        check = functools.partial(check_files, parsed.images, options, self.config)
        files = await anyio.to_thread.run_sync(check)
        job_id = secrets.token_urlsafe(18)
        create = functools.partial(
            store.create, job_id, options, files, max_queued=self.config.max_queued_jobs
        )
        try:
            job = await anyio.to_thread.run_sync(create)
        except QueueFull:
            raise self._queue_full() from None
        self._wake.set()
        return job

    async def get(self, job_id: str) -> Job:
        store = await self.store()
        job = await anyio.to_thread.run_sync(store.get, job_id) if valid_job_id(job_id) else None
        if job is None:
            raise NotFound(
                f"no job {job_id[:64]!r} (never submitted, deleted, or past its retention)",
                code="job_not_found",
            )
        return job

    async def cancel_or_delete(self, job_id: str) -> tuple[Job, bool]:
        """Cancel a queued or running job; delete a finished one. (the job, deleted)."""
        store = await self.store()
        job = await self.get(job_id)
        if not job.finished:
            cancelled = await anyio.to_thread.run_sync(store.cancel, job_id)
            if cancelled is not None and cancelled.state == "cancelled":
                self.jobs_finished.labels(state="cancelled").inc()
                return cancelled, False
            job = cancelled or job  # it finished in the meantime: delete it
        await anyio.to_thread.run_sync(store.delete, job_id)
        return job, True

    async def result(self, job_id: str, fmt: str, file: int | None) -> tuple[bytes, str]:
        """A finished file of a job in format ``fmt``, with its media type."""
        store = await self.store()
        job = await self.get(job_id)
        if not job.finished:
            raise Conflict(
                f"the job is {job.state}: {job.pages_done} of {job.pages_total} pages read; "
                f"poll GET /jobs/{job_id} until its state is done",
                code="job_not_finished",
            )
        if job.state == "cancelled":
            raise Conflict("the job was cancelled; it has no result", code="job_cancelled")
        entry = _file_of(job, file)
        if entry.state != "done":
            reason = entry.error.message if entry.error is not None else entry.state
            raise Conflict(
                f"file {entry.index} ({entry.name}) failed: {reason}", code="file_failed"
            )

        def build() -> bytes:
            pages = [page_from_dict(d) for d in store.pages(job_id, entry.index)]
            document = document_from_pages(pages, page_count=entry.page_count, kind=entry.kind)
            source = store.read_input(job_id, entry.index) if fmt == "pdf" else None
            return write(document, fmt, source=source)

        return await anyio.to_thread.run_sync(build), MEDIA_TYPES[fmt]

    async def saved_pages(
        self, job_id: str, file: int | None, after: int, limit: int = PAGES_PER_CALL
    ) -> dict[str, Any]:
        """The pages of a job's file read so far whose number is over ``after`` (at most
        ``limit``, ``more`` saying whether later ones are saved too), in the document JSON's page
        shape, whatever the job's state (the Web UI shows each page as it is read), with the job
        as ``GET /jobs/{id}`` answers it. Only those pages are read from the store: a poll of a
        long job costs what it returns, not the whole job."""
        store = await self.store()
        job = await self.get(job_id)
        entry = _file_of(job, file)

        def build() -> tuple[list[dict[str, Any]], bool]:
            saved = store.pages(job_id, entry.index, after, limit + 1)
            more = len(saved) > limit
            pages = [page_from_dict(d) for d in saved[:limit]]
            document = document_from_pages(pages, page_count=entry.page_count, kind=entry.kind)
            found: list[dict[str, Any]] = document_dict(document)["pages"]
            return found, more

        pages, more = await anyio.to_thread.run_sync(build)
        return {"success": True, "job": job_answer(job), "pages": pages, "more": more}

    async def preview(self, job_id: str, number: int, file: int | None) -> bytes:
        """The preview JPEG of page ``number`` of a job's file (the module docstring), as soon
        as that page is read; 404 ``preview_not_found`` when there is none."""
        store = await self.store()
        job = await self.get(job_id)
        entry = _file_of(job, file)
        found = None
        if number in entry.numbers:
            found = await anyio.to_thread.run_sync(store.page_preview, job_id, entry.index, number)
        if found is None:
            raise NotFound(
                f"page {number} of file {entry.index} has no preview: not one of its pages, not "
                "read yet, or the job was submitted without preview=true",
                code="preview_not_found",
            )
        return found

    # -- the runners ----------------------------------------------------------------------------

    async def _run_forever(self, worker: str, cleans: bool) -> None:
        store = self._store
        assert store is not None
        lease_s = self.config.job_lease_s
        last_cleaning = 0.0
        while True:
            if cleans and time.monotonic() - last_cleaning > EXPIRY_EVERY_S:
                last_cleaning = time.monotonic()
                removed = await anyio.to_thread.run_sync(store.delete_expired)
                if removed:
                    log.info("removed %d expired job(s)", removed)
            try:
                job = await anyio.to_thread.run_sync(store.claim, worker, lease_s)
            except Exception:  # a store that fails (disk full, locked): log, retry later
                log.exception("claiming a job failed")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                self._wake.clear()
                continue
            started = time.monotonic()
            log.info("job %s: claimed by %s (attempt %d)", job.id, worker, job.attempts)
            try:
                await self._run_job(store, job, worker)
            except asyncio.CancelledError:
                # Shutting down: hand the job back so that the next start resumes it at once.
                await asyncio.shield(anyio.to_thread.run_sync(store.release, job.id, worker))
                raise
            except Overloaded as exc:  # the store went away (Redis down): no traceback to add
                log.warning("job %s: %s; its lease will expire", job.id, exc.message)
                continue
            except Exception:
                log.exception("job %s: the runner failed; its lease will expire", job.id)
                continue
            took = time.monotonic() - started
            self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * took

    async def _run_job(self, store: JobStore, job: Job, worker: str) -> None:
        lost = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(store, job.id, worker, lost))
        try:
            for entry in job.files:
                if entry.state != "pending":
                    continue
                error = await self._run_file(store, job, entry, worker, lost)
                if lost.is_set():
                    return
                if not await anyio.to_thread.run_sync(
                    store.finish_file, job.id, worker, entry.index, error
                ):
                    return
            ended = await anyio.to_thread.run_sync(store.finish, job.id, worker)
            if ended is not None:
                self.jobs_finished.labels(state=ended.state).inc()
                log.info("job %s: %s, %d page(s)", job.id, ended.state, ended.pages_done)
        finally:
            beat.cancel()

    async def _run_file(
        self, store: JobStore, job: Job, entry: JobFile, worker: str, lost: asyncio.Event
    ) -> JobError | None:
        """Read the pages of one file not saved yet; the file's error, or None when done (or the
        job was lost: ``lost`` is set)."""
        done = await anyio.to_thread.run_sync(store.done_pages, job.id, entry.index)
        todo = [n for n in entry.numbers if n not in done]
        if not todo:
            return None
        data = await anyio.to_thread.run_sync(store.read_input, job.id, entry.index)
        lease_s = self.config.job_lease_s
        for number in todo:
            if lost.is_set():
                return None
            await self.wait_for_idle_slot()
            work = functools.partial(_read_page, data, number, job.options)
            try:
                page, preview = await self.service.pool.run(work)
            except Overloaded as exc:
                if exc.code == "shutting_down":
                    raise asyncio.CancelledError from None
                self.pages_read.labels(outcome="failed").inc()
                return JobError(exc.code, f"page {number}: {exc.message}", exc.status)
            except CpuocrError as exc:
                self.pages_read.labels(outcome="failed").inc()
                status, body, _ = error_payload(exc)
                message = f"page {number}: {body['error']['message']}"
                return JobError(body["error"]["code"], message, status)
            save = functools.partial(
                store.save_page,
                job.id,
                worker,
                entry.index,
                number,
                page_to_dict(page),
                lease_s,
                preview=preview,
            )
            saved = await anyio.to_thread.run_sync(save)
            if not saved:  # cancelled, deleted or taken over
                lost.set()
                return None
            self.pages_read.labels(outcome="ok").inc()
        return None

    async def wait_for_idle_slot(self) -> None:
        """Return when a slot is free and no request waits for one or holds a promise of one
        (then ``pool.run`` takes it without waiting: nothing runs on the loop in between)."""
        pool = self.service.pool
        while pool.room <= pool.queue_size:  # room = free + queue places - waiting - promised
            await asyncio.sleep(IDLE_SLOT_POLL_S)

    async def _heartbeat(
        self, store: JobStore, job_id: str, worker: str, lost: asyncio.Event
    ) -> None:
        lease_s = self.config.job_lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                held = await anyio.to_thread.run_sync(store.heartbeat, job_id, worker, lease_s)
            except Overloaded as exc:  # the store went away (Redis down)
                log.warning("job %s: heartbeat failed: %s", job_id, exc.message)
                continue
            except Exception:
                log.exception("job %s: heartbeat failed", job_id)
                continue
            if not held:
                log.info("job %s: no longer held by %s (cancelled or taken over)", job_id, worker)
                lost.set()
                return


def _read_page(
    data: bytes, number: int, options: JobOptions, engine: OCR, deadline: Deadline
) -> tuple[Page, bytes | None]:
    """One page of a document (or the one page of an image), in a slot; with its preview JPEG
    when the job asks for previews."""
    previews: list[bytes] = []

    def on_image(_number: int, image: np.ndarray) -> None:
        jpeg, _, _ = page_preview_jpeg(image)  # POST /ocr's encoder: both show the same image
        if len(jpeg) <= JOB_PREVIEW_MAX_BYTES:
            previews.append(jpeg)

    document = read_document(
        data,
        ocr=engine,
        pages=[number],
        dpi=options.dpi,
        text_layer=cast(TextLayerMode, options.text_layer),
        max_pages=1,
        deadline=deadline,
        det=options.det,
        preprocess=options.preprocess,
        on_image=on_image if options.preview else None,
    )
    return document.pages[0], (previews[0] if previews else None)


def _file_of(job: Job, file: int | None) -> JobFile:
    """The file ``file=`` names (from 0); may be left out when the job has one file."""
    if file is None:
        if len(job.files) > 1:
            raise BadRequest(
                f"the job has {len(job.files)} files: choose one with file=0..."
                f"{len(job.files) - 1}",
                code="file_required",
            )
        file = 0
    if not 0 <= file < len(job.files):
        raise BadRequest(
            f"file={file}: the job has {len(job.files)} file(s), numbered from 0",
            code="invalid_parameter",
        )
    return job.files[file]


# -- submit checks ------------------------------------------------------------------------------


def check_files(
    images: Sequence[ImageInput], options: JobOptions, config: ServeConfig
) -> list[NewFile]:
    """Each file checked (:func:`check_file`); raises for the job as a whole when its pages pass
    ``max_job_pages``, or with the first file's error when no file can be read."""
    files: list[NewFile] = []
    first_error: CpuocrError | None = None
    for n, image in enumerate(images):
        try:
            files.append(check_file(image, options, config, config.max_job_pages))
        except CpuocrError as exc:
            # A PDF's only work limit at submit is its page count (a TIFF's may be its chain).
            if isinstance(exc, WorkLimitExceeded) and sniff(image.data[:1024]) == "pdf":
                raise _too_many_pages(config, f"file {n}") from None
            status, body, _ = error_payload(exc)
            error = JobError(body["error"]["code"], body["error"]["message"], status)
            name = image.filename or f"file-{n}"
            files.append(NewFile(name, image.data, "image", 0, (), error))
            first_error = first_error or exc
    total = sum(len(f.numbers) for f in files)
    if total > config.max_job_pages:
        raise _too_many_pages(config, f"{total} pages")
    if first_error is not None and all(f.error is not None for f in files):
        raise first_error
    return files


def check_file(
    image: ImageInput, options: JobOptions, config: ServeConfig, max_pages: int
) -> NewFile:
    """A file's kind, page count and pages to read, from its header; raises the error ``POST
    /ocr`` gives the same file (WorkLimitExceeded for more than ``max_pages`` pages)."""
    data, name = image.data, image.filename or "file"
    kind = sniff(data[:1024])
    if kind != "pdf" and len(data) > config.max_upload_bytes:
        raise ImageTooLarge(
            f"the file is {len(data)} bytes, over the limit of {config.max_upload_bytes} bytes "
            "for images and TIFFs (PDFs may be larger)"
        )
    doc_kind, count, numbers = probe_document(
        data, pages=options.pages, max_pages=max_pages, max_bytes=config.max_upload_bytes
    )
    if doc_kind == "image":
        probe_image(data, config.max_pixels)  # the header: type and pixel limit
    return NewFile(name, data, doc_kind, count, numbers)


def _too_many_pages(config: ServeConfig, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what}: a job reads at most {config.max_job_pages} pages (--max-job-pages); split it "
        "or choose pages with pages=",
        code="too_many_pages",
    )


# -- answers ------------------------------------------------------------------------------------


def _time(value: float | None) -> str | None:
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def job_answer(job: Job) -> dict[str, Any]:
    """The JSON of a job (``GET /jobs/{id}``, and the 202 of ``POST /jobs``)."""
    return {
        "id": job.id,
        "state": job.state,
        "pages_total": job.pages_total,
        "pages_done": job.pages_done,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "expires_at": _time(job.expires_at),
        "attempts": job.attempts,
        "options": job.options.to_dict(),
        "files": [
            {
                "index": f.index,
                "name": f.name,
                "size": f.size,
                "kind": f.kind,
                "page_count": f.page_count,
                "pages": list(f.numbers),
                "pages_done": f.pages_done,
                "state": f.state,
                "error": {"code": f.error.code, "message": f.error.message} if f.error else None,
            }
            for f in job.files
        ],
        "result": f"/jobs/{job.id}/result" if job.state in FINISHED else None,
    }
