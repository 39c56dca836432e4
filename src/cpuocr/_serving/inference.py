"""The bounded inference queue in front of a fixed number of slots.

Each slot owns one engine (its own ONNX Runtime sessions and intra-op threads, so slots never fight
over one thread pool) and one executor thread; inference never runs on the event loop. A request
takes a free slot at once, or waits in a FIFO queue of at most ``queue_size`` requests; when the
queue is full it is refused *immediately* with :class:`Overloaded` (503 + Retry-After) instead of
piling up. The place is promised once the request's body has arrived (:meth:`InferencePool.admit`),
so a slow upload holds no inference place while it trickles in, and a request let in is never
refused later: there is no wait between the promise and the queue. The routes also refuse a large
body at once, before reading it, when there is no room (:meth:`InferencePool.has_room`).

Every request runs under its own :class:`~cpuocr.deadline.Deadline`, which the engine checks
between stages and recognition batches: when the request's time is over, its client goes away or
the pool closes, the deadline is cancelled and the work stops at the next check instead of holding
the slot. A slot is given back only when its thread has really finished, so the number of running
inferences never exceeds the number of slots; a slot still busy long after its deadline is
reported as stuck (``/readyz`` answers 503 while every slot is).
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
from typing import Any, Generic, TypeVar

from .._deadline import Deadline
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
    :meth:`InferencePool.admit`, once its body has arrived. It is handed over by
    :meth:`InferencePool.run` or given back by :meth:`release` (also on leaving a ``with`` block:
    a bad upload, a cache hit), whichever comes first; releasing twice does nothing. A request let
    in only to look in the cache (``admit(peek=True)`` with no room) holds no place until
    :meth:`confirm` finds one — or refuses it."""

    def __init__(self, pool: InferencePool[Any], promised: bool) -> None:
        self._pool: InferencePool[Any] | None = pool
        self.promised = promised

    def confirm(self) -> None:
        """Make sure the request holds a place; raise Overloaded when it holds none and there is
        no room."""
        if self._pool is not None and not self.promised:
            self._pool._confirm(self)

    def release(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            if self.promised:
                self.promised = False
                pool._promised -= 1

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _Job:
    """A request running in a slot: when it started and the deadline its engine checks."""

    def __init__(self, deadline: Deadline) -> None:
        self.started = time.monotonic()
        self.deadline = deadline


class InferencePool(Generic[E]):
    #: A slot busy this long past its request's timeout counts as stuck (a recognition batch, the
    #: longest step between two deadline checks, takes well under a second).
    stuck_grace_s = 5.0

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
        self._jobs: set[_Job] = set()
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

    @property
    def stuck(self) -> int:
        """Slots still busy with one request well past its deadline: the engine did not reach a
        check (one long uncancellable step). ``/readyz`` reports the worker not ready while every
        slot is stuck."""
        now = time.monotonic()
        limit = self.timeout_s + self.stuck_grace_s
        return sum(1 for job in self._jobs if now - job.started > limit)

    def retry_after_s(self) -> int:
        """Seconds until a new request would probably find room, at least 1: the work ahead of it
        (what the running requests still need — a request already running longer than the mean
        is expected to run about as long again, up to its deadline — and the queue at the mean
        service time), spread over the slots."""
        now = time.monotonic()
        ahead = 0.0
        for job in self._jobs:
            elapsed = now - job.started
            left = self._mean_service_s - elapsed
            if left <= 0:
                left = min(elapsed, max(0.0, job.deadline.remaining()))
            ahead += left
        ahead += (self.waiting + self._promised + 1) * self._mean_service_s
        return max(1, min(math.ceil(self.timeout_s), math.ceil(ahead / self.slots)))

    @property
    def room(self) -> int:
        """Requests that could still be let in: free slots plus queue places, less those already
        promised."""
        return self._free + self.queue_size - len(self._waiters) - self._promised

    def check_room(self) -> None:
        """Raise Overloaded now (counted as queue_full) unless a request could be let in."""
        if self._closed:
            raise Overloaded("the service is shutting down", retry_after_s=1, code="shutting_down")
        if self.room <= 0:
            self._reject("queue_full")
            raise Overloaded(self._full_message(), retry_after_s=self.retry_after_s())

    def admit(self, *, peek: bool = False) -> Admission:
        """Promise the request a place, or raise Overloaded now. The routes call this once the
        body has arrived (a slow upload holds no place while it trickles in) and before anything
        that waits, so a request let in is never refused later for want of room. With ``peek`` a
        request is let in although there is no room, because its answer may be in the cache; it
        holds no place, and :meth:`Admission.confirm` refuses it unless room appeared."""
        if peek and not self._closed and self.room <= 0:
            return Admission(self, promised=False)
        self.check_room()
        self._promised += 1
        return Admission(self, promised=True)

    def _confirm(self, admission: Admission) -> None:
        try:
            self.check_room()
        except Overloaded:
            admission._pool = None  # refused: nothing to give back
            raise
        admission.promised = True
        self._promised += 1

    def _full_message(self) -> str:
        return (
            f"all {self.slots} inference slots are busy and {self.queue_size} requests are "
            "already waiting; retry later"
        )

    async def run(self, fn: Callable[[E, Deadline], T], admission: Admission | None = None) -> T:
        """Run ``fn(engine, deadline)`` in a slot thread; raise Overloaded when the queue is full
        or the request's time (waiting + running) is over. The engine must check ``deadline``:
        it is the request's own, and is cancelled when the request times out, is cancelled (its
        client went away) or the pool closes, so abandoned work stops at the engine's next check
        instead of holding the slot. With the request's ``admission``, its place becomes the slot
        or queue place taken here (no await in between)."""
        if admission is not None:
            admission.confirm()
            admission.release()
        if self._closed:
            raise Overloaded("the service is shutting down", retry_after_s=1, code="shutting_down")
        loop = asyncio.get_running_loop()
        deadline_at = loop.time() + self.timeout_s
        queued_at = time.perf_counter()
        await self._acquire(loop, deadline_at)
        if self._metrics is not None:
            self._metrics.queue_wait_seconds.observe(time.perf_counter() - queued_at)
        engine = self._idle.pop()
        job = _Job(Deadline(at=deadline_at))
        self._jobs.add(job)
        self._set_gauges()
        started = time.perf_counter()

        def finished(_: Future[T]) -> None:
            # Called in the slot thread: hand the slot back on the loop's thread.
            loop.call_soon_threadsafe(self._release, engine, job, time.perf_counter() - started)

        try:
            cfut = self._executor.submit(fn, engine, job.deadline)
        except RuntimeError:  # executor shut down between the check above and here
            self._release(engine, job, None)
            raise Overloaded(
                "the service is shutting down", retry_after_s=1, code="shutting_down"
            ) from None
        cfut.add_done_callback(finished)
        remaining = max(0.0, deadline_at - loop.time())
        afut = asyncio.wrap_future(cfut)
        try:
            # shield: a timeout or a cancelled request must not cancel the bookkeeping; the thread
            # stops at the engine's next deadline check and gives its slot back in ``finished``.
            return await asyncio.wait_for(asyncio.shield(afut), remaining)
        except TimeoutError:
            job.deadline.cancel("the request's time ran out")
            self._reject("timeout")
            raise Overloaded(
                f"the request took longer than {self.timeout_s:g} s",
                retry_after_s=self.retry_after_s(),
                code="timeout",
            ) from None
        except asyncio.CancelledError:
            job.deadline.cancel("the client went away")
            raise

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

    def _release(self, engine: E, job: _Job, service_s: float | None) -> None:
        self._jobs.discard(job)
        if service_s is not None and not job.deadline.expired:
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

    def close(self, timeout_s: float | None = None) -> bool:
        """Refuse new work, cancel what still runs (uvicorn has already drained the requests it
        could by the time the lifespan ends) and wait for the slot threads up to ``timeout_s``
        (None: until they end). True when every slot thread has ended."""
        self._closed = True
        for job in list(self._jobs):
            job.deadline.cancel("the service is shutting down")
        self._executor.shutdown(wait=False, cancel_futures=True)
        ends = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in list(getattr(self._executor, "_threads", ())):
            thread.join(None if ends is None else max(0.0, ends - time.monotonic()))
        return not any(t.is_alive() for t in getattr(self._executor, "_threads", ()))
