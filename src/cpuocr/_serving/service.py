"""What the routes call: inspect an upload, consult the cache, run the engine in a slot, shape the
answer. Owns the engines (one per slot), the inference pool, the cache and the metrics of one app.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
import cv2
import numpy as np
from starlette.requests import Request

from .._answer import ocr_answer
from .._deadline import Deadline
from .._documents.model import DocumentResult
from .._documents.reader import read_document
from .._engine.imaging import probe_image
from .._engine.pipeline import OCR
from .._types import OCRResult
from ..errors import CpuocrError, DeadlineExceeded
from .cache import Cache, CacheKey, ResultCache, engine_identity
from .cache_redis import RedisCache
from .config import ServeConfig
from .errors import Overloaded, error_payload
from .inference import Admission, InferencePool, run_nicer
from .inputs import DocumentOptions, ImageInput, OcrOptions, UploadGate, may_peek, read_body
from .metrics import Metrics

log = logging.getLogger("cpuocr.serving")

#: Stage images larger than this (long side, px) are scaled down for the preview.
PREVIEW_MAX_SIDE = 1600
#: JPEG quality of a document page's preview (``preview=true``). Measured on the OmniDocBench
#: pages at 1600 px: 80-410 KB a page, ~250 KB typical; a 50-page PDF (--max-pages) answers ~12 MB
#: of JPEG, ~16 MB as base64. One page's image is held at a time; only the JPEGs accumulate.
PAGE_PREVIEW_QUALITY = 80
#: Bodies up to this size are hashed on the event loop (about a millisecond); larger ones in a
#: thread, so one upload cannot hold the loop.
HASH_ON_LOOP_BYTES = 2 * 1024 * 1024


class OcrService:
    def __init__(
        self, config: ServeConfig, metrics: Metrics, engines: Sequence[OCR] | None = None
    ) -> None:
        if engines is not None:  # what they were built with is what this service runs
            config = dataclasses.replace(config, slots=len(engines), engine=engines[0].config)
        self.config = config.resolved()
        self.metrics = metrics
        self.cache = build_cache(self.config, metrics)
        self._given_engines = list(engines) if engines is not None else None
        self._pool: InferencePool[OCR] | None = None
        self._costs: OCR | None = None  # any engine: its read-only work caps
        self.uploads = UploadGate()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Models loaded, and not every slot stuck on one request long past its deadline."""
        return self._pool is not None and self._pool.stuck < self._pool.slots

    @property
    def pool(self) -> InferencePool[OCR]:
        if self._pool is None:
            raise Overloaded("the models are still loading", retry_after_s=5, code="not_ready")
        return self._pool

    async def start(self) -> None:
        engines = self._given_engines
        if engines is None:
            engines = await run_nicer(self._load_engines)
        slots = len(engines)
        if self.config.warmup:
            started = time.perf_counter()
            for engine in engines:
                await run_nicer(engine.warm_up)
            log.info(
                "warmed up %d slot(s) in %.0f ms", slots, (time.perf_counter() - started) * 1e3
            )
        queue_size = self.config.queue_size
        assert queue_size is not None, "ServeConfig.resolved() fills it in"
        self._costs = engines[0]
        self._pool = InferencePool(
            engines,
            queue_size=queue_size,
            timeout_s=self.config.request_timeout_s,
            metrics=self.metrics,
        )

    def _load_engines(self) -> list[OCR]:
        cfg = self.config
        started = time.perf_counter()
        engines = [OCR(config=cfg.engine) for _ in range(cfg.slots or 1)]
        log.info(
            "loaded preset %r: %d slot(s) x %s thread(s) in %.0f ms",
            cfg.preset,
            len(engines),
            cfg.threads,
            (time.perf_counter() - started) * 1e3,
        )
        return engines

    def close(self, timeout_s: float | None = None) -> bool:
        """Cancel the running work and wait for the slots up to ``timeout_s``; True if they
        ended."""
        ended = True
        if self._pool is not None:
            ended = self._pool.close(timeout_s)
        self.cache.close()
        return ended

    async def receive(self, request: Request, *, cache_lookup: bool = True) -> Admission:
        """Read the request's body, holding no inference place while it arrives, then take the
        request's place (use it as a context manager, pass it on to the work). A body that could
        not be served is refused at once, unread: no room, and too large to be worth a cache
        lookup. A small body (``cache_lookup``) is read even when the queue is full, since its
        answer may be in the cache; it is refused after the lookup if not (``confirm``)."""
        pool = self.pool
        peek = cache_lookup and may_peek(request)
        if not peek:
            pool.check_room()
        await read_body(request, self.config, self.uploads)
        return pool.admit(peek=peek)

    # -- work ----------------------------------------------------------------------------------

    async def digest(self, image: ImageInput) -> str:
        """SHA-256 of the bytes (the cache key), on the loop for small bodies."""
        if len(image.data) <= HASH_ON_LOOP_BYTES:
            return hashlib.sha256(image.data).hexdigest()
        return await anyio.to_thread.run_sync(_sha256, image.data)

    async def inspect(self, image: ImageInput, options: OcrOptions) -> None:
        """Check the header (type, pixel limit) and the work the size implies, without decoding:
        a bad upload is refused before it can take an inference slot."""
        await anyio.to_thread.run_sync(self._inspect, image.data, options.det)

    def _inspect(self, data: bytes, det: bool) -> None:
        _, width, height = probe_image(data, self.config.max_pixels)
        if self._costs is not None:
            self._costs.check_work(width, height, det=det)

    async def recognize(
        self, image: ImageInput, options: OcrOptions, admission: Admission | None = None
    ) -> dict[str, Any]:
        """The answer for one image (SPEC §2); raises on a bad image or when overloaded."""
        answers = await self._recognize([image], options, admission, _raise)
        return answers[0]

    async def recognize_batch(
        self,
        images: Sequence[ImageInput],
        options: OcrOptions,
        admission: Admission | None = None,
    ) -> list[dict[str, Any]]:
        """The answers in order, a bad image's being its error object (the others are still
        read); raises only for the whole request (overloaded, timed out)."""
        return await self._recognize(images, options, admission, self._failed)

    def preprocess_mode(self, options: OcrOptions) -> str:
        """The preprocessing the engine runs a request with: its own, else the engine's configured
        mode (``CPUOCR_PREPROCESS``). The cache key holds this mode, so a request that leaves it
        out and one that names it share an answer."""
        if options.preprocess is not None:
            return options.preprocess
        return self.config.engine.preprocess

    async def _recognize(
        self,
        images: Sequence[ImageInput],
        options: OcrOptions,
        admission: Admission | None,
        on_error: Callable[[CpuocrError], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Answers in order; a bad image's answer is what ``on_error`` returns (or raises). All
        misses run one after another in a single slot, so a batch waits in the queue once and
        cannot take every slot."""
        mode = self.preprocess_mode(options)
        options = dataclasses.replace(options, preprocess=mode)
        answers: list[dict[str, Any] | None] = [None] * len(images)
        todo: list[tuple[int, CacheKey]] = []
        keys = [CacheKey(await self.digest(image), options.det, mode) for image in images]
        for i, (key, hit) in enumerate(zip(keys, await self._lookup(keys), strict=True)):
            if hit is not None:
                self.metrics.cache_hits.inc()
                self.metrics.images.labels(outcome="cached").inc()
                answers[i] = {**hit, "cached": True}
            else:
                if self.cache.enabled:
                    self.metrics.cache_misses.inc()
                todo.append((i, key))
        if todo and admission is not None:
            admission.confirm()  # a request let in to look in the cache may be refused here
        checked: list[tuple[int, CacheKey]] = []
        for i, key in todo:
            try:
                await self.inspect(images[i], options)
            except CpuocrError as exc:
                answers[i] = on_error(exc)
                continue
            checked.append((i, key))
        if checked:
            datas = [images[i].data for i, _ in checked]
            keys = [key for _, key in checked]
            # Each answer goes into the cache as soon as it is ready (in the slot thread): when a
            # batch runs past the request's time, a retry finds what was finished.
            results = await self.pool.run(
                lambda engine, deadline: _run_all(
                    engine, datas, options, deadline, lambda k, r: self._store(keys[k], r)
                ),
                admission,
            )
            for (i, key), outcome in zip(checked, results, strict=True):
                if isinstance(outcome, CpuocrError):
                    answers[i] = on_error(outcome)
                    continue
                self.metrics.observe_stages(outcome.timings_ms)
                self.metrics.images.labels(outcome="ok").inc()
                answers[i] = ocr_answer(outcome, sha256=key.image_sha256)
            self.metrics.cache_bytes.set(self.cache.size_bytes)
            self.metrics.cache_entries.set(len(self.cache))
        done = [a for a in answers if a is not None]
        if len(done) != len(images):
            raise RuntimeError("an image of the request got no answer")  # a bug, not bad input
        return done

    async def _lookup(self, keys: list[CacheKey]) -> list[dict[str, Any] | None]:
        if not self.cache.enabled:
            return [None] * len(keys)
        if self.cache.remote:  # a network round trip: off the event loop
            return await anyio.to_thread.run_sync(self.cache.get_many, keys)
        return self.cache.get_many(keys)

    def _store(self, key: CacheKey, result: OCRResult) -> None:
        self.cache.put(key, ocr_answer(result, sha256=key.image_sha256))

    def _failed(self, exc: BaseException) -> dict[str, Any]:
        self.metrics.images.labels(outcome="error").inc()
        return error_payload(exc)[1]

    async def read_document(
        self,
        image: ImageInput,
        options: OcrOptions,
        document: DocumentOptions,
        admission: Admission | None = None,
    ) -> tuple[DocumentResult, dict[int, dict[str, Any]]]:
        """A document (PDF, multi-page TIFF, or an image asked for in an output format) read page
        by page in one slot, at most ``max_pages`` pages, under the request's deadline; with
        the pages' previews by page number when the JSON answer asks for them (else none).
        Each preview is encoded as its page's image is ready, in the slot: one page image is
        held at a time."""
        if admission is not None:
            admission.confirm()
        data, max_pages = image.data, self.config.max_pages
        previews: dict[int, dict[str, Any]] = {}
        want_previews = document.preview and document.format is None

        def on_image(number: int, page_image: np.ndarray) -> None:
            previews[number] = _page_preview(page_image)

        def work(engine: OCR, deadline: Deadline) -> DocumentResult:
            return read_document(
                data,
                ocr=engine,
                pages=document.pages,
                dpi=document.dpi,
                text_layer=document.text_layer,  # type: ignore[arg-type]
                max_pages=max_pages,
                deadline=deadline,
                det=options.det,
                preprocess=options.preprocess,
                on_image=on_image if want_previews else None,
            )

        try:
            result = await self.pool.run(work, admission)
        except CpuocrError:
            self.metrics.images.labels(outcome="error").inc()
            raise
        self.metrics.images.labels(outcome="ok").inc(len(result.pages))
        return result, previews

    async def preprocess_stages(
        self, image: ImageInput, mode: str = "classic", admission: Admission | None = None
    ) -> dict[str, Any]:
        if admission is not None:
            admission.confirm()
        await self.inspect(image, OcrOptions())
        return await self.pool.run(
            lambda engine, deadline: _stages_answer(engine, image.data, mode, deadline), admission
        )


def build_cache(config: ServeConfig, metrics: Metrics) -> Cache:
    """The shared cache on Redis when ``cache_url`` is set, else the in-process LRU."""
    if config.cache_url is None:
        return ResultCache(config.cache_bytes)
    return RedisCache(
        config.cache_url,
        identity=engine_identity(config.engine),
        ttl_s=config.cache_ttl_s,
        max_entry_bytes=config.cache_max_entry_bytes,
        metrics=metrics,
    )


def _raise(exc: CpuocrError) -> dict[str, Any]:
    raise exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run_all(
    engine: OCR,
    datas: list[bytes],
    options: OcrOptions,
    deadline: Deadline,
    on_result: Callable[[int, OCRResult], None],
) -> list[OCRResult | CpuocrError]:
    out: list[OCRResult | CpuocrError] = []
    for k, data in enumerate(datas):
        deadline.check("the next image")
        try:
            result = engine(data, det=options.det, preprocess=options.preprocess, deadline=deadline)
        except DeadlineExceeded:
            raise
        except CpuocrError as exc:  # one bad image must not fail the others of a batch
            out.append(exc)
            continue
        on_result(k, result)
        out.append(result)
    return out


def _stages_answer(engine: OCR, data: bytes, mode: str, deadline: Deadline) -> dict[str, Any]:
    deadline.check("the preprocessing preview")
    preview = engine.preprocess_preview(data, mode)
    height, width = preview.stages["original"].shape[:2]
    return {
        "success": True,
        "width": int(width),
        "height": int(height),
        "mode": preview.mode,
        "actions": preview.actions,
        "stages": [_stage_png(name, image) for name, image in preview.stages.items()],
    }


def page_preview_jpeg(image: np.ndarray) -> tuple[bytes, int, int]:
    """A page's image for display (``POST /ocr``'s ``preview=true`` and a job's previews): a
    JPEG with its long side at most :data:`PREVIEW_MAX_SIDE`, and its width and height."""
    image = _fit_for_display(image)
    height, width = image.shape[:2]
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, PAGE_PREVIEW_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding of a page preview failed")
    return encoded.tobytes(), int(width), int(height)


def _fit_for_display(image: np.ndarray) -> np.ndarray:
    """``image`` scaled down (area interpolation) so that its long side is at most
    :data:`PREVIEW_MAX_SIDE`; itself when it already fits."""
    height, width = image.shape[:2]
    scale = PREVIEW_MAX_SIDE / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _page_preview(image: np.ndarray) -> dict[str, Any]:
    """The preview of a page in an answer: width, height and the base64 JPEG."""
    jpeg, width, height = page_preview_jpeg(image)
    return {"width": width, "height": height, "image": base64.b64encode(jpeg).decode("ascii")}


def _stage_png(name: str, image: np.ndarray) -> dict[str, Any]:
    height, width = image.shape[:2]  # the stage's own size; the PNG may be scaled down
    ok, encoded = cv2.imencode(".png", _fit_for_display(image), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"PNG encoding of stage {name!r} failed")
    return {
        "name": name,
        "width": int(width),
        "height": int(height),
        "image": base64.b64encode(encoded.tobytes()).decode("ascii"),
    }
