"""``cpuocr serve``: flags (generated from :data:`.config.SETTINGS`) and the uvicorn launch.

Shutdown is bounded: after SIGTERM (or SIGINT) uvicorn stops accepting at once, lets in-flight
requests finish for up to ``--graceful-timeout`` seconds and cancels the rest; a watchdog thread
then ends the process :data:`SHUTDOWN_MARGIN_S` seconds later whatever is still running (an
inference in a native library cannot be interrupted, and Python would wait for its thread). With
``--workers N`` the supervisor closes its copy of the listening socket on the signal, so new
connections are refused instead of queueing where no worker takes them, and each worker asks the
kernel for SIGTERM when the supervisor dies, so a killed supervisor leaves no worker on the port.

The configuration is read once, here (:meth:`.config.ServeConfig.from_sources`), and handed to the
app explicitly: with ``--workers N`` the app factory given to uvicorn is a picklable
``functools.partial`` of :func:`serve_app` carrying the :class:`.config.ServeConfig` and the
supervisor's pid, which uvicorn pickles into each spawned worker. Nothing travels in
``os.environ``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import functools
import logging
import logging.config
import math
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn
import uvicorn.config
from uvicorn.supervisors.multiprocess import Multiprocess

from .._engine.config import EngineConfig
from .._engine.factory import model_files
from .._engine.runtime import limit_malloc_arenas
from .._exit_codes import EXIT_MODELS, EXIT_OK, EXIT_SHUTDOWN_FORCED, EXIT_STARTUP_FAILURE
from ..errors import ModelNotFound
from .config import SETTINGS, ServeConfig
from .redis_client import redis_module

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("cpuocr.serving")

#: Seconds a process may take past --graceful-timeout (closing the pool, joining threads) before
#: its watchdog ends it. The supervisor of ``--workers N`` waits one more second for its workers.
SHUTDOWN_MARGIN_S = 2.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: malloc arenas of a serving process (runtime.limit_malloc_arenas: memory comes back after
#: bursts; the same speed).
SERVE_MALLOC_ARENAS = 2


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
        if setting.field == "api_key" or setting.field.endswith("_url"):
            shown = "none"
        parser.add_argument(
            setting.flag,
            dest=setting.field,
            default=None,
            metavar=setting.metavar or setting.field.split("_")[-1].upper(),
            help=f"{setting.help} [env {setting.env}; default {shown}]",
        )


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first (up to --graceful-timeout),
    and the process is gone at most :data:`SHUTDOWN_MARGIN_S` seconds after that."""
    config = ServeConfig.from_sources(args)
    log_config = _log_config(config.log_level)
    logging.config.dictConfig(log_config)
    # Fail now, not in a worker, when the Redis client is missing.
    if config.cache_url is not None:
        redis_module("--cache-url (CPUOCR_CACHE_URL)")
    if config.jobs_url is not None:
        redis_module("--jobs-url (CPUOCR_JOBS_URL)")
    try:
        _check_models(config.engine)
    except ModelNotFound as exc:
        print(f"cpuocr serve: {exc}", file=sys.stderr)
        return EXIT_MODELS
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_config": log_config,
        "timeout_graceful_shutdown": math.ceil(config.graceful_timeout_s),
        "server_header": False,
        # h11 with a deadline for request headers (silent and trickling connections are closed)
        "http": "cpuocr._serving.protocol:GuardedH11Protocol",
    }
    graceful_s = options["timeout_graceful_shutdown"]
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal so the process would
    # die "killed by SIGTERM". A drained shutdown is a clean exit: swallow the re-raised signal.
    previous = signal.signal(signal.SIGTERM, _ignore_signal)
    try:
        if config.workers > 1:
            # uvicorn pickles its Config, this factory included, into each spawned worker.
            factory = functools.partial(serve_app, config, os.getpid())
            uv_config = uvicorn.Config(factory, factory=True, workers=config.workers, **options)
            sock = uv_config.bind_socket()
            Supervisor(uv_config, [sock], graceful_s).run()
        else:
            # A factory, so that the app is built (and the watchdog chained to uvicorn's signal
            # handlers) inside the server, as in a worker process.
            factory = functools.partial(serve_app, config, None)
            uv_config = uvicorn.Config(factory, factory=True, **options)
            server = uvicorn.Server(uv_config)
            server.run()
            if not server.started:
                return EXIT_STARTUP_FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def serve_app(config: ServeConfig, supervisor_pid: int | None) -> FastAPI:
    """The app factory of the process that serves: the only one, or a worker of the supervisor
    ``supervisor_pid``. Module-level, so that a ``functools.partial`` of it pickles."""
    from .app import create_app

    guard_server_process(math.ceil(config.graceful_timeout_s), supervisor_pid)
    limit_malloc_arenas(SERVE_MALLOC_ARENAS)  # before the engines' and the slots' threads exist
    return create_app(config)


