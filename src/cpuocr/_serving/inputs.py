"""Reading images and options out of requests, with every limit applied *while* the body arrives.

* :class:`BodyLimitMiddleware` refuses a body whose ``Content-Length`` is over the route's limit
  before a byte of it is read, and counts the bytes of any other body (chunked uploads included),
  stopping at the limit; both give 413. It also holds every body to a minimum rate (after a short
  grace, each byte must arrive in its time at ``min_rate`` bytes/s, else 408: a client trickling
  one byte every two seconds is cut off after seconds, not minutes), and all bodies in progress
  together to a memory budget (503 past it; bodies under 1 MB are not counted, so small requests
  always get through). After a large body it hands freed heap memory back to the system.
* The body is read into one buffer before it is parsed (:func:`read_body`); the request lets go
  of it once parsed. Multipart bodies are parsed in place by :mod:`.multipart` (each image copied
  once, an image over the byte limit refused before it is copied, counts of files and fields and
  the size of text fields bounded); nothing is ever written to a temporary file on disk.
* JSON bodies carry the image as base64 (a ``data:`` URL prefix is accepted). Their structure is
  counted before parsing (a 27 MB body of nine million ``{}`` would cost 650 MB as Python objects)
  and large ones are parsed and decoded in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._documents.reader import TEXT_LAYER_MODES
from .._engine.preprocess import check_mode
from .._engine.runtime import trim_freed_memory
from .._writers import FORMATS
from ..errors import ConfigError
from .config import ServeConfig, parse_bool
from .errors import (
    BadRequest,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from .multipart import Form, parse_form

MAX_FORM_FIELDS = 16
MAX_TEXT_FIELD_BYTES = 64 * 1024
MB = 1024 * 1024
#: A body declared this small is read even when the queue is full: its answer may be cached.
PEEK_BODY_BYTES = 1 * MB
#: Every body may take this long before the minimum rate applies (connection set-up, a slow start).
UPLOAD_GRACE_S = 5.0
#: The slowest upload accepted after the grace: 32 KB/s (256 kbit/s, a poor mobile link) moves a
#: 1 MB photo in 30 s; a client sending one byte every 2 s is cut off after the grace.
MIN_UPLOAD_RATE = 32 * 1024
#: Bodies at least this large count against the memory budget of the bodies in progress.
BUDGETED_BODY_BYTES = 1 * MB
#: JSON bodies are parsed in a thread from this size on (smaller ones take well under 1 ms).
PARSE_ON_LOOP_BYTES = 256 * 1024
_DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class ImageInput:
    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class OcrOptions:
    det: bool = True
    preprocess: str | None = None  # None: the engine's configured mode (CPUOCR_PREPROCESS)


MIN_DPI, MAX_DPI = 36.0, 600.0
_PAGES = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")


@dataclass(frozen=True)
class DocumentOptions:
    """How a document (PDF, multi-page TIFF) is read and answered: ``pages`` ("1-3,7"), the
    render ``dpi`` (None: the reader's), ``text_layer``, an output ``format`` (None: JSON), and
    ``preview``: each page of the JSON answer carries the page's image, scaled down (Web UI);
    ``chars``: ``format=json`` gives each line's character positions; ``paragraphs``: an image's
    answer also groups its lines into the layout's paragraphs."""

    pages: str | None = None
    dpi: float | None = None
    text_layer: str = "auto"
    format: str | None = None
    preview: bool = False
    chars: bool = False
    paragraphs: bool = False


@dataclass(frozen=True)
class ParsedRequest:
    images: list[ImageInput]
    options: OcrOptions
    document: DocumentOptions = DocumentOptions()


def may_peek(request: Request) -> bool:
    """A request whose body is declared small is read even when the queue is full, because its
    answer may be in the cache; reading it costs next to nothing."""
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) <= PEEK_BODY_BYTES


