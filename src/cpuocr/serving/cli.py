"""``cpuocr serve``: flags (generated from :data:`.config.SETTINGS`) and the uvicorn launch."""

from __future__ import annotations

import argparse
import copy
import logging
import logging.config
import math
import os
import signal
import sys
from typing import Any

import uvicorn
import uvicorn.config

from ..config import engine_config_from_env
from ..errors import ModelNotFound
from ..models import get_preset, locate
from .config import SETTINGS, ServeConfig

EXIT_MODELS = 4  # the same code as ``cpuocr.cli.EXIT_MODELS``


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; each help line names its environment variable and default."""
    defaults = ServeConfig()
    parser.epilog = (
        "Every flag can also be set by its CPUOCR_* environment variable; a flag wins over the "
        "variable. With --workers N, N processes share the port (each loads the models and gets "
        "cores/N of the CPU); /metrics then describes the process that answered."
    )
    for setting in SETTINGS:
        default = getattr(defaults, setting.field)
        shown = "auto" if default is None else setting.render(default) or "none"
        if setting.field == "api_key":
            shown = "none"
        parser.add_argument(
            setting.flag,
            dest=setting.field,
            default=None,
            metavar=setting.metavar or setting.field.split("_")[-1].upper(),
            help=f"{setting.help} [env {setting.env}; default {shown}]",
        )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first (up to --graceful-timeout)."""
    config = ServeConfig.from_sources(args)
    log_config = _log_config(config.log_level)
    logging.config.dictConfig(log_config)
    try:
        _check_models(config.preset)
    except ModelNotFound as exc:
        print(f"cpuocr serve: {exc}", file=sys.stderr)
        return EXIT_MODELS
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_config": log_config,
        "timeout_graceful_shutdown": math.ceil(config.graceful_timeout_s),
        "server_header": False,
    }
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal so the process would
    # die "killed by SIGTERM". A drained shutdown is a clean exit: swallow the re-raised signal.
    previous = signal.signal(signal.SIGTERM, _ignore_signal)
    try:
        if config.workers > 1:
            # Worker processes rebuild the same configuration from the environment.
            os.environ.update(config.to_env())
            uvicorn.run(
                "cpuocr.serving.app:create_app_from_env",
                factory=True,
                workers=config.workers,
                **options,
            )
        else:
            from .app import create_app

            uvicorn.run(create_app(config), **options)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _ignore_signal(signum: int, frame: object) -> None:
    """Handler for the SIGTERM uvicorn re-raises after its graceful shutdown."""


def _check_models(preset: str) -> None:
    """Fail with the install command before starting a server that could never become ready."""
    engine_config = engine_config_from_env(preset=preset)
    spec = get_preset(engine_config.preset)
    for model in (spec.det, spec.rec, spec.cls):
        if model is not None:
            locate(model, engine_config.model_dir)


def _log_config(level: str) -> dict[str, Any]:
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["cpuocr"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        log_config["loggers"].setdefault(name, {})["level"] = level.upper()
    return log_config
