"""The result cache shared by every replica, on Redis (``--cache-url redis://host:port/db``).

A key names the engine (:func:`.cache.engine_identity`), the image's SHA-256 and the options that
change the answer (:func:`redis_key`); a value is the answer's JSON, compressed with zlib when
that saves a tenth or more (:func:`encode_answer`), stored with a TTL (``--cache-ttl``) and only
when it fits the per-entry byte cap (``--cache-max-entry-mb``).

Redis down or slow never fails or stalls a request:

* every command waits at most :data:`TIMEOUT_S` (connecting included) and is not retried;
* a failure of any kind (refused, timed out, a corrupt entry) is a miss, counted in
  ``cpuocr_cache_errors_total{op}`` and logged; after one, Redis is left alone for
  :data:`RETRY_AFTER_S` seconds (lookups miss at once, writes are dropped; ``cpuocr_cache_up``
  is 0), then tried again — the client reconnects on that next command;
* writes never hold an inference slot: the slot hands the answer to a writer thread through a
  bounded queue (:data:`WRITE_BACKLOG`; full → the write is dropped) and goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import zlib
from collections.abc import Sequence
from typing import Any

from .cache import CacheKey
from .metrics import Metrics
from .redis_client import client_errors, connect, redact

log = logging.getLogger("cpuocr.serving")

#: Seconds a Redis command (or a connection) may take before the cache gives up on it.
TIMEOUT_S = 0.25
#: Seconds Redis is left alone after a failure before the next command tries it again.
RETRY_AFTER_S = 5.0
#: Answers waiting for the writer thread; beyond this, new writes are dropped.
WRITE_BACKLOG = 256
#: Answers shorter than this are stored as plain JSON (compressing saves nothing worth the CPU).
COMPRESS_FROM_BYTES = 512
KEY_PREFIX = "cpuocr:answer:v1"

_PLAIN = b"j"
_ZLIB = b"z"


def redis_key(identity: str, key: CacheKey) -> str:
    """``cpuocr:answer:v1:<engine identity>:<image sha256>:<det 0|1>:<preprocess mode>``."""
    return f"{KEY_PREFIX}:{identity}:{key.image_sha256}:{int(key.det)}:{key.preprocess}"


def encode_answer(value: dict[str, Any]) -> bytes:
    """A one-byte marker (``j`` JSON, ``z`` zlib-compressed JSON), then the answer."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(raw) >= COMPRESS_FROM_BYTES:
        packed = zlib.compress(raw, 6)
        if len(packed) <= 0.9 * len(raw):
            return _ZLIB + packed
    return _PLAIN + raw


def decode_answer(data: bytes | str) -> dict[str, Any]:
    """The answer :func:`encode_answer` stored; ValueError when it is not one."""
    if not isinstance(data, bytes):  # a client that decodes responses: not ours
        raise ValueError("a cache entry came back as text, not bytes")
    marker, body = data[:1], data[1:]
    if marker == _ZLIB:
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise ValueError(f"a compressed cache entry is corrupt: {exc}") from None
    elif marker != _PLAIN:
        raise ValueError(f"unknown cache entry marker {marker!r}")
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("a cache entry is not a JSON object")
    return value


class RedisCache:
    """The :class:`.cache.Cache` shared by replicas. Thread-safe (redis-py's client is)."""

    remote = True
    enabled = True
    size_bytes = 0  # nothing is held in this process

    def __init__(
        self,
        url: str,
        *,
        identity: str,
        ttl_s: float,
        max_entry_bytes: int,
        metrics: Metrics | None = None,
        timeout_s: float = TIMEOUT_S,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        self.url = url
        self.identity = identity
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.max_entry_bytes = max_entry_bytes
        self.retry_after_s = retry_after_s
        self._client = connect(url, timeout_s=timeout_s, purpose="--cache-url (CPUOCR_CACHE_URL)")
        self._errors = client_errors()
        self._metrics = metrics
        self._down_until = 0.0  # time.monotonic() before which Redis is not tried
        self._down = False
        self._lock = threading.Lock()
        self._writes: queue.Queue[tuple[CacheKey, dict[str, Any]] | None] = queue.Queue(
            maxsize=WRITE_BACKLOG
        )
        self._writer: threading.Thread | None = None
        self._closed = False
        log.info(
            "result cache: shared, at %s (engine %s, TTL %g s, at most %d bytes an entry)",
            redact(url),
            identity,
            ttl_s,
            max_entry_bytes,
        )

    def __len__(self) -> int:
        return 0

    # -- reads (any thread) ---------------------------------------------------------------------

    def get_many(self, keys: Sequence[CacheKey]) -> list[dict[str, Any] | None]:
        misses: list[dict[str, Any] | None] = [None] * len(keys)
        if not keys or self._resting():
            return misses
        try:
            stored = self._client.mget([redis_key(self.identity, k) for k in keys])
        except self._errors as exc:  # any failure of Redis or the connection is a miss
            self._failed("get", exc)
            return misses
        self._answered()
        out: list[dict[str, Any] | None] = []
        for data in stored:
            if data is None:
                out.append(None)
                continue
            try:
                out.append(decode_answer(data))
            except ValueError as exc:
                self._count_error("get")
                log.warning("a shared cache entry could not be read (%s); treated as a miss", exc)
                out.append(None)
        return out

    # -- writes (a slot thread hands over; the writer thread stores) ---------------------------

    def put(self, key: CacheKey, value: dict[str, Any]) -> None:
        if self._closed or self._resting():
            return
        self._start_writer()
        try:
            self._writes.put_nowait((key, value))
        except queue.Full:
            self._count_error("put")
            log.debug("shared cache: %d writes waiting; this one dropped", WRITE_BACKLOG)

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="cpuocr-cache-writer", daemon=True
                )
                self._writer.start()

    def _write_loop(self) -> None:
        while True:
            item = self._writes.get()
            if item is None:
                return
            key, value = item
            if self._resting():
                continue
            data = encode_answer(value)
            if len(data) > self.max_entry_bytes:
                log.debug("shared cache: a %d-byte answer is over the entry cap", len(data))
                continue
            try:
                self._client.set(redis_key(self.identity, key), data, px=self.ttl_ms)
            except self._errors as exc:  # a failed write only loses a future hit
                self._failed("put", exc)
                continue
            self._answered()

    def close(self) -> None:
        """Stop the writer (pending writes are dropped after a second) and the connections; the
        entries stay in Redis for the other replicas."""
        self._closed = True
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(queue.Full):
                self._writes.put(None, timeout=1.0)
            writer.join(timeout=1.0)
        try:
            self._client.close()
        except self._errors as exc:  # closing a broken connection must not fail a shutdown
            log.debug("shared cache: closing the client: %s", exc)

    # -- health ----------------------------------------------------------------------------------

    def _resting(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, op: str, exc: BaseException) -> None:
        self._count_error(op)
        with self._lock:
            was_down = self._down
            self._down = True
            self._down_until = time.monotonic() + self.retry_after_s
        if self._metrics is not None:
            self._metrics.cache_up.set(0)
        # One line per retry period at most: a Redis that stays down is logged every few seconds.
        log.warning(
            "shared cache at %s %s (%s: %s); answering without it, next try in %g s",
            redact(self.url),
            "still unreachable" if was_down else "failed",
            type(exc).__name__,
            exc,
            self.retry_after_s,
        )

    def _answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
        if self._metrics is not None:
            self._metrics.cache_up.set(1)
        log.warning("shared cache at %s answers again", redact(self.url))

    def _count_error(self, op: str) -> None:
        if self._metrics is not None:
            self._metrics.cache_errors.labels(op=op).inc()
