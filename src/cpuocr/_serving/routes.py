"""The HTTP routes. Thin: parse with :mod:`.inputs`, work with :mod:`.service`, answer JSON."""

from __future__ import annotations

import functools
import hmac
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader

from .._answer import document_answer
from .._documents.layout import paragraph_groups
from .._documents.sniff import is_document
from .._types import Line, Quad
from .._writers import MEDIA_TYPES, write
from .errors import Unauthorized
from .inference import Admission
from .inputs import ImageInput, ParsedRequest, parse_job_request, parse_request, read_body
from .jobs import MAX_PAGES_PER_CALL, PAGES_PER_CALL, JobService, job_answer
from .schemas import (
    ERROR_RESPONSES,
    JOB_ERROR_RESPONSES,
    HealthResponse,
    JobDeleteResponse,
    JobPagesResponse,
    JobResponse,
    OCRResponse,
    PreprocessResponse,
    ReadyResponse,
    job_request_body,
    request_body,
    single_image_body,
)
from .service import OcrService

WEB_DIR = Path(__file__).parent / "web"

#: The Web UI loads nothing from elsewhere; this makes the browser enforce it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
_PREVIEW_HEADERS = {"Cache-Control": "private, max-age=3600"}

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="required only when the server runs with CPUOCR_API_KEY set",
)


# The dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
# thread pool, and two thread hops per request made the 503 of a full queue wait for the GIL and
# the CPU behind the inference threads (median ~100 ms instead of ~13 ms, 2 busy cores).
async def get_service(request: Request) -> OcrService:
    service: OcrService = request.app.state.service
    return service


ServiceDep = Annotated[OcrService, Depends(get_service)]


async def get_jobs(request: Request) -> JobService:
    jobs: JobService = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobService, Depends(get_jobs)]


def _key_matches(expected: str, key: str | None) -> bool:
    # The header arrives decoded as latin-1; the configured key is printable ASCII (config.py).
    return key is not None and hmac.compare_digest(key.encode("latin-1"), expected.encode())


async def require_api_key(
    service: ServiceDep, key: Annotated[str | None, Security(_api_key_header)] = None
) -> None:
    expected = service.config.api_key
    if expected is None:
        return
    if not _key_matches(expected, key):
        raise Unauthorized(
            "a valid X-API-Key header is required" if key else "the X-API-Key header is missing",
        )


async def has_api_key(
    service: ServiceDep, key: Annotated[str | None, Security(_api_key_header)] = None
) -> bool:
    """True when no key is configured or the request carries it (for routes that answer everyone
    but tell more to the holders of the key)."""
    expected = service.config.api_key
    return expected is None or _key_matches(expected, key)


api = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES)
public = APIRouter()


@api.post(
    "/ocr",
    response_model=OCRResponse,
    summary="Recognise the text of one image",
    description="multipart/form-data with a file field `image` (and optional `det`, "
    "`preprocess` fields), or a JSON body with the image as base64. `paragraphs=true`: an "
    "image's answer also has `paragraphs`, its lines grouped as a document page's layout would "
    "group them (`[{kind, lines: [indexes into lines]}]`, in reading order).",
    openapi_extra=request_body(batch=False),
    tags=["ocr"],
)
async def ocr(request: Request, service: ServiceDep) -> Response:
    with await service.receive(request) as admission:
        parsed = await parse_request(request, service.config, batch=False)
        image = parsed.images[0]
        if parsed.document.format is not None or is_document(image.data):
            return await _document(service, image, parsed, admission)
        answer = await service.recognize(image, parsed.options, admission)
    if parsed.document.paragraphs and answer.get("success"):
        answer["paragraphs"] = await anyio.to_thread.run_sync(_paragraphs_of, answer)
    return JSONResponse(answer)


