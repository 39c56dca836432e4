"""The job store shared by replicas: Redis (``--jobs-url redis://host:port/db``). It keeps the
semantics of :class:`~.jobstore.JobStore`; any replica can accept, run and answer a job, and a
job whose runner died is taken over by another when its lease expires.

Keys (``P`` = :data:`KEY_PREFIX`)::

    P:job:<id>              hash: state, options, times, worker, lease_until, attempts, nfiles,
                            files (JSON: name, size, kind, page_count, numbers of each file),
                            fstate:<i> and ferror:<i> (each file's state and error)
    P:input:<id>:<i>        the bytes of input file i, as submitted (replicas share no disk)
    P:pages:<id>:<i>        hash: page number -> the page's JSON (page_to_dict)
    P:previews:<id>:<i>     hash: page number -> the page's preview JPEG (jobs submitted with
                            preview; absent in jobs stored before previews existed)
    P:queue                 sorted set: queued jobs by created_at
    P:running               sorted set: running jobs by lease_until
    P:expiry                sorted set: finished jobs by expires_at
    P:new:<id>:<i>          an input being submitted (expires after an hour unless the job is
                            created: a crash between the upload and the create leaves nothing)

Every change is one Lua script, so it is atomic on the server: two replicas never claim the same
job, and a worker's write is refused (False) once it no longer holds the job. A finished job's
keys also get a Redis TTL (``ttl_s`` + :data:`EXPIRY_MARGIN_S`), so Redis reclaims them even when
no replica calls :meth:`RedisJobStore.delete_expired`.

Times are the caller's Unix seconds (``clock``), as in the SQLite store: the replicas' clocks
should agree to well within a lease (NTP does). Durability is Redis's: run it with
``appendonly yes`` for jobs that survive a restart of Redis itself. One Redis (or a primary with
Sentinel), not Redis Cluster: the scripts touch keys of several slots.

A Redis that cannot be reached raises :class:`~.errors.Overloaded` (503, ``jobs_unavailable``):
a job is never accepted that is not stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from .errors import Overloaded
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
)
from .redis_client import client_errors, connect, redact

log = logging.getLogger("cpuocr.serving")

KEY_PREFIX = "cpuocr:jobs:v1:"
#: Seconds a Redis command may take: inputs of up to --max-job-mb travel in one command.
TIMEOUT_S = 30.0
#: Seconds an input uploaded for a job that was never created lives on.
STAGING_TTL_S = 3600
#: Seconds between two log lines of runners that find Redis unreachable.
QUIET_S = 30.0
#: A finished job's keys outlive its ``expires_at`` by this much in Redis, so the store's own
#: :meth:`~RedisJobStore.delete_expired` (on the replicas' clock) normally removes them first.
EXPIRY_MARGIN_S = 60.0

# Shared by every script: ARGV[1] is the key prefix, ARGV[2] the job id.
_PRELUDE = """
local P = ARGV[1]
local id = ARGV[2]
local K = P .. 'job:' .. id
local function holds(worker)
  local v = redis.call('HMGET', K, 'state', 'worker')
  return v[1] == 'running' and v[2] == worker
