"""Fixtures of the serving tests: real servers (subprocesses with the real default models) on
loopback ports, and the images they read."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

API_KEY: str = live.API_KEY


@pytest.fixture(scope="session")
def live_module() -> ModuleType:
    return live


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The default configuration (auth off, cache on, slots and threads from the cores), with a
    private TMPDIR the tests can inspect."""
    tmp = tmp_path_factory.mktemp("server")
    srv = live.start_with_private_tmpdir(tmp)
    yield srv
    code = srv.stop()
    assert code == 0, f"server exit code {code}:\n{srv.log()}"


@pytest.fixture(scope="session")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One slot, a queue of one, no cache, an API key: for 401 and 503."""
    tmp = tmp_path_factory.mktemp("tight")
    srv = live.LiveServer(
        tmp / "logs",
        args=["--slots", "1", "--threads", "1", "--queue-size", "1", "--cache-mb", "0"],
        env={"CPUOCR_API_KEY": API_KEY},
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def receipt() -> bytes:
    data: bytes = live.receipt_png()
    return data
