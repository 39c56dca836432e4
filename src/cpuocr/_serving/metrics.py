"""Prometheus metrics of one app, in the app's own registry (several apps in one process, as in the
tests, never clash). With ``--workers N`` each worker process exposes its own figures; scrape them
through the load balancer or run one worker per container.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Seconds: from a cache hit (sub-millisecond) to a large page on a small CPU (tens of seconds).
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_STAGE_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

#: Every label value comes from a fixed set, whatever a client sends: a method outside this set is
#: counted as "other" (uvicorn accepts any token as a method, and one series per random method name
#: once made /metrics 11 MB), a status outside 100..599 as "other", a path no route matches as
#: "unmatched" (routes are counted by their template, never by the raw path).
HTTP_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT")
)
OTHER = "other"
UNMATCHED = "unmatched"


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes...
        PlatformCollector(registry=r)
        self.requests = Counter(
            "cpuocr_http_requests_total",
            "HTTP requests by route template, method and status",
            ("route", "method", "status"),
            registry=r,
        )
        self.request_seconds = Histogram(
            "cpuocr_http_request_duration_seconds",
            "HTTP request latency by route template",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "cpuocr_stage_duration_seconds",
            "Engine time per pipeline stage (load, preprocess, detect, orient, recognise, "
            "assemble, trim), per image",
            ("stage",),
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.images = Counter(
            "cpuocr_images_total", "Images answered, by outcome", ("outcome",), registry=r
        )
        self.queue_depth = Gauge(
            "cpuocr_queue_depth", "Requests waiting for an inference slot", registry=r
        )
        self.in_flight = Gauge(
            "cpuocr_inflight_inferences", "Inferences running in the slots", registry=r
        )
        self.slots = Gauge("cpuocr_slots", "Inference slots of this worker", registry=r)
        self.queue_wait_seconds = Histogram(
            "cpuocr_queue_wait_seconds",
            "Time a request waited for a slot",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "cpuocr_rejected_total",
            "Requests refused with 503, by reason (queue_full, timeout)",
            ("reason",),
            registry=r,
        )
        self.cache_hits = Counter("cpuocr_cache_hits_total", "Result cache hits", registry=r)
        self.cache_misses = Counter("cpuocr_cache_misses_total", "Result cache misses", registry=r)
        self.cache_bytes = Gauge(
            "cpuocr_cache_bytes", "Bytes held by the result cache in this process", registry=r
        )
        self.cache_entries = Gauge(
            "cpuocr_cache_entries", "Answers in the result cache of this process", registry=r
        )
        self.cache_errors = Counter(
            "cpuocr_cache_errors_total",
            "Shared (Redis) result cache operations that failed (get, put), each a miss or a "
            "write not done",
            ("op",),
            registry=r,
        )
        self.cache_up = Gauge(
            "cpuocr_cache_up",
            "1 while the shared (Redis) result cache answers, 0 while it is skipped after a "
            "failure",
            registry=r,
        )
        self.cache_up.set(1)

    def observe_stages(self, timings_ms: Mapping[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.stage_seconds.labels(stage=stage).observe(max(0.0, ms) / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def method_label(method: object) -> str:
    """The request's method if it is a standard one, else "other"."""
    return method if isinstance(method, str) and method in HTTP_METHODS else OTHER


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else OTHER


def route_label(scope: Scope) -> str:
    """The matched route's template (``/ocr``), or "unmatched"."""
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


class MetricsMiddleware:
    """Counts every HTTP request by its route *template* (``/ocr``, not the raw path), its method
    and its status, each from a bounded set (see :data:`HTTP_METHODS`), and times it; the time
    until the answer starts is also sent back in a ``Server-Timing: app;dur=<ms>`` header."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                # The server's own answer time, so a client can tell it from network and
                # client-side delays (load tests read it; browsers show it in their dev tools).
                elapsed_ms = (time.perf_counter() - start) * 1e3
                headers = [
                    *message.get("headers", ()),
                    (b"server-timing", b"app;dur=%.2f" % elapsed_ms),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_label(scope)
            method = method_label(scope.get("method"))
            self.metrics.requests.labels(
                route=template, method=method, status=status_label(status)
            ).inc()
            self.metrics.request_seconds.labels(route=template).observe(time.perf_counter() - start)
