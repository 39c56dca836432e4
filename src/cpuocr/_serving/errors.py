"""The one place where errors become HTTP answers.

Engine errors (:mod:`cpuocr.errors`) and the service's own request errors (below) map to a status
and a JSON body ``{"success": false, "error": {"code": ..., "message": ...}}``:

    ApiError                        a request the service refuses; carries its own status
    ├── BadRequest          400     missing field, bad base64 / JSON / form, bad option value
    ├── Unauthorized        401     CPUOCR_API_KEY is set and X-API-Key is missing or wrong
    ├── Forbidden           403     a Host not trusted, or a cross-site POST (CSRF, DNS rebinding)
    ├── NotFound            404     no such job (never created, deleted or expired)
    ├── RequestTimeout      408     the body did not arrive within the request timeout
    ├── Conflict            409     a job's result asked for before it is there (or it failed)
    ├── PayloadTooLarge     413     body or image over the byte limit; a job over its pages
    ├── UnsupportedMediaType 415    a body that is neither multipart/form-data nor JSON
    └── Overloaded          503     queue full or request timed out; carries Retry-After

    cpuocr.errors.InvalidImage        400   (empty, corrupt, truncated, not an image)
    cpuocr.errors.UnsupportedFormat   415   (a real file of a type we do not decode)
    cpuocr.errors.ImageTooLarge       413   (pixel or byte limit, from the header)
    cpuocr.errors.WorkLimitExceeded   422   (its work would pass a cap: pieces, scans, memory)
    cpuocr.errors.ProcessingFailed    422   (a library failed on this input; logged)
    cpuocr.errors.DeadlineExceeded    503   (abandoned at the request's deadline)
    cpuocr.errors.ConfigError         400   (e.g. an unknown preprocess mode)
    cpuocr.errors.ModelNotFound       503   (the service is not ready)
    cpuocr.errors.CpuocrError         400   (any other error raised on purpose about the input)
    (an error class takes the status of its nearest base in this table, along its MRO)
    Starlette HTTPException           its status (404, 405, ...)
    FastAPI RequestValidationError    400
    anything else                     500, logged with its traceback, never sent to the client
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors as engine_errors
from .._answer import error_answer

log = logging.getLogger("cpuocr.serving")


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class RequestTimeout(ApiError):
    status = 408
    code = "request_timeout"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class Overloaded(ApiError):
    status = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


#: The HTTP status of each engine error (the table in this module's docstring). An error class not
#: listed takes the status of its nearest listed base, looked up along its MRO (as Starlette looks
#: up exception handlers): a new subclass of InvalidImage is a 400 without an entry here.
ENGINE_STATUS: Mapping[type[engine_errors.CpuocrError], int] = MappingProxyType(
    {
        engine_errors.CpuocrError: 400,
        engine_errors.InvalidImage: 400,
        engine_errors.UnsupportedFormat: 415,
        engine_errors.ImageTooLarge: 413,
        engine_errors.WorkLimitExceeded: 422,
        engine_errors.ProcessingFailed: 422,
        engine_errors.DeadlineExceeded: 503,
        engine_errors.ConfigError: 400,
        engine_errors.ModelNotFound: 503,
    }
)


def status_for(exc: BaseException) -> int:
    """HTTP status of any exception; 500 for anything not raised on purpose."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 400
    for cls in type(exc).__mro__:
        status = ENGINE_STATUS.get(cls)  # type: ignore[call-overload]
        if status is not None:
            return int(status)
    return 500


def error_payload(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for ``exc``. Also used for the failed entries of a batch."""
    status = status_for(exc)
    if isinstance(exc, ApiError):
        return status, error_answer(exc.code, exc.message), exc.headers
    if isinstance(exc, engine_errors.CpuocrError):
        return status, error_answer(exc.code, str(exc) or exc.code), {}
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
        headers = dict(exc.headers or {})
        return status, error_answer(code, str(exc.detail)), headers
    if isinstance(exc, RequestValidationError):
        return status, error_answer("bad_request", _validation_message(exc)), {}
    return 500, error_answer("internal_error", "internal server error; the event was logged"), {}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = error_payload(exc)
    if status >= 500 and not isinstance(exc, ApiError | engine_errors.CpuocrError):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception class above (and ``Exception``) through :func:`error_payload`."""
    for cls in (
        ApiError,
        engine_errors.CpuocrError,
        StarletteHTTPException,
        RequestValidationError,
        Exception,
    ):
        app.add_exception_handler(cls, _handle)
