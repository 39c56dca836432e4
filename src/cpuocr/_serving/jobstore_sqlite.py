"""The job store of one machine: SQLite (WAL mode) in the service's data directory, the inputs
as files beside it. It keeps the semantics of :class:`~.jobstore.JobStore`.

Layout of ``data_dir``::

    jobs.sqlite3            tables jobs, files, pages (one row per page read), previews (a
                            page's JPEG, for jobs submitted with preview; the table is added
                            to a database made before it when the store opens it)
    jobs/<id>/<index>       the bytes of each input file, as submitted

A job's inputs are written to ``jobs/.new-<id>/``, flushed to disk and renamed to ``jobs/<id>/``
before its row is inserted, so a job in the database always has its inputs; a crash in between
leaves only a directory without a row, removed by :meth:`SqliteJobStore.delete_expired` after an
hour. Every change is one transaction (``BEGIN IMMEDIATE``: several processes of one service —
``--workers N`` — share the database, and a claim is atomic across them), committed with
``synchronous=FULL``: a page saved is on disk before the next is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from .jobstore import (
    DocumentKind,
    FileState,
    Job,
    JobError,
    JobFile,
    JobOptions,
    JobState,
    NewFile,
    QueueFull,
    check_new_job,
    valid_job_id,
)

DB_NAME = "jobs.sqlite3"
INPUTS_DIR = "jobs"
#: A directory under jobs/ without a row this old is what a crash left behind.
ORPHAN_AGE_S = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    expires_at REAL,
    worker TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs (expires_at);
CREATE TABLE IF NOT EXISTS files (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    page_count INTEGER NOT NULL,
    numbers TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS pages (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    number INTEGER NOT NULL,
    data TEXT NOT NULL,
    worker TEXT NOT NULL,
    saved_at REAL NOT NULL,
    PRIMARY KEY (job_id, idx, number)
);
CREATE TABLE IF NOT EXISTS previews (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    number INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, idx, number)
);
"""


#: The oldest job a worker may claim: queued, or running under an expired lease.
_CLAIMABLE = (
    "SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < ?)"
    " ORDER BY created_at, rowid LIMIT 1"
)


