"""The one error table: every engine error class gets its status along its MRO, the docstring's
table says what the code does, and a class nobody listed falls back to its nearest base."""

from __future__ import annotations

import inspect
import re

import pytest

from cpuocr import errors as engine_errors
from cpuocr._serving import errors as http_errors
from cpuocr._serving.errors import ENGINE_STATUS, error_payload, status_for

ENGINE_CLASSES = [
    cls
    for _, cls in inspect.getmembers(engine_errors, inspect.isclass)
    if issubclass(cls, engine_errors.CpuocrError)
]


def _nearest_listed(cls: type) -> type:
    return next(base for base in cls.__mro__ if base in ENGINE_STATUS)


@pytest.mark.parametrize("cls", ENGINE_CLASSES, ids=lambda c: c.__name__)
def test_every_engine_error_has_the_status_of_its_nearest_listed_base(cls: type) -> None:
    exc = cls("x")
    assert status_for(exc) == ENGINE_STATUS[_nearest_listed(cls)]
    status, body, _ = error_payload(exc)
    assert status == status_for(exc) and body["error"]["code"] == cls.code


def test_the_docstring_table_is_the_code_table() -> None:
    doc = http_errors.__doc__ or ""
    written = {
        name: int(status) for name, status in re.findall(r"cpuocr\.errors\.(\w+)\s+(\d{3})", doc)
    }
    assert written == {cls.__name__: status for cls, status in ENGINE_STATUS.items()}


def test_an_unlisted_subclass_takes_its_bases_status() -> None:
    class ScannedUpsideDownTwice(engine_errors.UnsupportedFormat):
        pass

    class SomethingNew(engine_errors.WorkLimitExceeded, ValueError):
        pass

    assert status_for(ScannedUpsideDownTwice("x")) == 415
    assert status_for(SomethingNew("x")) == 422
    assert status_for(ValueError("not ours")) == 500


def test_every_api_error_carries_its_own_status() -> None:
    for _, cls in inspect.getmembers(http_errors, inspect.isclass):
        if issubclass(cls, http_errors.ApiError) and cls is not http_errors.ApiError:
            exc = cls("x", retry_after_s=1) if cls is http_errors.Overloaded else cls("x")
            assert status_for(exc) == cls.status and 400 <= cls.status < 600


def test_a_bug_is_a_500_that_tells_the_client_nothing() -> None:
    status, body, headers = error_payload(RuntimeError("boom at /secret/path"))
    assert status == 500 and headers == {}
    assert body == {
        "success": False,
        "error": {"code": "internal_error", "message": body["error"]["message"]},
    }
    assert "secret" not in body["error"]["message"]


def test_overloaded_carries_retry_after() -> None:
    status, body, headers = error_payload(http_errors.Overloaded("x", retry_after_s=3))
    assert (status, headers, body["error"]["code"]) == (503, {"Retry-After": "3"}, "overloaded")
