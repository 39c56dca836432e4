"""When the work of one call must stop: a point in time and a cancel switch, checked between steps.

A thread running ONNX Runtime cannot be interrupted, so cancellation is cooperative: the pipeline
checks its :class:`Deadline` between stages and the recogniser before each batch (a batch is at
most a few hundred milliseconds of work), and abandons the call with
:class:`~cpuocr.errors.DeadlineExceeded`. The service hands each request's deadline to the engine
and cancels it when the client goes away or the server shuts down, so no slot keeps working for
nobody.
"""

from __future__ import annotations

import math
import threading
import time

from .errors import DeadlineExceeded


class Deadline:
    """``Deadline(seconds)`` from now, or ``Deadline(at=t)`` on the :func:`time.monotonic` clock
    (asyncio's loop clock is the same one); ``Deadline()`` never expires unless cancelled.
    Thread-safe: one thread may :meth:`cancel` while another :meth:`check` s."""

    def __init__(self, seconds: float | None = None, *, at: float | None = None) -> None:
        if at is not None:
            self.expires_at = at
        elif seconds is not None:
            self.expires_at = time.monotonic() + seconds
        else:
            self.expires_at = math.inf
        self._cancelled = threading.Event()
        self._reason = ""

    def cancel(self, reason: str = "the request was cancelled") -> None:
        self._reason = reason
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.cancelled or self.remaining() <= 0

    def check(self, stage: str) -> None:
        """Raise DeadlineExceeded when the time is up or the work was cancelled."""
        if self._cancelled.is_set():
            raise DeadlineExceeded(f"{self._reason}; the work stopped before {stage}")
        if time.monotonic() >= self.expires_at:
            raise DeadlineExceeded(f"the deadline passed; the work stopped before {stage}")
