"""Reading images and options out of requests, with every limit applied *while* the body arrives.

* :class:`BodyLimitMiddleware` refuses a body whose ``Content-Length`` is over the route's limit
  before a byte of it is read, and counts the bytes of any other body (chunked uploads included),
  stopping at the limit; both give 413.
* Multipart bodies are parsed by Starlette's parser with ``max_files``, ``max_fields`` and
  ``max_part_size`` (text fields) set, and with file parts kept in memory: the body is already
  bounded, and nothing is ever written to a temporary file on disk.
* JSON bodies carry the image as base64 (a ``data:`` URL prefix is accepted).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ConfigError
from ..preprocess import MODES
from .config import ServeConfig, parse_bool
from .errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType

MAX_FORM_FIELDS = 16
MAX_TEXT_FIELD_BYTES = 64 * 1024
_DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class ImageInput:
    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class OcrOptions:
    det: bool = True
    preprocess: str = "auto"


@dataclass(frozen=True)
class ParsedRequest:
    images: list[ImageInput]
    options: OcrOptions


class BodyLimitMiddleware:
    """413 for request bodies over ``limits[path]`` (or ``default_limit``), by header and by count.

    The check happens on the first ``receive()`` of the body, i.e. inside the route, after the API
    key was checked, so the error goes through the app's exception handlers like any other.
    """

    def __init__(self, app: ASGIApp, default_limit: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits

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

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise PayloadTooLarge(_too_large(declared, limit), code="request_too_large")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(_too_large(received, limit), code="request_too_large")
            return message

        await self.app(scope, limited_receive, send)


def _too_large(size: int, limit: int) -> str:
    more = "at least " if size <= limit + 1 else ""
    return f"request body is {more}{size} bytes, over the limit of {limit} bytes"


class _InMemoryMultiPartParser(MultiPartParser):
    """Starlette's parser, told never to roll a file part over to a temporary file on disk."""

    def __init__(self, request: Request, *, max_files: int, spool_bytes: int) -> None:
        super().__init__(
            request.headers,
            request.stream(),
            max_files=max_files,
            max_fields=MAX_FORM_FIELDS,
            max_part_size=MAX_TEXT_FIELD_BYTES,
        )
        self.spool_max_size = spool_bytes


async def parse_request(request: Request, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    """Images and options of an ``/ocr``, ``/ocr/batch`` or ``/preprocess`` request. A body that
    trickles in slower than the request timeout is refused (408) instead of holding memory."""
    try:
        async with asyncio.timeout(config.request_timeout_s):
            return await _parse(request, config, batch=batch)
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {config.request_timeout_s:g} s"
        ) from None


async def _parse(request: Request, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _parse_multipart(request, config, batch=batch)
    if media_type == "application/json" or media_type.endswith("+json"):
        return await _parse_json(request, config, batch=batch)
    shown = media_type or "no Content-Type"
    raise UnsupportedMediaType(
        f"{shown} is not accepted: send multipart/form-data with a file field 'image', "
        "or application/json with a base64 'image'"
    )


async def _parse_multipart(request: Request, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    parser = _InMemoryMultiPartParser(
        request,
        max_files=config.max_batch_images if batch else 1,
        spool_bytes=config.max_batch_request_bytes + 1,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        message = str(exc.message)
        if "exceeded maximum size" in message:  # a text field over MAX_TEXT_FIELD_BYTES
            raise PayloadTooLarge(message, code="field_too_large") from None
        if message.startswith("Too many files") and not batch:
            raise BadRequest(
                "send exactly one file field 'image' to /ocr; use /ocr/batch for several",
                code="too_many_files",
            ) from None
        raise BadRequest(f"malformed multipart body: {message}", code="bad_multipart") from None
    try:
        images = [await _upload_bytes(part, config) for part in _image_parts(form)]
        options = _options(form.get("det"), form.get("preprocess"))
    finally:
        await form.close()
    return ParsedRequest(images, options)


def _image_parts(form: FormData) -> list[UploadFile]:
    parts = form.getlist("image")
    if not parts:
        raise BadRequest(
            "the multipart field 'image' is missing: send the image as a file field named 'image'",
            code="missing_field",
        )
    uploads = []
    for part in parts:
        if not isinstance(part, UploadFile):
            raise BadRequest(
                "the field 'image' must be a file upload (with a filename), not a text field",
                code="bad_field",
            )
        uploads.append(part)
    return uploads


async def _upload_bytes(part: UploadFile, config: ServeConfig) -> ImageInput:
    data = await part.read()
    _check_image_bytes(len(data), config)
    return ImageInput(data, part.filename)


def _check_image_bytes(size: int, config: ServeConfig) -> None:
    if size > config.max_upload_bytes:
        raise PayloadTooLarge(
            f"the image is {size} bytes, over the limit of {config.max_upload_bytes} bytes",
            code="file_too_large",
        )


async def _parse_json(request: Request, config: ServeConfig, *, batch: bool) -> ParsedRequest:
    body = await request.body()
    try:
        payload = json.loads(body)
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
    images = [ImageInput(decode_base64_image(item, config)) for item in raw_images]
    return ParsedRequest(images, _options(payload.get("det"), payload.get("preprocess")))


def decode_base64_image(value: Any, config: ServeConfig) -> bytes:
    if not isinstance(value, str):
        raise BadRequest("an image must be a base64 string", code="invalid_base64")
    text = _DATA_URL.sub("", value.strip(), count=1)
    raw = _WHITESPACE.sub(b"", text.encode("ascii", errors="replace"))
    _check_image_bytes(len(raw) * 3 // 4, config)  # before decoding anything
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
    if preprocess is None or preprocess == "":
        mode = "auto"
    elif isinstance(preprocess, str) and preprocess.strip().lower() in MODES:
        mode = preprocess.strip().lower()
    else:
        raise BadRequest(
            f"preprocess: unknown value {preprocess!r}; valid: {', '.join(MODES)}",
            code="invalid_parameter",
        )
    return OcrOptions(det_value, mode)
