"""Durable jobs: what a job is, and the :class:`JobStore` protocol every store implements.

A job is one ``POST /jobs``: its options and one or more input files (images, PDFs, multi-page
TIFFs), each checked at submit (kind, page count, the pages to read). A runner (:mod:`.jobs`)
claims a queued job, reads its files page by page and saves each page's result as it finishes;
``GET /jobs/{id}`` reads the job back, ``…/result`` builds an output format from the saved
pages. Stores: :class:`~.jobstore_sqlite.SqliteJobStore` (one machine, the default) and a
Redis store (replicas share it). The protocol's semantics, which every store keeps:

* **States.** A job is ``queued`` → ``running`` → ``done`` | ``failed``, or ``cancelled`` from
  ``queued`` or ``running``. ``done``: every file finished and at least one was read; ``failed``:
  every file failed. A file is ``pending`` → ``done`` | ``failed`` (its :class:`JobError` says
  why); a file refused at submit (corrupt, encrypted, too large) is ``failed`` from the start.
* **Leases.** :meth:`JobStore.claim` takes the oldest claimable job atomically (two workers, in
  one process or on two machines, never get the same job) and gives the worker a lease of
  ``lease_s`` seconds, renewed by :meth:`~JobStore.heartbeat` and by every
  :meth:`~JobStore.save_page`. Claimable: ``queued`` jobs, and ``running`` jobs whose lease has
  expired — a worker that died (a killed process, a lost replica) stops renewing, and its job is
  taken over, which is how a restart resumes. Every write of a worker names the worker and is
  refused (returns False) once the job is no longer ``running`` under that worker's lease (taken
  over, cancelled, deleted): the worker then stops. :meth:`~JobStore.release` hands a job back
  (``queued``) at once, on a clean shutdown.
* **Pages.** Each page's result is saved once, keyed by (job, file index, page number), as the
  JSON-safe dict of :func:`cpuocr._documents.serialize.page_to_dict`. A worker resuming a job
  reads :meth:`~JobStore.done_pages` and reads only the others. A job submitted with
  ``preview`` also keeps each page's image for display (a JPEG of at most ``PREVIEW_MAX_SIDE``
  px and ``JOB_PREVIEW_MAX_BYTES``, :mod:`.jobs`), saved with its page in the same write and
  read back by :meth:`~JobStore.page_preview`; removed with the job. Stores made before
  previews existed read on unchanged (their jobs simply have none).
* **Retention.** A job that ends (done, failed, cancelled) expires ``ttl_s`` seconds later
  (``expires_at``); :meth:`~JobStore.delete_expired` removes expired jobs with their inputs and
  pages. Queued and running jobs never expire. Times are Unix seconds (``time.time()``), so
  they mean the same across restarts and machines.
* **Inputs** are stored with the job (:meth:`~JobStore.create`, all or nothing) and read back by
  :meth:`~JobStore.read_input` (bytes; a searchable PDF is built from them).
* **Limits.** :meth:`~JobStore.create` refuses a job with :class:`QueueFull` when
  ``max_queued`` jobs are already queued, checked and inserted atomically.

Methods block (disk or network); the service calls them from a thread, never on the event loop.
A store is safe to use from several threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FileState = Literal["pending", "done", "failed"]
DocumentKind = Literal["pdf", "tiff", "image"]

JOB_STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")
#: States a job does not leave (its results may be read, it may be deleted, it expires).
FINISHED: frozenset[str] = frozenset(("done", "failed", "cancelled"))


class QueueFull(Exception):
    """:meth:`JobStore.create` found ``max_queued`` jobs already queued (the service answers
    503 with Retry-After)."""


#: Job ids are made by the service (secrets.token_urlsafe); anything else is not a job here.
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def valid_job_id(job_id: str) -> bool:
    return bool(_JOB_ID.match(job_id))


def check_new_job(
    job_id: str, files: Sequence[object], max_queued: int | None, queued: Callable[[], int]
) -> None:
    """What every store checks before :meth:`JobStore.create` stores anything: a well-formed
    id, at least one file, and room in the queue (``queued()`` is asked only with a limit)."""
    if not valid_job_id(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    if not files:
        raise ValueError("a job needs at least one file")
    if max_queued is not None and queued() >= max_queued:
        raise QueueFull(f"{max_queued} jobs are already queued")


@dataclass(frozen=True)
class JobOptions:
    """How every file of a job is read: the options of ``POST /ocr`` that apply to a job."""

    det: bool = True
    preprocess: str | None = None  # None: the engine's configured mode
    pages: str | None = None  # "1-3,7" applied to each document; None: every page
    dpi: float | None = None  # None: the reader's default
    text_layer: str = "auto"
    preview: bool = False  # keep each page's image for display (the Web UI asks for it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "det": self.det,
            "preprocess": self.preprocess,
            "pages": self.pages,
            "dpi": self.dpi,
            "text_layer": self.text_layer,
            "preview": self.preview,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobOptions:
        dpi = data.get("dpi")
        return cls(
            det=bool(data.get("det", True)),
            preprocess=cast("str | None", data.get("preprocess")),
            pages=cast("str | None", data.get("pages")),
            dpi=float(dpi) if dpi is not None else None,
            text_layer=str(data.get("text_layer", "auto")),
            preview=bool(data.get("preview", False)),  # absent in jobs stored before previews
        )


@dataclass(frozen=True)
class JobError:
    """Why a file (or a job) failed: the same ``code`` and ``message`` as an HTTP error body,
    and the HTTP ``status`` the same input gets from ``POST /ocr``."""

    code: str
    message: str
    status: int = 400

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "status": self.status}


@dataclass(frozen=True)
class NewFile:
    """A file of a job being created, already checked: its bytes, its ``kind`` and
    ``page_count`` and the page ``numbers`` to read (1-based, ascending); or, refused at submit,
    its ``error`` (no pages to read)."""

    name: str
    data: bytes
    kind: DocumentKind = "image"
    page_count: int = 1
    numbers: tuple[int, ...] = (1,)
    error: JobError | None = None


@dataclass(frozen=True)
class JobFile:
    """A file of a stored job; ``pages_done`` counts its saved pages."""

    index: int
    name: str
    size: int
    kind: DocumentKind
    page_count: int
    numbers: tuple[int, ...]
    state: FileState
    error: JobError | None
    pages_done: int


@dataclass(frozen=True)
class Job:
    """A stored job. ``worker`` and ``lease_until`` are the current lease (``running`` only);
    ``attempts`` counts claims (a job claimed more than once was resumed)."""

    id: str
    state: JobState
    options: JobOptions
    files: tuple[JobFile, ...]
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    worker: str | None = None
    lease_until: float | None = None
    attempts: int = 0

    @property
    def pages_total(self) -> int:
        return sum(len(f.numbers) for f in self.files)

    @property
    def pages_done(self) -> int:
        return sum(f.pages_done for f in self.files)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class JobStore(Protocol):
    """Durable storage of jobs (the module docstring states the semantics). ``worker`` is an
    opaque id unique to one runner of one process (e.g. ``host:pid:random``)."""

    def create(
        self,
        job_id: str,
        options: JobOptions,
        files: Sequence[NewFile],
        *,
        max_queued: int | None = None,
    ) -> Job:
        """Store a new job, ``queued`` (its inputs written durably first), or ``failed`` at once
        when every file already failed. Raise :class:`QueueFull` when ``max_queued`` jobs are
        queued (nothing stored); ``job_id`` must be new (ValueError otherwise)."""
        ...

    def get(self, job_id: str) -> Job | None:
        """The job, or None when there is none (never created, deleted or expired)."""
        ...

    def count_queued(self) -> int:
        """Jobs in state ``queued`` (running ones not counted)."""
        ...

    def claim(self, worker: str, lease_s: float) -> Job | None:
        """Atomically take the oldest claimable job (``queued``, or ``running`` with its lease
        expired) for ``worker``: it becomes ``running`` with a lease until now + ``lease_s``,
        ``attempts`` + 1. None when there is nothing to claim."""
        ...

    def heartbeat(self, job_id: str, worker: str, lease_s: float) -> bool:
        """Extend ``worker``'s lease to now + ``lease_s``. False when the worker no longer holds
        the job (taken over after its lease expired, cancelled, deleted): stop working on it."""
        ...

    def read_input(self, job_id: str, index: int) -> bytes:
        """The bytes of file ``index`` as submitted. KeyError when the job or file is gone."""
        ...

    def done_pages(self, job_id: str, index: int) -> frozenset[int]:
        """The page numbers of file ``index`` already saved."""
        ...

    def pages(
        self, job_id: str, index: int, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The saved pages of file ``index`` (``page_to_dict`` data) whose number is over
        ``after``, in page order, at most ``limit`` of them (None: all); only those are read."""
        ...

    def save_page(
        self,
        job_id: str,
        worker: str,
        index: int,
        number: int,
        page: Mapping[str, Any],
        lease_s: float,
        preview: bytes | None = None,
    ) -> bool:
        """Save page ``number`` of file ``index`` (with its ``preview`` image, when given) and
        extend the lease, atomically; saving a page already saved keeps the first. False
        (nothing saved) when ``worker`` no longer holds the job."""
        ...

    def page_preview(self, job_id: str, index: int, number: int) -> bytes | None:
        """The preview image saved with page ``number`` of file ``index``; None when there is
        none (not read yet, submitted without ``preview``, the job gone)."""
        ...

    def finish_file(
        self, job_id: str, worker: str, index: int, error: JobError | None = None
    ) -> bool:
        """Mark file ``index`` ``done`` (no ``error``) or ``failed`` with ``error``. False when
        ``worker`` no longer holds the job."""
        ...

    def finish(self, job_id: str, worker: str) -> Job | None:
        """End a running job whose files have all finished: ``done`` if any file is done, else
        ``failed``; it expires ``ttl_s`` later. None when ``worker`` no longer holds it."""
        ...

    def release(self, job_id: str, worker: str) -> bool:
        """Hand a running job back unfinished (``queued``, lease cleared, pages kept): another
        worker or the next start resumes it at once. False when ``worker`` does not hold it."""
        ...

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a ``queued`` or ``running`` job (the runner stops after its current page: its
        writes are refused from now on); it expires ``ttl_s`` later. A finished job is returned
        unchanged. None when there is no such job."""
        ...

    def delete(self, job_id: str) -> bool:
        """Remove a job, its inputs and its pages, whatever its state (a runner still working on
        it finds its writes refused). False when there was none."""
        ...

    def delete_expired(self) -> int:
        """Remove the jobs whose ``expires_at`` has passed (and any inputs left by a create
        that did not complete); the number of jobs removed."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used afterwards."""
        ...