class BodyLimitMiddleware:
    """413 for request bodies over ``limits[path]`` (or ``default_limit``), by header and by count;
    408 for bodies slower than ``min_rate`` after ``grace_s``; 503 while the bodies in progress
    (those over 1 MB) would together pass ``budget_bytes``.

    The checks happen on each ``receive()`` of the body, i.e. inside the route, after the API key
    was checked, so the errors go through the app's exception handlers like any other.
    """

    def __init__(
        self,
        app: ASGIApp,
        default_limit: int,
        limits: dict[str, int],
        *,
        min_rate: float = MIN_UPLOAD_RATE,
        grace_s: float = UPLOAD_GRACE_S,
        budget_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits
        self.min_rate = min_rate
        self.grace_s = grace_s
        self.budget_bytes = (
            budget_bytes if budget_bytes is not None else max(default_limit, *limits.values(), 1)
        )
        self.in_progress = 0  # bytes of budgeted bodies held by requests in progress

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.default_limit)
        declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        received = 0
        counted = 0  # bytes of this body counted in self.in_progress
        body_done = False
        started = time.monotonic()

        async def limited_receive() -> Message:
            nonlocal received, counted, body_done
            if declared is not None and declared > limit:
                raise PayloadTooLarge(_too_large(declared, limit), code="request_too_large")
            if body_done:
                return await receive()  # waiting for the disconnect: no deadline
            # Each byte must have arrived by grace + bytes / min_rate after the request began.
            wait_s = started + self.grace_s + received / self.min_rate - time.monotonic()
            try:
                if wait_s <= 0:
                    raise TimeoutError
                # asyncio.timeout, not wait_for: a body already here is taken without a task
                # switch, so a request refused under a flood is refused at once.
                async with asyncio.timeout(wait_s):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"the request body arrived too slowly ({received} bytes in "
                    f"{time.monotonic() - started:.0f} s); after the first {self.grace_s:g} s "
                    f"uploads must keep up {self.min_rate / 1024:g} KB/s",
                    code="upload_too_slow",
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    raise PayloadTooLarge(_too_large(received, limit), code="request_too_large")
                if received >= BUDGETED_BODY_BYTES:
                    self.in_progress += received - counted
                    counted = received
                    if self.in_progress > self.budget_bytes:
                        raise Overloaded(
                            "the uploads in progress fill the server's memory budget for request "
                            f"bodies ({self.budget_bytes // MB} MB); retry later",
                            retry_after_s=5,
                            code="uploads_full",
                        )
            else:
                body_done = True
            return message

        try:
            await self.app(scope, limited_receive, send)
        finally:
            self.in_progress -= counted
            if received >= BUDGETED_BODY_BYTES:
                # The body, its parsed copies and decoded images are freed by now; glibc keeps
                # freed heap pages unless asked (RSS stayed at 4 GB after large refused batches).
                await anyio.to_thread.run_sync(trim_freed_memory)


def _too_large(size: int, limit: int) -> str:
    more = "at least " if size <= limit + 1 else ""
    return f"request body is {more}{size} bytes, over the limit of {limit} bytes"


class UploadGate:
    """Bodies being read, counted per client address and in all. A body holds no inference place
    while it arrives, only one of these; past either cap the request is refused (503) before its
    body is read. The per-client cap keeps one address from taking every reading place with slow
    uploads (each is also cut off by the minimum rate); behind a proxy every client has the
    proxy's address, so the total is the cap that matters there."""

    def __init__(self, per_client: int = 32, total: int = 256) -> None:
        self.per_client = per_client
        self.total = total
        self._by_client: dict[str, int] = {}
        self._count = 0

    @contextlib.contextmanager
    def reading(self, client: str) -> Iterator[None]:
        if self._count >= self.total or self._by_client.get(client, 0) >= self.per_client:
            mine = self._by_client.get(client, 0) >= self.per_client
            raise Overloaded(
                f"{self.per_client} uploads from your address are already in progress; retry later"
                if mine
                else f"{self.total} uploads are already in progress; retry later",
                retry_after_s=2,
                code="uploads_full",
            )
        self._count += 1
        self._by_client[client] = self._by_client.get(client, 0) + 1
        try:
            yield
        finally:
            self._count -= 1
            left = self._by_client[client] - 1
            if left:
                self._by_client[client] = left
            else:
                del self._by_client[client]


async def read_body(request: Request, config: ServeConfig, gate: UploadGate) -> None:
    """Read the whole body, under the limits of :class:`BodyLimitMiddleware` and an overall
    deadline, holding a reading place of ``gate``; :func:`parse_request` takes it from there."""
    client = request.client.host if request.client is not None else "unknown"
    with gate.reading(client):
        try:
            async with asyncio.timeout(config.request_timeout_s):
                request.state.body = await _receive_all(request)
        except TimeoutError:
            raise RequestTimeout(
                f"the request body did not arrive within {config.request_timeout_s:g} s"
            ) from None
        except ClientDisconnect:
            raise BadRequest(
                "the client closed the connection before the body arrived", code="client_gone"
            ) from None