class SqliteJobStore:
    """:class:`~.jobstore.JobStore` on SQLite in ``data_dir`` (created if missing). ``ttl_s``:
    how long a finished job is kept; ``clock``: Unix seconds (tests pass their own)."""

    def __init__(
        self, data_dir: str | Path, *, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.data_dir = Path(data_dir)
        self.inputs_dir = self.data_dir / INPUTS_DIR
        self.inputs_dir.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.data_dir / DB_NAME, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._tx() as db:  # not executescript: it would commit on its own
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                db.execute(statement)

    # -- plumbing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (no other process writes in between)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    @staticmethod
    def _holds(db: sqlite3.Connection, job_id: str, worker: str) -> bool:
        row = db.execute(
            "SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND worker = ?",
            (job_id, worker),
        ).fetchone()
        return row is not None

    def _job_dir(self, job_id: str) -> Path:
        if not valid_job_id(job_id):
            raise KeyError(job_id)
        return self.inputs_dir / job_id

    # -- the protocol --------------------------------------------------------------------------

    def create(
        self,
        job_id: str,
        options: JobOptions,
        files: Sequence[NewFile],
        *,
        max_queued: int | None = None,
    ) -> Job:
        check_new_job(job_id, files, max_queued, self.count_queued)
        final = self._job_dir(job_id)
        _write_inputs(self.inputs_dir / f".new-{job_id}", final, [f.data for f in files])
        now = self._clock()
        failed = all(f.error is not None for f in files)
        state: JobState = "failed" if failed else "queued"
        try:
            with self._tx() as db:
                if max_queued is not None and _count_queued(db) >= max_queued:
                    raise QueueFull(f"{max_queued} jobs are already queued")
                db.execute(
                    "INSERT INTO jobs (id, state, options, created_at, updated_at, finished_at,"
                    " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        state,
                        json.dumps(options.to_dict()),
                        now,
                        now,
                        now if failed else None,
                        now + self.ttl_s if failed else None,
                    ),
                )
                db.executemany(
                    "INSERT INTO files (job_id, idx, name, size, kind, page_count, numbers, state,"
                    " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            job_id,
                            i,
                            f.name,
                            len(f.data),
                            f.kind,
                            f.page_count,
                            json.dumps(list(f.numbers) if f.error is None else []),
                            "pending" if f.error is None else "failed",
                            json.dumps(f.error.to_dict()) if f.error is not None else None,
                        )
                        for i, f in enumerate(files)
                    ],
                )
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        job = self.get(job_id)
        if job is None:  # pragma: no cover - deleted in the instant since
            raise KeyError(job_id)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, options, created_at, updated_at, started_at, finished_at,"
                " expires_at, worker, lease_until, attempts FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                return None
            file_rows = self._db.execute(
                "SELECT idx, name, size, kind, page_count, numbers, state, error FROM files"
                " WHERE job_id = ? ORDER BY idx",
                (job_id,),
            ).fetchall()
            done = dict(
                self._db.execute(
                    "SELECT idx, COUNT(*) FROM pages WHERE job_id = ? GROUP BY idx", (job_id,)
                ).fetchall()
            )
        files = tuple(
            JobFile(
                index=idx,
                name=name,
                size=size,
                kind=cast(DocumentKind, kind),
                page_count=page_count,
                numbers=tuple(json.loads(numbers)),
                state=cast(FileState, state),
                error=_error(error),
                pages_done=int(done.get(idx, 0)),
            )
            for idx, name, size, kind, page_count, numbers, state, error in file_rows
        )
        return Job(
            id=row[0],
            state=cast(JobState, row[1]),
            options=JobOptions.from_dict(json.loads(row[2])),
            files=files,
            created_at=row[3],
            updated_at=row[4],
            started_at=row[5],
            finished_at=row[6],
            expires_at=row[7],
            worker=row[8],
            lease_until=row[9],
            attempts=row[10],
        )

    def count_queued(self) -> int:
        with self._lock:
            return _count_queued(self._db)

    def claim(self, worker: str, lease_s: float) -> Job | None:
        now = self._clock()
        if not self._read(_CLAIMABLE, (now,)):  # idle polls take no write lock
            return None
        with self._tx() as db:
            row = db.execute(_CLAIMABLE, (now,)).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', worker = ?, lease_until = ?,"
                " started_at = COALESCE(started_at, ?), updated_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                (worker, now + lease_s, now, now, row[0]),
            )
        return self.get(row[0])

    def heartbeat(self, job_id: str, worker: str, lease_s: float) -> bool:
        now = self._clock()
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE jobs SET lease_until = ?, updated_at = ?"
                " WHERE id = ? AND state = 'running' AND worker = ?",
                (now + lease_s, now, job_id, worker),
            )
            return cursor.rowcount == 1

    def read_input(self, job_id: str, index: int) -> bytes:
        path = self._job_dir(job_id) / str(int(index))
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyError(f"{job_id}/{index}") from None

    def done_pages(self, job_id: str, index: int) -> frozenset[int]:
        rows = self._read(
            "SELECT number FROM pages WHERE job_id = ? AND idx = ?", (job_id, int(index))
        )
        return frozenset(int(r[0]) for r in rows)

    def pages(
        self, job_id: str, index: int, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT data FROM pages WHERE job_id = ? AND idx = ? AND number > ? ORDER BY number "
            "LIMIT ?",
            (job_id, int(index), int(after), -1 if limit is None else int(limit)),
        )
        return [json.loads(r[0]) for r in rows]

    def page_workers(self, job_id: str, index: int) -> dict[int, str]:
        """Which worker saved each page (for tests and diagnostics; not in the protocol)."""
        rows = self._read(
            "SELECT number, worker FROM pages WHERE job_id = ? AND idx = ?", (job_id, int(index))
        )
        return {int(n): str(w) for n, w in rows}

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
        data = json.dumps(page, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        now = self._clock()
        with self._tx() as db:
            if not self._holds(db, job_id, worker):
                return False
            db.execute(
                "INSERT OR IGNORE INTO pages (job_id, idx, number, data, worker, saved_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, int(index), int(number), data, worker, now),
            )
            if preview is not None:
                db.execute(
                    "INSERT OR IGNORE INTO previews (job_id, idx, number, data)"
                    " VALUES (?, ?, ?, ?)",
                    (job_id, int(index), int(number), sqlite3.Binary(preview)),
                )
            db.execute(
                "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ?",
                (now + lease_s, now, job_id),
            )
        return True

    def page_preview(self, job_id: str, index: int, number: int) -> bytes | None:
        rows = self._read(
            "SELECT data FROM previews WHERE job_id = ? AND idx = ? AND number = ?",
            (job_id, int(index), int(number)),
        )
        return bytes(rows[0][0]) if rows else None

    def finish_file(
        self, job_id: str, worker: str, index: int, error: JobError | None = None
    ) -> bool:
        with self._tx() as db:
            if not self._holds(db, job_id, worker):
                return False
            db.execute(
                "UPDATE files SET state = ?, error = ? WHERE job_id = ? AND idx = ?",
                (
                    "failed" if error is not None else "done",
                    json.dumps(error.to_dict()) if error is not None else None,
                    job_id,
                    int(index),
                ),
            )
            db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (self._clock(), job_id))
        return True

    def finish(self, job_id: str, worker: str) -> Job | None:
        now = self._clock()
        with self._tx() as db:
            if not self._holds(db, job_id, worker):
                return None
            done = db.execute(
                "SELECT COUNT(*) FROM files WHERE job_id = ? AND state = 'done'", (job_id,)
            ).fetchone()[0]
            db.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, expires_at = ?, updated_at = ?,"
                " worker = NULL, lease_until = NULL WHERE id = ?",
                ("done" if done else "failed", now, now + self.ttl_s, now, job_id),
            )
        return self.get(job_id)

    def release(self, job_id: str, worker: str) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL,"
                " updated_at = ? WHERE id = ? AND state = 'running' AND worker = ?",
                (self._clock(), job_id, worker),
            )
            return cursor.rowcount == 1

    def cancel(self, job_id: str) -> Job | None:
        now = self._clock()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?, expires_at = ?,"
                " updated_at = ?, worker = NULL, lease_until = NULL"
                " WHERE id = ? AND state IN ('queued', 'running')",
                (now, now + self.ttl_s, now, job_id),
            )
        return self.get(job_id)

    def delete(self, job_id: str) -> bool:
        with self._tx() as db:
            cursor = db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            db.execute("DELETE FROM files WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM pages WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM previews WHERE job_id = ?", (job_id,))
            found = cursor.rowcount == 1
        if valid_job_id(job_id):
            shutil.rmtree(self.inputs_dir / job_id, ignore_errors=True)
        return found

    def delete_expired(self) -> int:
        now = self._clock()
        expired = self._read(
            "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ?", (now,)
        )
        removed = sum(self.delete(row[0]) for row in expired)
        known = {row[0] for row in self._read("SELECT id FROM jobs")}
        for entry in self.inputs_dir.iterdir():
            name = entry.name.removeprefix(".new-")
            if name in known:
                continue
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > ORPHAN_AGE_S:
                    shutil.rmtree(entry, ignore_errors=True)
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _count_queued(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'queued'").fetchone()[0])


def _error(raw: str | None) -> JobError | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return JobError(str(data["code"]), str(data["message"]), int(data.get("status", 400)))


def _write_inputs(staging: Path, final: Path, datas: Sequence[bytes]) -> None:
    """Write each input as ``staging/<index>``, flush them to disk, then rename ``staging`` to
    ``final`` (atomic): a reader sees all the inputs or none."""
    if final.exists():
        raise ValueError(f"job {final.name} exists already")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for index, data in enumerate(datas):
            with open(staging / str(index), "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(staging)
        os.rename(staging, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
