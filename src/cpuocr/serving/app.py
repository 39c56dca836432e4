"""The app factory. ``create_app(config)`` wires config → service (engines, pool, cache, metrics) →
middleware → routes → static Web UI; the models load once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..pipeline import OCR
from .config import ServeConfig
from .errors import install_error_handlers
from .inputs import BodyLimitMiddleware
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
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
    install_error_handlers(app)
    app.include_router(api)
    app.include_router(public)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    # Added innermost first: CORS (optional) → body limits → metrics (outermost, sees everything).
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
            max_age=600,
        )
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=config.max_request_bytes,
        limits={"/ocr/batch": config.max_batch_request_bytes},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: the configuration travels in
    ``CPUOCR_*`` variables (see :meth:`ServeConfig.to_env`)."""
    return create_app(ServeConfig.from_env())
