"""The HTTP service and Web UI over the engine: ``create_app(config)`` and ``cpuocr serve``."""

from .app import create_app
from .config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
