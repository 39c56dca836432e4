"""The bounded inference queue in front of a fixed number of slots.

Each slot owns one engine (its own ONNX Runtime sessions and intra-op threads, so slots never fight
over one thread pool) and one executor thread; inference never runs on the event loop. A request
takes a free slot at once, or waits in a FIFO queue of at most ``queue_size`` requests; when the
queue is full it is refused *immediately* with :class:`Overloaded` (503 + Retry-After) instead of
piling up. The place is promised when the request arrives (:meth:`InferencePool.admit`, before its
body is read), so a request that was let in is never refused after its upload: otherwise several
requests pass the check for the same last place while their bodies arrive, and all but one are
refused late, after the event loop has served everyone else's uploads in between. A slot is
given back only when its thread has really finished, even if the request that started it timed
out or its client went away, so the number of running inferences never exceeds the number of
slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from .errors import Overloaded
from .metrics import Metrics

E = TypeVar("E")  # the engine type (cpuocr.OCR in the service; anything in unit tests)
T = TypeVar("T")


# Inference threads run this much nicer than the event loop. On a small machine whose cores are
# all busy with inference, the loop would otherwise wait its turn for a CPU before it can even
# refuse a request with 503; at nice +10 the scheduler gives the loop about 10× their share.
INFERENCE_NICE = 10


def lower_priority(increment: int = INFERENCE_NICE) -> None:
    """Make the calling thread (and every thread it starts later, which inherit its nice value)
    ``increment`` nicer. Linux only; elsewhere, or when refused, it does nothing."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        pass


