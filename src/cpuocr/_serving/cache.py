"""The result cache: finished answers, keyed by the image's SHA-256 and the options that change
the answer.

Two implementations of one :class:`Cache` protocol: :class:`ResultCache`, a bounded LRU in this
process (the default), and :class:`~.cache_redis.RedisCache`, shared by every replica
(``--cache-url redis://...``). A shared entry's key also names the engine that made the answer
(:func:`engine_identity`: the preset, the SHA-256 of every model file, every engine setting that
changes a reading, and cpuocr's version), so replicas on different models never share answers.

The LRU's size is accounted in bytes of the stored answer's JSON, so the bound holds whatever the
number of lines; a capacity of 0 disables it (every lookup misses, nothing is stored).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from .. import __version__
from .._answer import SCHEMA_VERSION
from .._engine import models as model_store
from .._engine.config import EngineConfig


class CacheKey(NamedTuple):
    """What an answer depends on besides the engine: the image and the per-request options."""

    image_sha256: str
    det: bool
    preprocess: str  # the mode the engine ran (the request's, else the server's setting)


class Cache(Protocol):
    """What the service needs of a result cache. Values are JSON-able dicts, stored as given:
    callers must not mutate them after :meth:`put` nor mutate what :meth:`get_many` returns."""

    @property
    def enabled(self) -> bool: ...

    @property
    def remote(self) -> bool:
        """True when a lookup may wait on the network (the service then looks up in a thread)."""
        ...

    @property
    def size_bytes(self) -> int:
        """Bytes of answers held in this process (0 for a cache held elsewhere)."""
        ...

    def __len__(self) -> int: ...

    def get_many(self, keys: Sequence[CacheKey]) -> list[dict[str, Any] | None]:
        """The stored answer of each key, ``None`` for a miss; never raises for the cache's own
        failures (a cache that cannot answer misses)."""
        ...

    def put(self, key: CacheKey, value: dict[str, Any]) -> None:
        """Store an answer (or silently decline to: too large, cache off or unreachable)."""
        ...

    def close(self) -> None:
        """Release what this process holds (a shared cache's entries stay for other replicas)."""
        ...


class ResultCache:
    """Thread-safe LRU of JSON-able dicts, bounded in bytes."""

    remote = False

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = max(0, capacity_bytes)
        self._items: OrderedDict[CacheKey, tuple[dict[str, Any], int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            return entry[0]

    def get_many(self, keys: Sequence[CacheKey]) -> list[dict[str, Any] | None]:
        return [self.get(key) for key in keys]

    def put(self, key: CacheKey, value: dict[str, Any]) -> None:
        if not self.enabled:
            return
        size = len(json.dumps(value, ensure_ascii=False).encode()) + 256  # + key and bookkeeping
        if size > self.capacity_bytes:
            return  # one answer larger than the whole cache: not worth evicting everything
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.capacity_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._size -= evicted

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def close(self) -> None:
        self.clear()


#: Engine settings that never change a reading: how many threads run it, where its files are
#: found (the files themselves are identified by their SHA-256), the input limits (an image over
#: them gets no answer at all), and the default preprocessing (the key holds the mode each request
#: ran with).
_NOT_IN_IDENTITY = frozenset(
    {"max_pixels", "max_bytes", "model_dir", "det_model", "rec_model", "rec_charset", "preprocess"}
)


def engine_identity(config: EngineConfig) -> str:
    """A digest (32 hex characters) of everything about an engine that can change its answers:
    cpuocr's version and the answer schema's, the preset, the SHA-256 of each model file (from
    the pinned table for the preset's files, read from disk for custom ones) and every other
    engine setting but the thread count and the limits. Two replicas share cached answers only
    when theirs are equal."""
    preset = model_store.get_preset(config.preset)
    settings = dataclasses.asdict(config)
    for name in _NOT_IN_IDENTITY:
        settings.pop(name)
    settings["runtime"].pop("threads")
    models = {
        "det": _file_sha256(config.det_model) or preset.det.sha256,
        "rec": _file_sha256(config.rec_model) or preset.rec.sha256,
        "cls": preset.cls.sha256 if preset.cls is not None and config.use_cls else None,
        "charset": _file_sha256(config.rec_charset),
        "backend": config.runtime.backend or preset.backend,
        "precision": config.runtime.precision or preset.precision,
    }
    described = {
        "cpuocr": __version__,
        "schema": SCHEMA_VERSION,
        "models": models,
        "settings": settings,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _file_sha256(path: Path | None) -> str | None:
    return model_store.sha256_file(path) if path is not None else None
