"""Pydantic models of the REST API, for the OpenAPI document. The routes build their answers from
:meth:`cpuocr.OCRResult.to_dict` directly (no per-request validation cost); these models describe
exactly those dicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .._engine.preprocess import MODES

PreprocessMode = Literal["auto", "none", "classic"]  # == preprocess.MODES (a test checks)
PREPROCESS_HELP = (
    "preprocessing before detection; left out: the server's configured mode "
    "(CPUOCR_PREPROCESS, else auto)"
)


class LineModel(BaseModel):
    text: str = Field(examples=["发票号码 12345678"])
    score: float = Field(ge=0, le=1, description="confidence of the line, 0..1")
    box: list[list[float]] = Field(
        description="4 points [x, y] in original image pixels: top-left, top-right, "
        "bottom-right, bottom-left",
        examples=[[[10, 12], [310, 12], [310, 48], [10, 48]]],
    )


class OCRResponse(BaseModel):
    success: Literal[True] = True
    text: list[str] = Field(description="the lines, in reading order")
    time_ms: float = Field(
        description="engine time for this image (decode + OCR); a cached answer keeps the time "
        "of the run that produced it"
    )
    lines: list[LineModel]
    width: int
    height: int
    image_sha256: str = Field(description="SHA-256 of the uploaded image bytes (hex)")
    cached: bool = Field(description="true when the answer came from the result cache")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_image"])
    message: str = Field(
        examples=["not an image: the data is not a JPEG, PNG, BMP, WebP, TIFF or GIF"]
    )


class ErrorResponse(BaseModel):
    success: Literal[False] = False
    error: ErrorDetail


PAGES_HELP = "documents: the pages to read, e.g. 1-3,7 (default: all, at most --max-pages)"
DPI_HELP = "documents: render resolution of PDF pages (36-600; default: the reader's)"
TEXT_LAYER_HELP = (
    "documents: auto takes a PDF page's own text where it has real text and reads the others; "
    "use always takes it; ignore always reads the page image"
)
PREVIEW_HELP = (
    "documents: each page of the JSON answer also carries `preview` {width, height, image}: the "
    "page as it was read, a base64 JPEG with its long side at most 1600 px"
)
CHARS_HELP = "format=json: each line's characters too, with their positions along the line"
FORMAT_HELP = (
    "answer in this format instead of the JSON answer: txt, json (the document schema), md, "
    "hocr or pdf (searchable PDF)"
)


class OCRJsonRequest(BaseModel):
    image: str = Field(
        description="the file's bytes, base64 (a data: URL prefix is allowed): an image, "
        "or a PDF / multi-page TIFF (answered per page)"
    )
    det: bool = Field(True, description="false: the whole image is one text line")
    preprocess: PreprocessMode | None = Field(None, description=PREPROCESS_HELP)
    pages: str | None = Field(None, description=PAGES_HELP)
    dpi: float | None = Field(None, description=DPI_HELP)
    text_layer: Literal["auto", "use", "ignore"] = Field("auto", description=TEXT_LAYER_HELP)
    format: Literal["txt", "json", "md", "hocr", "pdf"] | None = Field(
        None, description=FORMAT_HELP
    )
    preview: bool = Field(False, description=PREVIEW_HELP)
    chars: bool = Field(False, description=CHARS_HELP)


class OCRBatchJsonRequest(BaseModel):
    images: list[str] = Field(description="base64 images")
    det: bool = True
    preprocess: PreprocessMode | None = Field(None, description=PREPROCESS_HELP)


class StageImage(BaseModel):
    name: str = Field(examples=["gray"])
    width: int
    height: int
    image: str = Field(description="PNG, base64 (scaled down for display when very large)")


class PreprocessResponse(BaseModel):
    success: Literal[True] = True
    width: int
    height: int
    mode: str = Field(examples=["auto"], description="the preprocessing mode shown")
    actions: list[str] = Field(
        examples=[["CLAHE on lightness: low contrast (gray std 18 < 25)"]],
        description="what the mode did to this image, in words",
    )
    stages: list[StageImage]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """With an API key configured, callers without it get only ``ready`` and ``auth_required``."""

    ready: bool
    auth_required: bool
    preset: str | None = None
    slots: int | None = None
    threads: int | None = None
    queue_size: int | None = None
    max_upload_bytes: int | None = None
    max_pixels: int | None = None
    max_batch_images: int | None = None


def _multipart_schema(batch: bool) -> dict[str, Any]:
    binary: dict[str, Any] = {"type": "string", "format": "binary"}
    image = {"type": "array", "items": binary} if batch else binary
    return {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {
                **image,
                "description": "image file(s): JPEG, PNG, BMP, WebP, TIFF, GIF"
                + ("" if batch else "; or a PDF / multi-page TIFF, answered per page"),
            },
            "det": {"type": "boolean", "default": True},
            "preprocess": {"type": "string", "enum": list(MODES), "description": PREPROCESS_HELP},
            **(
                {}
                if batch
                else {
                    "pages": {"type": "string", "description": PAGES_HELP},
                    "dpi": {"type": "number", "description": DPI_HELP},
                    "text_layer": {
                        "type": "string",
                        "enum": ["auto", "use", "ignore"],
                        "description": TEXT_LAYER_HELP,
                    },
                    "format": {
                        "type": "string",
                        "enum": ["txt", "json", "md", "hocr", "pdf"],
                        "description": FORMAT_HELP,
                    },
                    "preview": {"type": "boolean", "default": False, "description": PREVIEW_HELP},
                    "chars": {"type": "boolean", "default": False, "description": CHARS_HELP},
                }
            ),
        },
    }


def request_body(batch: bool) -> dict[str, Any]:
    """``openapi_extra`` for the image routes: they read the body themselves (to enforce limits
    while it streams), so FastAPI cannot infer its schema."""
    json_model = OCRBatchJsonRequest if batch else OCRJsonRequest
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _multipart_schema(batch)},
                "application/json": {"schema": json_model.model_json_schema()},
            },
        }
    }


def single_image_body() -> dict[str, Any]:
    body = request_body(False)
    props = body["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    for name in ("det", "preprocess", "pages", "dpi", "text_layer", "format", "preview", "chars"):
        del props[name]
    json_schema = body["requestBody"]["content"]["application/json"]["schema"]
    json_schema["properties"] = {"image": json_schema["properties"]["image"]}
    return body


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "missing field, not an image, corrupt, bad base64/JSON/option"),
        (401, "CPUOCR_API_KEY is set and X-API-Key is missing or wrong"),
        (408, "the body did not arrive within the request timeout"),
        (413, "over the byte or pixel limit"),
        (415, "unsupported body or image type"),
        (503, "overloaded (queue full or timed out; see Retry-After) or not ready"),
    )
}


# -- jobs -----------------------------------------------------------------------------------------

JobStateName = Literal["queued", "running", "done", "failed", "cancelled"]


class JobFileModel(BaseModel):
    index: int = Field(description="0-based, in the order the files were sent")
    name: str
    size: int = Field(description="bytes")
    kind: Literal["pdf", "tiff", "image"]
    page_count: int = Field(description="pages in the document")
    pages: list[int] = Field(description="the page numbers read (1-based)")
    pages_done: int
    state: Literal["pending", "done", "failed"]
    error: ErrorDetail | None = Field(
        description="why the file failed (at submit: corrupt, encrypted, too large; or a page "
        "the engine refused)"
    )


class JobModel(BaseModel):
    id: str = Field(description="unguessable; the job's only credential besides the API key")
    state: JobStateName
    pages_total: int
    pages_done: int
    created_at: str = Field(description="ISO 8601, UTC")
    started_at: str | None
    finished_at: str | None
    expires_at: str | None = Field(
        description="when a finished job and its results are removed (--job-ttl)"
    )
    attempts: int = Field(description="times a worker took the job (more than 1: resumed)")
    options: dict[str, Any]
    files: list[JobFileModel]
    result: str | None = Field(description="the result's path, once the job has finished")


class JobResponse(BaseModel):
    success: Literal[True] = True
    job: JobModel


class JobPagesResponse(BaseModel):
    success: Literal[True] = True
    job: JobModel
    pages: list[dict[str, Any]] = Field(
        description="the pages read so far (after `after`, at most `limit`), each as a page of "
        "the document JSON (`GET /jobs/{id}/result?format=json`), in page order"
    )
    more: bool = Field(description="later pages are saved too: ask again from the last one")


class JobDeleteResponse(BaseModel):
    success: Literal[True] = True
    deleted: bool = Field(
        description="true: the finished job and its results are gone; false: the job was "
        "cancelled (it stops after its current page) and is kept until it expires"
    )
    job: JobModel


def job_request_body() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /jobs`` (multipart only)."""
    schema = _multipart_schema(batch=False)
    props = schema["properties"]
    del props["image"], props["format"], props["chars"]
    props["preview"] = {
        "type": "boolean",
        "default": False,
        "description": "keep each page's image (JPEG, long side at most 1600 px) for "
        "`GET /jobs/{id}/pages/{n}/preview`; the Web UI asks for it",
    }
    binary: dict[str, Any] = {"type": "string", "format": "binary"}
    props["file"] = {
        "type": "array",
        "items": binary,
        "description": "one or more files (PDF, multi-page TIFF, images), each a part named "
        "`file`; at most --max-batch files, --max-job-mb in all, --max-job-pages pages",
    }
    schema["required"] = ["file"]
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


JOB_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorResponse, "description": "no such job (deleted or expired)"},
    409: {"model": ErrorResponse, "description": "the job has not finished, or the file failed"},
}
