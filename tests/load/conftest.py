"""Fixtures of the load, soak and fault tests: real servers (``python -m cpuocr.serving``) on
loopback ports, driven by scripts/loadtest.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]


def load_by_path(name: str, path: Path) -> ModuleType:
    """Import ``path`` as module ``name`` once (works under any pytest import mode)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


live = load_by_path("cpuocr_tests_live_server", TESTS / "serving" / "live_server.py")
loadtest = load_by_path("cpuocr_loadtest", TESTS.parent / "scripts" / "loadtest.py")
