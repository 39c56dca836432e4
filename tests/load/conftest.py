"""Fixtures of the load, soak and fault tests: real servers (``python -m cpuocr serve``) on
loopback ports, driven by the load client (tests/load/loadclient.py)."""

from __future__ import annotations

import importlib

# Loaded once by tests/conftest.py.
live = importlib.import_module("cpuocr_tests_live_server")
loadtest = importlib.import_module("cpuocr_loadtest")