end
local function file_keys()
  local n = tonumber(redis.call('HGET', K, 'nfiles') or '0')
  local keys = {}
  for i = 0, n - 1 do
    keys[#keys + 1] = P .. 'input:' .. id .. ':' .. i
    keys[#keys + 1] = P .. 'pages:' .. id .. ':' .. i
    keys[#keys + 1] = P .. 'previews:' .. id .. ':' .. i
  end
  return keys
end
local function finish_as(state, now, expires_at, ttl_ms)
  redis.call('HSET', K, 'state', state, 'finished_at', now, 'expires_at', expires_at,
             'updated_at', now)
  redis.call('HDEL', K, 'worker', 'lease_until')
  redis.call('ZREM', P .. 'queue', id)
  redis.call('ZREM', P .. 'running', id)
  redis.call('ZADD', P .. 'expiry', expires_at, id)
  redis.call('PEXPIRE', K, ttl_ms)
  for _, key in ipairs(file_keys()) do redis.call('PEXPIRE', key, ttl_ms) end
end
"""

# ARGV: P, id, max_queued ('' = none), now, state, options, nfiles, files, expires_at, ttl_ms,
# then fstate, ferror ('' = none) of each file.
_CREATE = """
if redis.call('EXISTS', K) == 1 then return 'exists' end
local n = tonumber(ARGV[7])
if ARGV[3] ~= '' and redis.call('ZCARD', P .. 'queue') >= tonumber(ARGV[3]) then
  return 'full'
end
for i = 0, n - 1 do
  if redis.call('EXISTS', P .. 'new:' .. id .. ':' .. i) == 0 then return 'lost' end
end
for i = 0, n - 1 do
  local input = P .. 'input:' .. id .. ':' .. i
  redis.call('RENAME', P .. 'new:' .. id .. ':' .. i, input)
  redis.call('PERSIST', input)
end
redis.call('HSET', K, 'state', ARGV[5], 'options', ARGV[6], 'created_at', ARGV[4],
           'updated_at', ARGV[4], 'attempts', 0, 'nfiles', n, 'files', ARGV[8])
for i = 0, n - 1 do
  redis.call('HSET', K, 'fstate:' .. i, ARGV[11 + 2 * i])
  if ARGV[12 + 2 * i] ~= '' then redis.call('HSET', K, 'ferror:' .. i, ARGV[12 + 2 * i]) end
end
if ARGV[5] == 'queued' then
  redis.call('ZADD', P .. 'queue', ARGV[4], id)
else
  finish_as(ARGV[5], ARGV[4], ARGV[9], ARGV[10])
end
return 'ok'
"""

# ARGV: P, (unused), worker, now, lease_until. The oldest claimable job by created_at: the
# first queued one, or a running one whose lease has passed (its worker died).
_CLAIM = """
local best, best_created = nil, nil
for _, job in ipairs(redis.call('ZRANGEBYSCORE', P .. 'running', '-inf', '(' .. ARGV[4])) do
  local created = redis.call('HGET', P .. 'job:' .. job, 'created_at')
  if not created then
    redis.call('ZREM', P .. 'running', job)  -- removed under its worker
  elseif best == nil or tonumber(created) < best_created then
    best, best_created = job, tonumber(created)
  end
end
local first = redis.call('ZRANGE', P .. 'queue', 0, 0, 'WITHSCORES')
if first[1] and (best == nil or tonumber(first[2]) < best_created) then best = first[1] end
if not best then return false end
local key = P .. 'job:' .. best
redis.call('ZREM', P .. 'queue', best)
redis.call('ZADD', P .. 'running', ARGV[5], best)
redis.call('HSET', key, 'state', 'running', 'worker', ARGV[3], 'lease_until', ARGV[5],
           'updated_at', ARGV[4])
redis.call('HSETNX', key, 'started_at', ARGV[4])
redis.call('HINCRBY', key, 'attempts', 1)
return best
"""

# ARGV: P, id, worker, now, lease_until
_HEARTBEAT = """
if not holds(ARGV[3]) then return 0 end
redis.call('HSET', K, 'lease_until', ARGV[5], 'updated_at', ARGV[4])
redis.call('ZADD', P .. 'running', ARGV[5], id)
return 1
"""

# ARGV: P, id, worker, now, lease_until, index, number, page JSON, preview JPEG ('' = none)
_SAVE_PAGE = """
if not holds(ARGV[3]) then return 0 end
redis.call('HSETNX', P .. 'pages:' .. id .. ':' .. ARGV[6], ARGV[7], ARGV[8])
if ARGV[9] ~= '' then
  redis.call('HSETNX', P .. 'previews:' .. id .. ':' .. ARGV[6], ARGV[7], ARGV[9])
end
redis.call('HSET', K, 'lease_until', ARGV[5], 'updated_at', ARGV[4])
redis.call('ZADD', P .. 'running', ARGV[5], id)
return 1
"""

# ARGV: P, id, worker, now, index, state, error JSON ('' = none)
_FINISH_FILE = """
if not holds(ARGV[3]) then return 0 end
redis.call('HSET', K, 'fstate:' .. ARGV[5], ARGV[6], 'updated_at', ARGV[4])
if ARGV[7] ~= '' then
  redis.call('HSET', K, 'ferror:' .. ARGV[5], ARGV[7])
else
  redis.call('HDEL', K, 'ferror:' .. ARGV[5])
end
return 1
"""

# ARGV: P, id, worker, now, expires_at, ttl_ms
_FINISH = """
if not holds(ARGV[3]) then return false end
local n = tonumber(redis.call('HGET', K, 'nfiles'))
local state = 'failed'
for i = 0, n - 1 do
  if redis.call('HGET', K, 'fstate:' .. i) == 'done' then state = 'done' end
end
finish_as(state, ARGV[4], ARGV[5], ARGV[6])
return state
"""

# ARGV: P, id, worker, now
_RELEASE = """
if not holds(ARGV[3]) then return 0 end
redis.call('HSET', K, 'state', 'queued', 'updated_at', ARGV[4])
redis.call('HDEL', K, 'worker', 'lease_until')
redis.call('ZREM', P .. 'running', id)
redis.call('ZADD', P .. 'queue', redis.call('HGET', K, 'created_at'), id)
return 1
"""

# ARGV: P, id, now, expires_at, ttl_ms
_CANCEL = """
local state = redis.call('HGET', K, 'state')
if not state then return 0 end
if state == 'queued' or state == 'running' then
  finish_as('cancelled', ARGV[3], ARGV[4], ARGV[5])
end
return 1
"""

# ARGV: P, id
_DELETE = """
local existed = redis.call('EXISTS', K)
for _, key in ipairs(file_keys()) do redis.call('DEL', key) end
redis.call('DEL', K)
redis.call('ZREM', P .. 'queue', id)
redis.call('ZREM', P .. 'running', id)
redis.call('ZREM', P .. 'expiry', id)
return existed
"""

# ARGV: P, id. The job's hash and the number of pages saved for each file, in one snapshot.
_GET = """
local fields = redis.call('HGETALL', K)
if #fields == 0 then return false end
local n = tonumber(redis.call('HGET', K, 'nfiles') or '0')
local done = {}
for i = 0, n - 1 do done[#done + 1] = redis.call('HLEN', P .. 'pages:' .. id .. ':' .. i) end
return {fields, done}
"""


class RedisJobStore:
    """:class:`~.jobstore.JobStore` on the Redis at ``url``. ``ttl_s``: how long a finished job
    is kept; ``clock``: Unix seconds (tests pass their own); ``prefix``: the keys' namespace."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
        prefix: str = KEY_PREFIX,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._clock = clock
        self._client = connect(url, timeout_s=timeout_s, purpose="--jobs-url (CPUOCR_JOBS_URL)")
        self._errors = client_errors()
        self._quiet_until = 0.0  # time.monotonic() before which claim() logs no failure
        scripts = {
            "create": _CREATE,
            "claim": _CLAIM,
            "heartbeat": _HEARTBEAT,
            "save_page": _SAVE_PAGE,
            "finish_file": _FINISH_FILE,
            "finish": _FINISH,
            "release": _RELEASE,
            "cancel": _CANCEL,
            "delete": _DELETE,
            "get": _GET,
        }
        self._scripts = {
            name: self._client.register_script(_PRELUDE + body) for name, body in scripts.items()
        }

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Redis unreachable, slow or failing → 503 for the request (the runner retries)."""
        try:
            yield
        except self._errors as exc:
            raise Overloaded(
                f"the job store at {redact(self.url)} is unreachable ({type(exc).__name__})",
                retry_after_s=5,
                code="jobs_unavailable",
            ) from exc

    def _run(self, script: str, job_id: str, *args: Any) -> Any:
        with self._reaching():
            return self._scripts[script](args=[self.prefix, job_id, *args])

    def _key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def _ttl_ms(self) -> int:
        return round((self.ttl_s + EXPIRY_MARGIN_S) * 1000)

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
        staged = [self._key("new", job_id, i) for i in range(len(files))]
        with self._reaching():
            for key, file in zip(staged, files, strict=True):
                self._client.set(key, file.data, ex=STAGING_TTL_S)
        now = self._clock()
        failed = all(f.error is not None for f in files)
        described = [
            {
                "name": f.name,
                "size": len(f.data),
                "kind": f.kind,
                "page_count": f.page_count,
                "numbers": list(f.numbers) if f.error is None else [],
            }
            for f in files
        ]
        per_file: list[str] = []
        for f in files:
            per_file += ["pending" if f.error is None else "failed", _error_json(f.error)]
        try:
            outcome = self._run(
                "create",
                job_id,
                "" if max_queued is None else max_queued,
                repr(now),
                "failed" if failed else "queued",
                json.dumps(options.to_dict()),
                len(files),
                json.dumps(described, ensure_ascii=False),
                repr(now + self.ttl_s),
                self._ttl_ms(),
                *per_file,
            )
        finally:
            with self._reaching():
                self._client.delete(*staged)  # what the script did not take
        if outcome == b"exists":
            raise ValueError(f"job {job_id} exists already")
        if outcome == b"full":
            raise QueueFull(f"{max_queued} jobs are already queued")
        if outcome != b"ok":
            raise Overloaded(
                "the job's inputs were lost before it was stored; submit it again",
                retry_after_s=1,
                code="jobs_unavailable",
            )
        job = self.get(job_id)
        if job is None:  # deleted in the instant since
            raise KeyError(job_id)
        return job

    def get(self, job_id: str) -> Job | None:
        found = self._run("get", job_id)
        if not found:
            return None
        flat, done = found
        fields = {
            flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)
        }  # every value is text (JSON, a state, a number)
        described = json.loads(fields["files"])
        files = tuple(
            JobFile(
                index=i,
                name=str(d["name"]),
                size=int(d["size"]),
                kind=cast(DocumentKind, d["kind"]),
                page_count=int(d["page_count"]),
                numbers=tuple(int(n) for n in d["numbers"]),
                state=cast(FileState, fields.get(f"fstate:{i}", "pending")),
                error=_error(fields.get(f"ferror:{i}")),
                pages_done=int(done[i]),
            )
            for i, d in enumerate(described)
        )
        return Job(
            id=job_id,
            state=cast(JobState, fields["state"]),
            options=JobOptions.from_dict(json.loads(fields["options"])),
            files=files,
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
            started_at=_time(fields.get("started_at")),
            finished_at=_time(fields.get("finished_at")),
            expires_at=_time(fields.get("expires_at")),
            worker=fields.get("worker"),
            lease_until=_time(fields.get("lease_until")),
            attempts=int(fields.get("attempts", "0")),
        )

    def count_queued(self) -> int:
        with self._reaching():
            return int(self._client.zcard(self._key("queue")))

    def claim(self, worker: str, lease_s: float) -> Job | None:
        """As the protocol says; and None while Redis cannot be reached (a runner polls, and a
        Redis that is down has nothing to give it), logged once per :data:`QUIET_S`."""
        now = self._clock()
        try:
            claimed = self._run("claim", "", worker, repr(now), repr(now + lease_s))
        except Overloaded as exc:
            if time.monotonic() >= self._quiet_until:
                self._quiet_until = time.monotonic() + QUIET_S
                log.warning("%s; runners wait for it (said once per %g s)", exc, QUIET_S)
            return None
        if not claimed:
            return None
        return self.get(claimed.decode())

    def heartbeat(self, job_id: str, worker: str, lease_s: float) -> bool:
        now = self._clock()
        return bool(self._run("heartbeat", job_id, worker, repr(now), repr(now + lease_s)))

    def read_input(self, job_id: str, index: int) -> bytes:
        with self._reaching():
            data = self._client.get(self._key("input", job_id, int(index)))
        if data is None:
            raise KeyError(f"{job_id}/{index}")
        return cast(bytes, data)

    def done_pages(self, job_id: str, index: int) -> frozenset[int]:
        with self._reaching():
            numbers = self._client.hkeys(self._key("pages", job_id, int(index)))
        return frozenset(int(n) for n in numbers)

    def pages(
        self, job_id: str, index: int, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        key = self._key("pages", job_id, int(index))
        with self._reaching():
            numbers = sorted(n for n in map(int, self._client.hkeys(key)) if n > after)
            wanted = numbers if limit is None else numbers[: max(0, limit)]
            saved = self._client.hmget(key, [str(n) for n in wanted]) if wanted else []
        return [json.loads(data) for data in saved if data is not None]

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
        return bool(
            self._run(
                "save_page",
                job_id,
                worker,
                repr(now),
                repr(now + lease_s),
                int(index),
                int(number),
                data,
                preview or b"",
            )
        )

    def page_preview(self, job_id: str, index: int, number: int) -> bytes | None:
        with self._reaching():
            data = self._client.hget(self._key("previews", job_id, int(index)), str(int(number)))
        return cast("bytes | None", data)

    def finish_file(
        self, job_id: str, worker: str, index: int, error: JobError | None = None
    ) -> bool:
        state = "failed" if error is not None else "done"
        now = repr(self._clock())
        return bool(
            self._run("finish_file", job_id, worker, now, int(index), state, _error_json(error))
        )

    def finish(self, job_id: str, worker: str) -> Job | None:
        now = self._clock()
        ended = self._run(
            "finish", job_id, worker, repr(now), repr(now + self.ttl_s), self._ttl_ms()
        )
        return self.get(job_id) if ended else None

    def release(self, job_id: str, worker: str) -> bool:
        return bool(self._run("release", job_id, worker, repr(self._clock())))

    def cancel(self, job_id: str) -> Job | None:
        now = self._clock()
        found = self._run("cancel", job_id, repr(now), repr(now + self.ttl_s), self._ttl_ms())
        return self.get(job_id) if found else None

    def delete(self, job_id: str) -> bool:
        return bool(self._run("delete", job_id))

    def delete_expired(self) -> int:
        with self._reaching():
            found = self._client.zrangebyscore(self._key("expiry"), "-inf", repr(self._clock()))
        expired = [cast(bytes, job_id).decode() for job_id in found]
        for job_id in expired:
            self.delete(job_id)
        return len(expired)

    def close(self) -> None:
        with contextlib.suppress(*self._errors):  # a broken connection must not fail a shutdown
            self._client.close()


def _time(raw: str | None) -> float | None:
    return float(raw) if raw else None


def _error_json(error: JobError | None) -> str:
    return json.dumps(error.to_dict(), ensure_ascii=False) if error is not None else ""


def _error(raw: str | None) -> JobError | None:
    if not raw:
        return None
    data = json.loads(raw)
    return JobError(str(data["code"]), str(data["message"]), int(data.get("status", 400)))
