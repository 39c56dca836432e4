"""The app factory. ``create_app(config)`` wires config → service (engines, pool, cache, metrics) →
middleware → routes → static Web UI; the models load once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from .._engine.pipeline import OCR
from .config import ServeConfig, normalize_host
from .errors import Forbidden, error_payload, install_error_handlers
from .inputs import BodyLimitMiddleware
from .jobs import JobService
from .metrics import Metrics, MetricsMiddleware
from .routes import WEB_DIR, api, public
from .service import OcrService

log = logging.getLogger("cpuocr.serving")

DESCRIPTION = """CPU-first Chinese and English OCR.

`POST /ocr` with a file field `image` answers the lines of text with their boxes and confidences.
Errors are JSON `{"success": false, "error": {"code", "message"}}` with a 4xx status; 503 with
`Retry-After` means the server is busy. When the server runs with `CPUOCR_API_KEY`, send it in
the `X-API-Key` header. The Web UI is at `/`.
"""


def create_app(
    config: ServeConfig | None = None, *, engines: Sequence[OCR] | None = None
) -> FastAPI:
    """A ready-to-serve app. ``engines`` (one per slot) may be passed in to share loaded models;
    otherwise they are built from ``config`` when the app starts."""
    config = config if config is not None else ServeConfig.from_env()
    metrics = Metrics()
    service = OcrService(config, metrics, engines)
    jobs = JobService(service, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        await jobs.start()  # jobs left queued or running by the last run resume here
        cfg = service.config
        log.info(
            "cpuocr ready: preset %s, %s slot(s) x %s thread(s), queue %s, cache %g MB, auth %s",
            cfg.preset,
            cfg.slots,
            cfg.threads,
            cfg.queue_size,
            cfg.cache_mb,
            "on" if cfg.api_key else "off",
        )
        try:
            yield
        finally:
            # uvicorn has stopped accepting and drained in-flight requests by now.
            await jobs.stop()  # the running jobs are handed back for the next start
            service.close()
            log.info("cpuocr stopped")

    app = FastAPI(
        title="cpuocr",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by routes.docs from local files (no CDN)
        redoc_url=None,
    )
    app.state.service = service
    app.state.jobs = jobs
    install_error_handlers(app)
    app.include_router(api)
    app.include_router(public)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    # Added innermost first: CORS (optional) → body limits → Host and origin checks → metrics
    # (outermost, sees everything).
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key"],
            max_age=600,
        )
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=config.max_request_bytes,
        limits={
            "/ocr/batch": config.max_batch_request_bytes,
            "/jobs": config.max_job_request_bytes,
        },
    )
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=config.allowed_hosts,
        cors_origins=config.cors_origins,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


#: Methods a browser page may send cross-site without asking (a form POST) and that change or
#: cost something here; GET, HEAD and OPTIONS (CORS preflights) only read.
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


class RequestGuardMiddleware:
    """403 with the JSON error body for:

    * a ``Host`` header that is not in ``allowed_hosts`` (``None``: any host), which stops DNS
      rebinding of a loopback-bound server;
    * a state-changing request (POST, ...) sent by a web page of another site: an ``Origin``
      header that is neither this server's own origin nor one of ``cors_origins``, or
      ``Sec-Fetch-Site: cross-site`` without an allowed origin. A plain HTML form on any page can
      POST to the API without a CORS preflight; this is what refuses it. Clients that are not
      browsers (curl, SDKs) send neither header and are not affected; the Web UI is same-origin.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: tuple[str, ...] | None,
        cors_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.cors_origins = frozenset(o.rstrip("/").lower() for o in cors_origins)
        self.any_origin = "*" in self.cors_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", ()):
            headers.setdefault(name, value)
        host = headers.get(b"host", b"").decode("latin-1")
        refusal = None
        if not self._host_allowed(host):
            refusal = Forbidden(
                "this server does not answer to that Host name (see CPUOCR_TRUSTED_HOSTS)",
                code="host_not_allowed",
            )
        elif scope.get("method", "GET") not in _SAFE_METHODS:
            refusal = self._cross_site(headers, host)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, body, extra = error_payload(refusal)
        await JSONResponse(body, status_code=status, headers=extra)(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        if self.allowed_hosts is None:
            return True
        name = normalize_host(host)
        for pattern in self.allowed_hosts:
            if name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
                return True
        return False

    def _cross_site(self, headers: dict[bytes, bytes], host: str) -> Forbidden | None:
        origin = headers.get(b"origin", b"").decode("latin-1").strip().rstrip("/").lower()
        fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
        if origin and (self.any_origin or origin in self.cors_origins):
            return None
        if origin:
            own = {host.strip().lower()}
            forwarded = headers.get(b"x-forwarded-host", b"").decode("latin-1")
            if forwarded:  # behind a proxy that rewrites Host (a page cannot set this header)
                own.add(forwarded.split(",")[0].strip().lower())
            try:
                netloc = urlsplit(origin).netloc if origin != "null" else ""
            except ValueError:
                netloc = ""
            if not netloc or netloc not in own:
                return Forbidden(
                    f"cross-origin request from {origin[:100]} refused; allow the origin with "
                    "CPUOCR_CORS_ORIGINS",
                    code="cross_origin_refused",
                )
        if fetch_site == "cross-site" and not self.any_origin:
            return Forbidden(
                "cross-site request refused; allow the origin with CPUOCR_CORS_ORIGINS",
                code="cross_origin_refused",
            )
        return None