async def _receive_all(request: Request) -> bytearray:
    """The body in one buffer that grows in place (a large ``bytearray`` is resized by
    ``mremap``, without a copy), never a list of chunks and their join: that would hold the
    body twice."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    return body


async def parse_request(request: Request, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    """Images and options of an ``/ocr``, ``/ocr/batch`` or ``/preprocess`` request whose body
    :func:`read_body` has read. The request lets go of the body: from here on only the images
    parsed out of it are held."""
    body: bytearray = request.state.body
    del request.state.body
    return await _parse(body, request.headers.get("content-type", ""), config, batch=batch)


async def _parse(
    body: bytearray, content_type: str, config: ServeConfig, *, batch: bool
) -> ParsedRequest:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _parse_multipart(body, content_type, config, batch=batch)
    if media_type == "application/json" or media_type.endswith("+json"):
        return await _parse_json(body, config, batch=batch)
    shown = media_type or "no Content-Type"
    raise UnsupportedMediaType(
        f"{shown} is not accepted: send multipart/form-data with a file field 'image', "
        "or application/json with a base64 'image'"
    )


async def _parse_multipart(
    body: bytearray, content_type: str, config: ServeConfig, *, batch: bool
) -> ParsedRequest:
    def parse() -> Form:
        return parse_form(
            body,
            content_type,
            max_files=config.max_batch_images if batch else 1,
            max_fields=MAX_FORM_FIELDS,
            max_field_bytes=MAX_TEXT_FIELD_BYTES,
            max_file_bytes=config.max_upload_bytes,
            single_file=not batch,
        )

    form = parse() if len(body) <= PARSE_ON_LOOP_BYTES else await anyio.to_thread.run_sync(parse)
    images = [ImageInput(part.data, part.filename) for part in form.files if part.name == "image"]
    if not images:
        if "image" in form.fields:
            raise BadRequest(
                "the field 'image' must be a file upload (with a filename), not a text field",
                code="bad_field",
            )
        raise BadRequest(
            "the multipart field 'image' is missing: send the image as a file field named 'image'",
            code="missing_field",
        )
    return ParsedRequest(
        images, _options(form.get("det"), form.get("preprocess")), _document_options(form.get)
    )


#: The multipart field names of a job's files (``image`` as in ``POST /ocr`` is accepted too).
JOB_FILE_FIELDS = ("file", "image")


async def parse_job_request(request: Request, config: ServeConfig) -> ParsedRequest:
    """The files and options of a ``POST /jobs`` whose body :func:`read_body` has read:
    multipart/form-data, one or more file parts named ``file`` (or ``image``), at most
    ``max_batch_images``, each within ``max_job_bytes`` (the whole body is held to
    :attr:`ServeConfig.max_job_request_bytes` as it arrives), and the options of ``POST /ocr``."""
    body: bytearray = request.state.body
    del request.state.body
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMediaType(
            "POST /jobs takes multipart/form-data with one or more file fields named 'file'"
        )

    def parse() -> Form:
        return parse_form(
            body,
            content_type,
            max_files=config.max_batch_images,
            max_fields=MAX_FORM_FIELDS,
            max_field_bytes=MAX_TEXT_FIELD_BYTES,
            max_file_bytes=config.max_job_bytes,
            single_file=False,
        )

    form = parse() if len(body) <= PARSE_ON_LOOP_BYTES else await anyio.to_thread.run_sync(parse)
    files = [
        ImageInput(part.data, part.filename) for part in form.files if part.name in JOB_FILE_FIELDS
    ]
    if not files:
        raise BadRequest(
            "no file: send each document or image as a file field named 'file'",
            code="missing_field",
        )
    return ParsedRequest(
        files, _options(form.get("det"), form.get("preprocess")), _document_options(form.get)
    )


def _check_image_bytes(size: int, config: ServeConfig) -> None:
    if size > config.max_upload_bytes:
        raise PayloadTooLarge(
            f"the image is {size} bytes, over the limit of {config.max_upload_bytes} bytes",
            code="file_too_large",
        )


async def _parse_json(body: bytearray, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    try:
        if len(body) <= PARSE_ON_LOOP_BYTES:
            payload = _load_json(body, config)
        else:
            payload = await anyio.to_thread.run_sync(_load_json, body, config)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, absurd nesting
        raise BadRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise BadRequest("the JSON body must be an object", code="invalid_json")
    if batch:
        raw_images = payload.get("images")
        if raw_images is None:
            raise BadRequest("the JSON field 'images' (a list of base64 strings) is missing",
                             code="missing_field")  # fmt: skip
        if not isinstance(raw_images, list) or not raw_images:
            raise BadRequest(
                "'images' must be a non-empty list of base64 strings", code="bad_field"
            )
        if len(raw_images) > config.max_batch_images:
            raise BadRequest(
                f"{len(raw_images)} images in one batch; the limit is {config.max_batch_images}",
                code="too_many_files",
            )
    else:
        if payload.get("image") is None:
            raise BadRequest("the JSON field 'image' (base64 image data) is missing",
                             code="missing_field")  # fmt: skip
        raw_images = [payload["image"]]
    if len(body) <= PARSE_ON_LOOP_BYTES:
        images = [ImageInput(decode_base64_image(item, config)) for item in raw_images]
    else:
        images = [
            ImageInput(await anyio.to_thread.run_sync(decode_base64_image, item, config))
            for item in raw_images
        ]
    return ParsedRequest(
        images,
        _options(payload.get("det"), payload.get("preprocess")),
        _document_options(payload.get),
    )


def _load_json(body: bytearray, config: ServeConfig) -> Any:
    _check_json_shape(body, config)
    return json.loads(body)


def _check_json_shape(body: bytearray, config: ServeConfig) -> None:
    """Refuse a body with more JSON structure than any valid request has, before parsing it:
    objects, arrays, strings and list items cost ~50-100 bytes each as Python objects, so 27 MB of
    ``{}`` would take 650 MB. A valid request is one object with a few fields and at most
    ``max_batch_images`` strings (base64 has no quotes, brackets or commas)."""
    most_values = config.max_batch_images + 32
    containers = body.count(b"{") + body.count(b"[")
    if containers > 16 or body.count(b'"') > 2 * most_values or body.count(b",") > most_values:
        raise BadRequest(
            "the JSON body has more objects, lists or values than a request can have: send "
            '{"image": "<base64>"} or {"images": ["<base64>", ...]} with optional '
            '"det" and "preprocess"',
            code="invalid_json",
        )


def decode_base64_image(value: Any, config: ServeConfig) -> bytes:
    if not isinstance(value, str):
        raise BadRequest("an image must be a base64 string", code="invalid_base64")
    text = _DATA_URL.sub("", value.strip(), count=1)
    raw = _WHITESPACE.sub(b"", text.encode("ascii", errors="replace"))
    # Before decoding anything; padding carries no data (a file 1 byte under the limit is fine).
    _check_image_bytes(len(raw.rstrip(b"=")) * 3 // 4, config)
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("the image is not valid base64", code="invalid_base64") from None


def _options(det: Any, preprocess: Any) -> OcrOptions:
    try:
        det_value = True if det is None or det == "" else parse_bool(det, "det")
    except ConfigError as exc:
        raise BadRequest(str(exc), code="invalid_parameter") from None
    mode: str | None = None  # left out: the engine's configured mode
    if preprocess is not None and preprocess != "":
        try:
            mode = check_mode(str(preprocess).strip().lower())
        except ConfigError as exc:
            raise BadRequest(str(exc), code="invalid_parameter") from None
    return OcrOptions(det_value, mode)


def _document_options(get: Callable[[str], Any]) -> DocumentOptions:
    """``pages``, ``dpi``, ``text_layer``, ``format``, ``preview``, ``chars`` and ``paragraphs``
    of a request,
    checked (400 with the valid values); each may be left out or empty."""

    def field(name: str) -> str | None:
        value = get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise BadRequest(f"{name} must be a string or a number", code="invalid_parameter")
        return str(value).strip()

    pages = field("pages")
    if pages is not None and (len(pages) > 200 or not _PAGES.match(pages)):
        raise BadRequest(
            f"pages: {pages[:50]!r} is not a page list like 1-3,7", code="invalid_parameter"
        )
    dpi_text = field("dpi")
    dpi = None
    if dpi_text is not None:
        try:
            dpi = float(dpi_text)
        except ValueError:
            dpi = math.nan
        if not MIN_DPI <= dpi <= MAX_DPI:
            raise BadRequest(
                f"dpi must be a number from {MIN_DPI:g} to {MAX_DPI:g}", code="invalid_parameter"
            )
    text_layer = (field("text_layer") or "auto").lower()
    if text_layer not in TEXT_LAYER_MODES:
        raise BadRequest(
            f"text_layer: unknown value; valid: {', '.join(TEXT_LAYER_MODES)}",
            code="invalid_parameter",
        )
    fmt = field("format")
    if fmt is not None and fmt.lower() not in FORMATS:
        raise BadRequest(
            f"format: unknown value; valid: {', '.join(FORMATS)}", code="invalid_parameter"
        )
    flags = {}
    for name in ("preview", "chars", "paragraphs"):
        raw = get(name)
        try:
            flags[name] = raw not in (None, "") and parse_bool(raw, name)
        except ConfigError as exc:
            raise BadRequest(str(exc), code="invalid_parameter") from None
    return DocumentOptions(
        pages,
        dpi,
        text_layer,
        fmt.lower() if fmt else None,
        flags["preview"],
        flags["chars"],
        flags["paragraphs"],
    )
