"""Serving configuration: one frozen dataclass from flags, ``CPUOCR_*`` variables and defaults.

Every setting is declared once, in :data:`SETTINGS`, with its flag, its environment variable, its
parser and its help text. ``cpuocr serve --help`` is generated from that table, and so is
:meth:`ServeConfig.from_sources` (flag > environment > default). The engine's settings (preset,
threads, pixel limit, and the variable-only preprocessing mode and model directory) live in
:attr:`ServeConfig.engine`, an :class:`~cpuocr._engine.config.EngineConfig` that
:meth:`EngineConfig.from_env` builds: the one reader of the engine's variables.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._engine.config import DEVICE_ENV, MAX_PIXELS_ENV, PRESET_ENV, THREADS_ENV, EngineConfig
from .._engine.runtime import DEVICE_HELP, available_cores
from ..errors import ConfigError
from .redis_client import check_url

log = logging.getLogger("cpuocr.serving")

MB = 1024 * 1024
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
#: The Host names a loopback-bound server answers by default: only this machine can reach it, and
#: refusing other names defeats DNS rebinding (a web page whose own name resolves to 127.0.0.1).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServeConfig:
    """Everything the HTTP service needs. ``None`` for slots, queue_size and the engine's threads
    means "derive from the cores"; :meth:`resolved` fills them in."""

    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    slots: int | None = None
    queue_size: int | None = None
    max_upload_bytes: int = 20 * MB
    max_batch_images: int = 16
    max_pages: int = 50  # pages of one document read in one request
    cache_mb: float = 64.0
    #: The result cache shared by every replica (Redis); None: the in-process LRU of cache_mb.
    cache_url: str | None = None
    cache_ttl_s: float = 86400.0  # how long a shared entry lives
    cache_max_entry_bytes: int = 1 * MB  # larger answers are not shared
    request_timeout_s: float = 60.0
    graceful_timeout_s: float = 30.0
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] | None = None
    log_level: str = "info"
    warmup: bool = True
    #: Durable jobs (POST /jobs): where they are stored (None: jobs are off; ``from_sources``
    #: fills in $XDG_DATA_HOME/cpuocr, else ~/.local/share/cpuocr), and their limits.
    data_dir: str | None = None
    max_job_pages: int = 1000
    max_queued_jobs: int = 100
    max_job_bytes: int = 100 * MB
    job_ttl_s: float = 86400.0
    job_lease_s: float = 30.0
    #: The job store shared by every replica (Redis); None: SQLite in data_dir.
    jobs_url: str | None = None
    #: What each slot's engine is built with (preset, preprocessing, threads per slot, limits).
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        _positive("port", self.port, upper=65535)
        _positive("workers", self.workers)
        for name in ("slots", "threads", "queue_size"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value, allow_zero=name == "queue_size")
        _positive("max_upload_bytes", self.max_upload_bytes)
        _positive("max_batch_images", self.max_batch_images)
        _positive("max_pages", self.max_pages)
        if self.cache_mb < 0:
            raise ConfigError(f"cache_mb must be >= 0 (0 disables the cache), got {self.cache_mb}")
        if self.cache_ttl_s <= 0:
            raise ConfigError(f"cache_ttl_s must be > 0, got {self.cache_ttl_s}")
        _positive("cache_max_entry_bytes", self.cache_max_entry_bytes)
        if self.request_timeout_s <= 0 or self.graceful_timeout_s < 0:
            raise ConfigError("request_timeout_s must be > 0 and graceful_timeout_s >= 0")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"unknown log level {self.log_level!r}; valid: {', '.join(LOG_LEVELS)}"
            )
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("api_key is set but empty; unset CPUOCR_API_KEY to disable the key")
        if self.api_key is not None and not all(" " <= c <= "~" for c in self.api_key):
            # An HTTP header carries ASCII; a key with any other character could never be sent,
            # and every request would get 401. The key itself is never printed.
            raise ConfigError(
                "api_key must be printable ASCII (letters, digits, punctuation): HTTP clients "
                "cannot send other characters in the X-API-Key header"
            )
        for host in self.trusted_hosts or ():
            if not host or any(c.isspace() or c in "/@" for c in host):
                raise ConfigError(f"trusted_hosts: {host!r} is not a host name")
        for name in ("max_job_pages", "max_queued_jobs", "max_job_bytes"):
            _positive(name, getattr(self, name))
        if self.job_ttl_s <= 0 or self.job_lease_s <= 0:
            raise ConfigError("job_ttl_s and job_lease_s must be > 0")

    # -- derived values ----------------------------------------------------------------------

    @property
    def preset(self) -> str:
        return self.engine.preset

    @property
    def device(self) -> str:
        """Where each slot's models run: cpu, cuda or cuda:N."""
        return self.engine.runtime.device

    @property
    def threads(self) -> int | None:
        """Threads of each slot's engine (``None`` until :meth:`resolved`, unless set)."""
        return self.engine.runtime.threads

    @property
    def max_pixels(self) -> int:
        return self.engine.max_pixels

    @property
    def max_request_bytes(self) -> int:
        """Body limit of a single-image request: the image, base64's 4/3 growth and some room
        for multipart headers and form fields."""
        return math.ceil(self.max_upload_bytes * 4 / 3) + 64 * 1024

    @property
    def max_batch_request_bytes(self) -> int:
        """Body limit of a batch request: every image at the byte limit would be too much memory,
        so a batch may carry at most four images' worth of bytes."""
        return 4 * self.max_request_bytes

    @property
    def max_job_request_bytes(self) -> int:
        """Body limit of ``POST /jobs`` (multipart, no base64): the files and room for headers
        and form fields."""
        return self.max_job_bytes + 256 * 1024

    @property
    def cache_bytes(self) -> int:
        return int(self.cache_mb * MB)

    @property
    def allowed_hosts(self) -> tuple[str, ...] | None:
        """The Host header names this server answers (lower case, no port, no brackets), or
        ``None`` for any. Unless set, a server bound to a loopback address answers only
        :data:`LOOPBACK_HOSTS`, and one bound to any other address answers every name."""
        hosts = self.trusted_hosts
        if not hosts:  # unset (or set to nothing)
            return LOOPBACK_HOSTS if is_loopback(self.host) else None
        if "*" in hosts:
            return None
        return tuple(normalize_host(h) for h in hosts)

    def resolved(self, cores: int | None = None) -> ServeConfig:
        """Fill in slots, threads and queue_size so that slots × threads fit this worker's cores,
        and give the engine the upload limit as its file-size limit.

        Two threads per slot is the sweet spot we measured for latency on small CPUs; a 2-core
        worker therefore gets one slot of two threads. The queue holds two requests per slot and
        four more, so a short burst waits instead of failing, while a flood gets 503 quickly.
        """
        per_worker = max(1, (cores if cores is not None else available_cores()) // self.workers)
        if self.slots is not None:
            slots = self.slots
        elif self.threads is not None:
            slots = max(1, per_worker // self.threads)
        else:
            slots = max(1, per_worker // 2)
        threads = self.threads if self.threads is not None else max(1, per_worker // slots)
        if slots * threads > per_worker:
            log.warning(
                "slots × threads = %d × %d exceeds the %d cores of this worker; requests will "
                "contend for CPU",
                slots,
                threads,
                per_worker,
            )
        queue_size = self.queue_size if self.queue_size is not None else 2 * slots + 4
        engine = dataclasses.replace(
            self.engine.with_threads(threads), max_bytes=self.max_upload_bytes
        )
        return dataclasses.replace(self, slots=slots, queue_size=queue_size, engine=engine)

    # -- sources -----------------------------------------------------------------------------

    @classmethod
    def from_sources(
        cls, args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
    ) -> ServeConfig:
        """Flag (when given) > ``CPUOCR_*`` variable (when set and not empty) > default. The
        engine's flags are handed to :meth:`EngineConfig.from_env`, which reads its variables."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        engine_flags: dict[str, Any] = {}
        for setting in SETTINGS:
            flag_value = getattr(args, setting.field, None) if args is not None else None
            if setting.engine:
                if flag_value is not None:
                    engine_flags[setting.field] = setting.convert(flag_value, setting.flag)
                continue
            if flag_value is not None:
                values[setting.field] = setting.convert(flag_value, setting.flag)
                continue
            raw = env.get(setting.env)
            if raw is not None and raw.strip() != "":
                values[setting.field] = setting.convert(raw, setting.env)
        values.setdefault("data_dir", default_data_dir(env))
        return cls(**values, engine=EngineConfig.from_env(env, **engine_flags))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServeConfig:
        return cls.from_sources(None, environ)


def default_data_dir(env: Mapping[str, str]) -> str:
    """Where the service keeps its jobs unless told: ``$XDG_DATA_HOME/cpuocr`` (the XDG base
    directory rule, when the variable is an absolute path), else ``$HOME/.local/share/cpuocr``
    (``~`` as the system knows it when HOME is unset)."""
    xdg = env.get("XDG_DATA_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "cpuocr")
    home = env.get("HOME", "").strip() or os.path.expanduser("~")
    return os.path.join(home, ".local", "share", "cpuocr")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves only this machine (127.0.0.0/8, ::1, localhost)."""
    name = normalize_host(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalize_host(value: str) -> str:
    """``Example.COM:5000`` → ``example.com``; ``[::1]:5000`` → ``::1``; a trailing dot dropped."""
    text = value.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end > 0 else text
    if text.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def _positive(
    name: str, value: float, *, upper: float | None = None, allow_zero: bool = False
) -> None:
    if value < 0 or (value == 0 and not allow_zero) or (upper is not None and value > upper):
        bound = f" and <= {upper:g}" if upper is not None else ""
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}{bound}, got {value}")


# -- the table of settings ---------------------------------------------------------------------


def _int(raw: Any, source: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{source}: expected an integer, got {raw!r}") from None


def _float(raw: Any, source: str) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{source}: expected a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{source}: expected a finite number, got {raw!r}")
    return value


def _mb_to_bytes(raw: Any, source: str) -> int:
    return round(_float(raw, source) * MB)


def _str(raw: Any, source: str) -> str:
    return str(raw).strip()


def parse_bool(raw: Any, source: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); anything else is an error naming ``source``."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{source}: expected true or false, got {raw!r}")


def _origins(raw: Any, source: str) -> tuple[str, ...]:
    if isinstance(raw, tuple):
        return raw
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def convert(raw: Any, source: str) -> str:
        text = str(raw).strip().lower()
        if text not in choices:
            raise ConfigError(f"{source}: unknown value {raw!r}; valid: {', '.join(choices)}")
        return text

    return convert


@dataclass(frozen=True)
class Setting:
    field: str  # of ServeConfig; for an engine setting, the EngineConfig.from_env override
    flag: str
    env: str
    convert: Callable[[Any, str], Any]
    help: str
    metavar: str | None = None
    render: Callable[[Any], str] = str
    # The engine's: its variable is read by EngineConfig.from_env, its value kept in .engine.
    engine: bool = False


def _render_mb(value: Any) -> str:
    return repr(value / MB)


def _render_bool(value: Any) -> str:
    return "true" if value else "false"


def _render_origins(value: Any) -> str:
    return ",".join(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "--host", "CPUOCR_HOST", _str,
            "interface to bind; 127.0.0.1 keeps the service private to this machine, "
            "use 0.0.0.0 to serve the network (the Docker image does)"),
    Setting("port", "--port", "CPUOCR_PORT", _int, "TCP port"),
    Setting("workers", "--workers", "CPUOCR_WORKERS", _int,
            "worker processes (each loads its own models and splits the cores)"),
    Setting("preset", "--preset", PRESET_ENV, _str, "model preset (default, fast, ...)",
            engine=True),
    Setting("slots", "--slots", "CPUOCR_SLOTS", _int,
            "concurrent inferences per worker (default: derived from the cores)"),
    Setting("threads", "--threads", THREADS_ENV, _int,
            "ONNX Runtime threads per slot (default: cores / slots)", engine=True),
    Setting("device", "--device", DEVICE_ENV, _str, DEVICE_HELP, engine=True),
    Setting("queue_size", "--queue-size", "CPUOCR_QUEUE_SIZE", _int,
            "requests that may wait for a slot before new ones get 503 (default: 2 x slots + 4)"),
    Setting("max_upload_bytes", "--max-upload-mb", "CPUOCR_MAX_UPLOAD_MB", _mb_to_bytes,
            "largest image file accepted, in MB", "MB", _render_mb),
    Setting("max_pixels", "--max-pixels", MAX_PIXELS_ENV, _int,
            "largest image accepted, in pixels (width x height, read from the header)",
            engine=True),
    Setting("max_batch_images", "--max-batch", "CPUOCR_MAX_BATCH", _int,
            "most images in one /ocr/batch request"),
    Setting("max_pages", "--max-pages", "CPUOCR_MAX_PAGES", _int,
            "most pages of one document (PDF, TIFF) read in one request"),
    Setting("cache_mb", "--cache-mb", "CPUOCR_CACHE_MB", _float,
            "result cache size in MB (0 disables it)", "MB"),
    Setting("cache_url", "--cache-url", "CPUOCR_CACHE_URL", check_url,
            "result cache shared by every replica: redis://[:PASSWORD@]HOST:PORT/DB (needs "
            "cpuocr[redis]; replaces the in-process cache; prefer the variable when the URL holds "
            "a password)", "URL"),
    Setting("cache_ttl_s", "--cache-ttl", "CPUOCR_CACHE_TTL", _float,
            "seconds an answer stays in the shared cache", "SECONDS"),
    Setting("cache_max_entry_bytes", "--cache-max-entry-mb", "CPUOCR_CACHE_MAX_ENTRY_MB",
            _mb_to_bytes, "largest answer stored in the shared cache, in MB (compressed)", "MB",
            _render_mb),
    Setting("request_timeout_s", "--request-timeout", "CPUOCR_REQUEST_TIMEOUT", _float,
            "seconds a request may wait and run before it is answered 503", "SECONDS"),
    Setting("graceful_timeout_s", "--graceful-timeout", "CPUOCR_GRACEFUL_TIMEOUT", _float,
            "seconds to let in-flight requests finish after SIGTERM", "SECONDS"),
    Setting("api_key", "--api-key", "CPUOCR_API_KEY", _str,
            "require this key in the X-API-Key header (prefer the variable: flags show in ps)"),
    Setting("cors_origins", "--cors-origins", "CPUOCR_CORS_ORIGINS", _origins,
            "comma-separated origins allowed by CORS (default: none, CORS off); POSTs from other "
            "web origins are refused", "ORIGINS", _render_origins),
    Setting("trusted_hosts", "--trusted-hosts", "CPUOCR_TRUSTED_HOSTS", _origins,
            "comma-separated Host header names answered (*.example.com matches subdomains, "
            "* any); others get 403 (default: localhost,127.0.0.1,::1 when bound to a loopback "
            "address, which defeats DNS rebinding; any name otherwise)", "HOSTS",
            _render_origins),
    Setting("log_level", "--log-level", "CPUOCR_LOG_LEVEL", _choice(LOG_LEVELS), "log level"),
    Setting("warmup", "--warmup", "CPUOCR_WARMUP", parse_bool,
            "run one tiny inference per slot at start-up (true/false)", "BOOL", _render_bool),
    Setting("data_dir", "--data-dir", "CPUOCR_DATA_DIR", _str,
            "directory of the job store (jobs.sqlite3 and the jobs' input files), created on "
            "the first job (default: $XDG_DATA_HOME/cpuocr, else ~/.local/share/cpuocr)", "DIR"),
    Setting("max_job_pages", "--max-job-pages", "CPUOCR_MAX_JOB_PAGES", _int,
            "most pages one job (POST /jobs, all its files) may read; counted at submit"),
    Setting("max_queued_jobs", "--max-queued-jobs", "CPUOCR_MAX_QUEUED_JOBS", _int,
            "jobs that may wait before new ones get 503"),
    Setting("max_job_bytes", "--max-job-mb", "CPUOCR_MAX_JOB_MB", _mb_to_bytes,
            "largest upload of one job (all its files), in MB", "MB", _render_mb),
    Setting("job_ttl_s", "--job-ttl", "CPUOCR_JOB_TTL", _float,
            "seconds a finished job and its results are kept", "SECONDS"),
    Setting("jobs_url", "--jobs-url", "CPUOCR_JOBS_URL", check_url,
            "job store shared by every replica: redis://[:PASSWORD@]HOST:PORT/DB (needs "
            "cpuocr[redis]; replaces the SQLite store of --data-dir; any replica accepts, runs and "
            "answers a job)", "URL"),
    Setting("job_lease_s", "--job-lease", "CPUOCR_JOB_LEASE", _float,
            "seconds a job stays with a worker that stopped reporting (a killed process) before "
            "another takes it over", "SECONDS"),
)  # fmt: skip