def _paragraphs_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's lines in the layout's paragraphs (``paragraphs=true``): from the answer
    itself, so a cached answer gets them too."""
    lines = []
    for d in answer["lines"]:
        box = cast(Quad, tuple((float(x), float(y)) for x, y in d["box"]))
        lines.append(Line(d["text"], float(d["score"]), box))
    return paragraph_groups(lines, int(answer["width"]), int(answer["height"]))


async def _document(
    service: OcrService, image: ImageInput, parsed: ParsedRequest, admission: Admission
) -> Response:
    """A PDF or multi-page TIFF answered per page (or an image asked for in a ``format``)."""
    document, previews = await service.read_document(
        image, parsed.options, parsed.document, admission
    )
    fmt = parsed.document.format
    if fmt is None:
        sha256 = await service.digest(image)
        return JSONResponse(document_answer(document, sha256=sha256, previews=previews))
    write_it = functools.partial(
        write, document, fmt, source=image.data, chars=parsed.document.chars
    )
    out = await anyio.to_thread.run_sync(write_it)
    return Response(out, media_type=MEDIA_TYPES[fmt])


@api.post(
    "/ocr/batch",
    response_model=list[OCRResponse],
    summary="Recognise several images, answers in order",
    description='Several file parts named `image` (or JSON `{"images": [base64, ...]}`). The '
    "answer is a list in the order of the images; an image that cannot be read gets an error "
    "object `{success: false, error: {code, message}}` in its place while the others succeed. "
    "Errors of the request itself (auth, size, overload) answer the whole request.",
    openapi_extra=request_body(batch=True),
    tags=["ocr"],
)
async def ocr_batch(request: Request, service: ServiceDep) -> JSONResponse:
    with await service.receive(request) as admission:
        parsed = await parse_request(request, service.config, batch=True)
        answers = await service.recognize_batch(parsed.images, parsed.options, admission)
    return JSONResponse(answers)


@api.post(
    "/preprocess",
    response_model=PreprocessResponse,
    summary="What preprocessing does to an image: each stage, and what auto decided",
    description="For the Web UI preview: each stage as a base64 PNG, in pipeline order, and the "
    "actions taken in words. `preprocess=classic` (the default here): original, gray, equalized, "
    "binarized, resized. `auto`: original and the detector's input as auto left it (enhanced only "
    "when its measurements call for it; `actions` says what and why). `none`: original and the "
    "detector's input.",
    openapi_extra=single_image_body(),
    tags=["ocr"],
)
async def preprocess_preview(request: Request, service: ServiceDep) -> JSONResponse:
    with await service.receive(request, cache_lookup=False) as admission:
        parsed = await parse_request(request, service.config, batch=False)
        mode = parsed.options.preprocess or "classic"
        answer = await service.preprocess_stages(parsed.images[0], mode, admission)
    return JSONResponse(answer)


@api.post(
    "/jobs",
    status_code=202,
    response_model=JobResponse,
    responses=JOB_ERROR_RESPONSES,
    summary="Submit a long document or several files, read in the background",
    description="multipart/form-data with one or more file fields `file` (PDF, multi-page TIFF, "
    "images) and the options of `POST /ocr` (det, preprocess, pages, dpi, text_layer). Answers "
    "202 at once with the job (its `Location` header is the job's URL): poll `GET /jobs/{id}`, "
    "then fetch `GET /jobs/{id}/result`. Jobs survive a restart of the service.",
    openapi_extra=job_request_body(),
    tags=["jobs"],
)
async def submit_job(request: Request, service: ServiceDep, jobs: JobsDep) -> JSONResponse:
    await jobs.check_room()  # a full queue refuses before the body is read
    await read_body(request, service.config, service.uploads)
    parsed = await parse_job_request(request, service.config)
    job = await jobs.submit(parsed)
    return JSONResponse(
        {"success": True, "job": job_answer(job)},
        status_code=202,
        headers={"Location": f"/jobs/{job.id}"},
    )


@api.get(
    "/jobs/{job_id}",
    response_model=JobResponse,
    responses=JOB_ERROR_RESPONSES,
    summary="A job's state: pages done of total, each file's state and error, times, expiry",
    tags=["jobs"],
)
async def job_status(job_id: str, jobs: JobsDep) -> JSONResponse:
    job = await jobs.get(job_id)
    return JSONResponse({"success": True, "job": job_answer(job)})


@api.get(
    "/jobs/{job_id}/result",
    response_class=Response,
    responses={
        **JOB_ERROR_RESPONSES,
        200: {"content": {media: {} for media in sorted(set(MEDIA_TYPES.values()))}},
    },
    summary="The result of a finished job, in a format (409 until it has finished)",
    description="`format`: json (the document schema), txt, md, hocr or pdf (searchable PDF "
    "made from the file sent); `file`: which file, from 0 (needed when the job has several).",
    tags=["jobs"],
)
async def job_result(
    job_id: str,
    jobs: JobsDep,
    fmt: Annotated[Literal["json", "txt", "md", "hocr", "pdf"], Query(alias="format")] = "json",
    file: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> Response:
    body, media_type = await jobs.result(job_id, fmt, file)
    return Response(body, media_type=media_type)


@api.get(
    "/jobs/{job_id}/pages",
    response_model=JobPagesResponse,
    responses=JOB_ERROR_RESPONSES,
    summary="The pages of a job read so far, at any state (each as soon as it is read)",
    description="`after`: only the pages whose number is over it (the last page you have); "
    f"`limit`: at most this many pages (default {PAGES_PER_CALL}); `more`: later pages are "
    "saved too, ask again with `after` = the last page returned; `file`: which file, from 0 "
    "(needed when the job has several). Each page has the shape of a page of "
    "`GET /jobs/{id}/result?format=json`.",
    tags=["jobs"],
)
async def job_pages(
    job_id: str,
    jobs: JobsDep,
    file: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGES_PER_CALL)] = PAGES_PER_CALL,
) -> JSONResponse:
    return JSONResponse(await jobs.saved_pages(job_id, file, after, limit))


@api.get(
    "/jobs/{job_id}/pages/{number}/preview",
    response_class=Response,
    responses={**JOB_ERROR_RESPONSES, 200: {"content": {"image/jpeg": {}}}},
    summary="A page's image as it was read (JPEG, long side at most 1600 px), once it is read",
    description="Only for jobs submitted with `preview=true` (the Web UI's). `number`: the "
    "page number in the document (1-based); `file`: which file, from 0 (needed when the job "
    "has several). 404 `preview_not_found` for a page not read (yet) or a job without previews.",
    tags=["jobs"],
)
async def job_page_preview(
    job_id: str,
    number: int,
    jobs: JobsDep,
    file: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> Response:
    body = await jobs.preview(job_id, number, file)
    # A saved page never changes; private: the job's id is its credential.
    return Response(body, media_type="image/jpeg", headers=_PREVIEW_HEADERS)


@api.delete(
    "/jobs/{job_id}",
    response_model=JobDeleteResponse,
    responses=JOB_ERROR_RESPONSES,
    summary="Cancel a queued or running job; delete a finished one with its results",
    tags=["jobs"],
)
async def delete_job(job_id: str, jobs: JobsDep) -> JSONResponse:
    job, deleted = await jobs.cancel_or_delete(job_id)
    return JSONResponse({"success": True, "deleted": deleted, "job": job_answer(job)})


@public.get("/healthz", response_model=HealthResponse, tags=["service"], summary="Alive")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@public.get(
    "/readyz",
    response_model=ReadyResponse,
    tags=["service"],
    summary="Models loaded and serving",
    responses={503: {"model": ReadyResponse, "description": "not ready"}},
)
async def readyz(
    service: ServiceDep, authorized: Annotated[bool, Depends(has_api_key)]
) -> JSONResponse:
    """Public, for probes. With an API key configured, a caller without the key learns only
    whether the service is ready and that a key is needed, not its configuration."""
    cfg = service.config
    status_code = 200 if service.ready else 503
    if not authorized:
        body_public = {"ready": service.ready, "auth_required": True}
        return JSONResponse(body_public, status_code=status_code)
    body = {
        "ready": service.ready,
        "preset": cfg.preset,
        "preprocess": cfg.engine.preprocess,
        "device": cfg.device,
        "slots": cfg.slots,
        "threads": cfg.threads,
        "queue_size": cfg.queue_size,
        "max_upload_bytes": cfg.max_upload_bytes,
        "max_pixels": cfg.max_pixels,
        "max_batch_images": cfg.max_batch_images,
        "max_job_bytes": cfg.max_job_bytes,
        "max_job_pages": cfg.max_job_pages,
        "auth_required": cfg.api_key is not None,
    }
    return JSONResponse(body, status_code=status_code)


@public.get(
    "/metrics",
    dependencies=[Depends(require_api_key)],  # the key, when one is set: it tells a lot
    tags=["service"],
    summary="Prometheus metrics (X-API-Key required when the server has one)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.render(), media_type=service.metrics.content_type)


@public.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", headers=_PAGE_HEADERS)


@public.get("/docs", include_in_schema=False)
async def docs() -> FileResponse:
    """API reference rendered from /openapi.json by a small local page (Swagger UI would load its
    scripts from a CDN, and the service must work offline)."""
    return FileResponse(WEB_DIR / "docs.html", headers=_PAGE_HEADERS)
