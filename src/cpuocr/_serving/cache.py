"""The result cache: a bounded LRU of finished answers, keyed by the image's SHA-256 and options.

Size is accounted in bytes of the stored answer's JSON, so the bound holds whatever the number of
lines; a capacity of 0 disables the cache (every lookup misses, nothing is stored).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

CacheKey = tuple[str, bool, str]


class ResultCache:
    """Thread-safe LRU of JSON-able dicts. Values are stored as given: callers must not mutate
    them after :meth:`put` nor mutate what :meth:`get` returns (the routes copy before editing)."""

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
