"""A real ``redis-server`` for the tests: on a free loopback port, in a directory of its own, with
no persistence unless asked for. The ``redis_server`` fixture (tests/conftest.py) starts one per
test; tests that need more control build a :class:`RedisServer` themselves.

Needs only the Debian package's binary (``scripts/setup.sh --dev`` installs it), not the ``redis``
Python package: readiness is checked with a raw ``PING`` over the socket.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REDIS_SERVER = Path("/usr/bin/redis-server")
START_TIMEOUT_S = 10.0


def available() -> bool:
    return REDIS_SERVER.is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int, timeout_s: float = 0.5) -> bool:
    """True when a Redis on 127.0.0.1:``port`` answers ``PING`` with ``+PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """``redis-server`` in a subprocess; :meth:`start`, then :meth:`stop` (or :meth:`kill`).

    ``persistence``: append-only file in ``directory`` (fsync every second), so a restart keeps
    the data; off by default (no RDB snapshots either). ``port`` 0 picks a free one at start."""

    directory: Path
    persistence: bool = False
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def start(self) -> RedisServer:
        """Start (or start again, on the same port) and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("this redis-server is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port()
        command = [
            str(REDIS_SERVER),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--save", "",
            "--appendonly", "yes" if self.persistence else "no",
            "--appendfsync", "everysec",
            *self.extra_args,
        ]  # fmt: skip
        with (self.directory / "redis.stderr").open("ab") as stderr:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start-up:\n{self.log()}")
            if ping(self.port):
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(
            f"redis-server did not answer PING in {START_TIMEOUT_S} s:\n{self.log()}"
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        text = ""
        for path in (self.log_path, self.directory / "redis.stderr"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")[-3000:]
        return text or "(no log)"

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM (redis-server writes its append-only file and exits 0), SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=5)
        return code

    def kill(self) -> None:
        """SIGKILL: the server disappears the way a crashed or unplugged one does."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)