async def run_nicer(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread of lowered priority and await its result. Engines are built
    and warmed up this way so that the threads their runtimes start are nicer too."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def target() -> None:
        lower_priority()
        try:
            result = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=target, name="cpuocr-loader", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class Admission:
    """A place (a slot or a place in the queue) promised to one request by
    :meth:`InferencePool.admit`. It is handed over by :meth:`InferencePool.run` or given back by
    :meth:`release` (also on leaving a ``with`` block: a bad upload, a cache hit), whichever comes
    first; releasing twice does nothing."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class InferencePool(Generic[E]):
    def __init__(
        self,
        engines: Sequence[E],
        *,
        queue_size: int,
        timeout_s: float,
        metrics: Metrics | None = None,
    ) -> None:
        if not engines:
            raise ValueError("an inference pool needs at least one engine")
        self.slots = len(engines)
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self._metrics = metrics
        self._idle: list[E] = list(engines)
        self._free = self.slots  # idle slots not yet promised to a woken waiter
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._promised = 0  # admitted requests that have not reached run() yet
        self._executor = ThreadPoolExecutor(
            max_workers=self.slots, thread_name_prefix="cpuocr-slot", initializer=lower_priority
        )
        self._closed = False
        # Exponentially weighted mean service time, for an honest Retry-After.
        self._mean_service_s = 1.0
        if metrics is not None:
            metrics.slots.set(self.slots)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def busy(self) -> int:
        return self.slots - len(self._idle)

    def retry_after_s(self) -> int:
        """Seconds until a new request would probably find room, at least 1."""
        estimate = (self.waiting + 1) * self._mean_service_s / self.slots
        return max(1, min(60, math.ceil(estimate)))

    @property
    def room(self) -> int:
        """Requests that could still be let in: free slots plus queue places, less those already
        promised."""
        return self._free + self.queue_size - len(self._waiters) - self._promised

    def admit(self) -> Admission:
        """Promise the request a place, or raise Overloaded now. The routes call this before
        reading the body, so a flood is answered in microseconds, uploads do not pile up in memory
        while they would be refused anyway, and a request let in keeps its place while its body
        arrives (the body read has its own timeout, so a slow upload cannot hold it forever)."""
        if self._closed:
            raise Overloaded("the service is shutting down", retry_after_s=1, code="shutting_down")
        if self.room <= 0:
            self._reject("queue_full")
            raise Overloaded(self._full_message(), retry_after_s=self.retry_after_s())
        self._promised += 1
        return Admission(self._unpromise)

    def _unpromise(self) -> None:
        self._promised -= 1

    def _full_message(self) -> str:
        return (
            f"all {self.slots} inference slots are busy and {self.queue_size} requests are "
            "already waiting; retry later"
        )

    async def run(self, fn: Callable[[E], T], admission: Admission | None = None) -> T:
        """Run ``fn(engine)`` in a slot thread; raise Overloaded when the queue is full or the
        request's time (waiting + running) is over. With the request's ``admission``, its promised
        place becomes the slot or queue place taken here (no await in between)."""
        if admission is not None:
            admission.release()
        if self._closed:
            raise Overloaded("the service is shutting down", retry_after_s=1, code="shutting_down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        queued_at = time.perf_counter()
        await self._acquire(loop, deadline)
        if self._metrics is not None:
            self._metrics.queue_wait_seconds.observe(time.perf_counter() - queued_at)
        engine = self._idle.pop()
        self._set_gauges()
        started = time.perf_counter()

        def finished(_: Future[T]) -> None:
            # Called in the slot thread: hand the slot back on the loop's thread.
            loop.call_soon_threadsafe(self._release, engine, time.perf_counter() - started)

        try:
            cfut = self._executor.submit(fn, engine)
        except RuntimeError:  # executor shut down between the check above and here
            self._release(engine, None)
            raise Overloaded(
                "the service is shutting down", retry_after_s=1, code="shutting_down"
            ) from None
        cfut.add_done_callback(finished)
        remaining = max(0.0, deadline - loop.time())
        afut = asyncio.wrap_future(cfut)
        try:
            # shield: a timeout or a cancelled request must not cancel the bookkeeping; the thread
            # cannot be stopped anyway, and it gives its slot back through ``finished``.
            return await asyncio.wait_for(asyncio.shield(afut), remaining)
        except TimeoutError:
            self._reject("timeout")
            raise Overloaded(
                f"the request took longer than {self.timeout_s:g} s",
                retry_after_s=self.retry_after_s(),
                code="timeout",
            ) from None

    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        if len(self._waiters) >= self.queue_size:
            self._reject("queue_full")
            raise Overloaded(self._full_message(), retry_after_s=self.retry_after_s())
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        self._set_gauges()
        try:
            done, _ = await asyncio.wait({waiter}, timeout=max(0.0, deadline - loop.time()))
        except BaseException:
            self._abandon(waiter)
            raise
        if not done:
            self._abandon(waiter)
            self._reject("timeout")
            raise Overloaded(
                f"no inference slot became free within {self.timeout_s:g} s",
                retry_after_s=self.retry_after_s(),
                code="timeout",
            )

    def _abandon(self, waiter: asyncio.Future[None]) -> None:
        """A waiter gives up (timeout or cancelled request). If a slot was already handed to it,
        pass that slot on; otherwise just leave the queue."""
        if waiter.done() and not waiter.cancelled():
            self._hand_on()
        else:
            waiter.cancel()
            with contextlib.suppress(ValueError):  # already popped by _hand_on
                self._waiters.remove(waiter)
        self._set_gauges()

    def _release(self, engine: E, service_s: float | None) -> None:
        if service_s is not None:
            self._mean_service_s = 0.8 * self._mean_service_s + 0.2 * service_s
        self._idle.append(engine)
        self._hand_on()
        self._set_gauges()

    def _hand_on(self) -> None:
        """Give a free slot to the oldest live waiter (FIFO), or count it free. A slot given to a
        waiter stays reserved for it: its engine waits in ``_idle`` until the waiter resumes."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _reject(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.rejected.labels(reason=reason).inc()

    def _set_gauges(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth.set(len(self._waiters))
            self._metrics.in_flight.set(self.busy)

    def close(self) -> None:
        """Refuse new work and wait for the running inferences (uvicorn has already drained the
        requests by the time the lifespan ends, so this normally returns at once)."""
        self._closed = True
        self._executor.shutdown(wait=True)
