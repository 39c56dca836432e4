"""The Redis client of the shared result cache and the shared job store, imported lazily.

``import cpuocr`` and ``cpuocr serve`` without a Redis URL never import ``redis``; a URL without the
package installed fails at start-up with the line that installs it. Clients are built with short
socket timeouts and no retries: a Redis that is down or slow must cost a request a few hundred
milliseconds at most, never a stall (the cache then skips Redis for a while, see
:class:`.cache_redis.RedisCache`).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError

if TYPE_CHECKING:
    import redis

INSTALL_HINT = 'pip install "cpuocr[redis]"'
SCHEMES = ("redis", "rediss", "unix")


def redis_module(purpose: str) -> ModuleType:
    """The ``redis`` package, or a :class:`ConfigError` that names the install command."""
    try:
        import redis
    except ImportError:
        raise ConfigError(
            f"{purpose} needs the redis package, which is not installed: {INSTALL_HINT}"
        ) from None
    return redis


def check_url(raw: Any, source: str) -> str:
    """A Redis URL (``redis://[:password@]host[:port][/db]``, ``rediss://`` or ``unix://``)."""
    text = str(raw).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in SCHEMES:
        raise ConfigError(
            f"{source}: expected a Redis URL (redis://host:port/db, rediss://..., unix://...), "
            f"got {redact(text)!r}"
        )
    return text


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for logs and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def client_errors() -> tuple[type[BaseException], ...]:
    """What a Redis command may raise when the server is down, slow or answers nonsense."""
    module = redis_module("a Redis URL")
    return (module.RedisError, OSError)


def connect(url: str, *, timeout_s: float, purpose: str) -> redis.Redis:
    """A client of ``url`` that waits at most ``timeout_s`` to connect and per command, and does
    not retry (the callers decide what a failure means). Connecting is lazy: this never fails
    because the server is down."""
    module = redis_module(purpose)
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client: redis.Redis = module.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return client