# -- bounded shutdown ---------------------------------------------------------------------------


class ShutdownWatchdog:
    """Once armed, ends the process ``limit_s`` seconds later with :data:`EXIT_SHUTDOWN_FORCED`
    unless it has exited by then. A daemon thread; arming twice does nothing."""

    def __init__(
        self, limit_s: float, what: str, before_exit: Callable[[], None] | None = None
    ) -> None:
        self.limit_s = limit_s
        self.what = what
        self.before_exit = before_exit
        self._armed = threading.Event()

    def arm(self) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        threading.Thread(target=self._run, name="cpuocr-shutdown-watchdog", daemon=True).start()

    def _run(self) -> None:
        time.sleep(self.limit_s)
        # Written straight to stderr: a logging lock held by a stuck thread must not stop this.
        message = (
            f"ERROR:    cpuocr: the {self.what} [{os.getpid()}] was still shutting down "
            f"{self.limit_s:g} s after the stop signal (graceful timeout + "
            f"{SHUTDOWN_MARGIN_S:g} s); forcing exit\n"
        )
        try:
            os.write(2, message.encode())
            if self.before_exit is not None:
                self.before_exit()
        finally:
            os._exit(EXIT_SHUTDOWN_FORCED)


def guard_server_process(graceful_timeout_s: float, supervisor_pid: int | None = None) -> None:
    """Bound the shutdown of the process that runs the server (the only one, or a worker) to
    ``graceful_timeout_s`` (uvicorn's, a whole number of seconds) + :data:`SHUTDOWN_MARGIN_S`.

    Call it from the main thread while uvicorn's own signal handlers are installed (i.e. from the
    app factory): it chains a handler before them that arms a :class:`ShutdownWatchdog`. In a
    worker of :class:`Supervisor` (``supervisor_pid`` given) it also makes the kernel send SIGTERM
    when the supervisor dies.
    """
    watchdog = ShutdownWatchdog(graceful_timeout_s + SHUTDOWN_MARGIN_S, "server process")
    if threading.current_thread() is threading.main_thread():
        for sig in _STOP_SIGNALS:
            signal.signal(sig, _chained(signal.getsignal(sig), watchdog))
    if supervisor_pid is not None:
        die_with_parent(supervisor_pid)


def _chained(previous: Any, watchdog: ShutdownWatchdog) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        watchdog.arm()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return handler


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send this process SIGTERM (a graceful stop) when its parent dies, so that a
    supervisor killed with SIGKILL leaves no orphaned worker holding the port. If the parent is
    already gone, stop now. Does nothing where prctl is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    except (OSError, AttributeError) as exc:
        log.warning("workers will not stop with their supervisor: %s", exc)
        return
    if os.getppid() != parent_pid:  # it died before the prctl call
        log.warning("the supervisor [%d] is gone; stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, with a shutdown that cannot leave the port half-open.

    On the first SIGTERM/SIGINT, in the signal handler itself: close this process's copy of the
    listening socket and pass the signal to every worker (they close theirs on their next tick),
    so the socket stops listening within a fraction of a second and new connections are refused
    rather than left in the kernel's queue; then arm a watchdog that kills the workers left and
    exits one second after the workers' own watchdogs would have fired.
    """

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], graceful_timeout_s: float
    ) -> None:
        super().__init__(config, sockets)
        self._stopping = False
        self._watchdog = ShutdownWatchdog(
            graceful_timeout_s + SHUTDOWN_MARGIN_S + 1.0, "supervisor", self._kill_workers
        )
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal_queue.append(signum)  # what uvicorn's own handler does
        if self._stopping:
            return
        self._stopping = True
        self._watchdog.arm()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._signal_workers(signal.SIGTERM)

    def _signal_workers(self, signum: int) -> None:
        for process in list(self.processes):
            pid = process.pid
            if pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)

    def _kill_workers(self) -> None:
        self._signal_workers(signal.SIGKILL)

    def keep_subprocess_alive(self) -> None:
        if self._stopping:  # never start a worker on a closed socket
            return
        super().keep_subprocess_alive()


def _ignore_signal(signum: int, frame: object) -> None:
    """Handler for the SIGTERM uvicorn re-raises after its graceful shutdown."""


def _check_models(engine: EngineConfig) -> None:
    """Fail with the install command before starting a server that could never become ready
    (the files the factory would load are located, nothing is loaded)."""
    model_files(engine)


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
