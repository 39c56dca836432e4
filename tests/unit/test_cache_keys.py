"""The shared result cache's keys and entries (no Redis needed): what goes into a key, what
the engine identity tells apart, how an answer is stored, the settings, a Redis not there."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cpuocr._engine.config import EngineConfig
from cpuocr._engine.runtime import RuntimeConfig
from cpuocr._serving.cache import CacheKey, engine_identity
from cpuocr._serving.cache_redis import (
    RedisCache,
    decode_answer,
    encode_answer,
    redis_key,
)
from cpuocr._serving.config import ServeConfig
from cpuocr._serving.metrics import Metrics
from cpuocr._serving.redis_client import check_url, redact
from cpuocr.errors import ConfigError

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (CacheKey(SHA, True, "auto"), f"cpuocr:answer:v1:ENGINE:{SHA}:1:auto"),
        (CacheKey(SHA, False, "auto"), f"cpuocr:answer:v1:ENGINE:{SHA}:0:auto"),
        (CacheKey(SHA, True, "classic"), f"cpuocr:answer:v1:ENGINE:{SHA}:1:classic"),
        (CacheKey(SHA, True, "none"), f"cpuocr:answer:v1:ENGINE:{SHA}:1:none"),
    ],
)
def test_redis_key_holds_the_engine_the_image_and_every_option(
    key: CacheKey, expected: str
) -> None:
    assert redis_key("ENGINE", key) == expected


def test_cache_key_is_the_tuple_the_local_cache_used() -> None:
    key = CacheKey(SHA, True, "auto")
    assert key == (SHA, True, "auto") and hash(key) == hash((SHA, True, "auto"))
    assert key.image_sha256 == SHA and key.det is True and key.preprocess == "auto"


def test_engine_identity_is_stable_and_32_hex_characters() -> None:
    first = engine_identity(EngineConfig())
    assert first == engine_identity(EngineConfig())
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)


@pytest.mark.parametrize(
    "changed",
    [
        EngineConfig(preset="fast"),
        EngineConfig(use_cls=False),
        EngineConfig(drop_score=0.6),
        EngineConfig(second_look_below=0.0),
        EngineConfig(runtime=RuntimeConfig(backend="openvino")),
        EngineConfig(runtime=RuntimeConfig(precision="int8")),
        EngineConfig(detection=dataclasses.replace(EngineConfig().detection, unclip_ratio=2.0)),
        EngineConfig(recognition=dataclasses.replace(EngineConfig().recognition, decode_margin=0)),
    ],
    ids=["preset", "cls", "drop", "second-look", "backend", "precision", "unclip", "margin"],
)
def test_engine_identity_changes_with_what_changes_a_reading(changed: EngineConfig) -> None:
    assert engine_identity(changed) != engine_identity(EngineConfig())


@pytest.mark.parametrize(
    "same",
    [
        EngineConfig(runtime=RuntimeConfig(threads=7)),
        EngineConfig(max_pixels=1000),
        EngineConfig(max_bytes=10),
        EngineConfig(model_dir=Path("/elsewhere")),
        EngineConfig(preprocess="none"),  # the key holds each request's mode
    ],
    ids=["threads", "max-pixels", "max-bytes", "model-dir", "default-preprocess"],
)
def test_engine_identity_ignores_what_never_changes_a_reading(same: EngineConfig) -> None:
    assert engine_identity(same) == engine_identity(EngineConfig())


def test_engine_identity_reads_custom_model_files_by_content(tmp_path: Path) -> None:
    a, b, a_copy = tmp_path / "a.onnx", tmp_path / "b.onnx", tmp_path / "elsewhere.onnx"
    a.write_bytes(b"model one")
    b.write_bytes(b"model two")
    a_copy.write_bytes(b"model one")
    with_a = engine_identity(EngineConfig(rec_model=a))
    assert with_a != engine_identity(EngineConfig())
    assert with_a != engine_identity(EngineConfig(rec_model=b))
    assert with_a == engine_identity(EngineConfig(rec_model=a_copy))  # the path does not matter
    charset = tmp_path / "keys.txt"
    charset.write_text("a\nb\n")
    assert engine_identity(EngineConfig(rec_model=a, rec_charset=charset)) != with_a


def test_small_answers_are_stored_as_json_and_large_ones_compressed() -> None:
    small = {"success": True, "text": ["发票"], "cached": False}
    data = encode_answer(small)
    assert data[:1] == b"j" and decode_answer(data) == small
    large = {"text": [f"第 {i} 行 line {i}" for i in range(300)], "lines": []}
    packed = encode_answer(large)
    assert packed[:1] == b"z" and decode_answer(packed) == large
    assert len(packed) < len(encode_answer(small)) + len(str(large)) // 3


@pytest.mark.parametrize("bad", [b"", b"x{}", b"j[1, 2]", b"jnot json", b"z\x00\x01", "j{}"])
def test_entries_that_are_not_answers_are_refused(bad: bytes | str) -> None:
    with pytest.raises(ValueError):
        decode_answer(bad)


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "redis://:secret@cache.internal:6380/2", "rediss://h/1",
     "unix:///run/redis.sock"],
)  # fmt: skip
def test_redis_urls_are_accepted(url: str) -> None:
    assert check_url(f"  {url} ", "--cache-url") == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "", "memcached://x"])
def test_other_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="--cache-url: expected a Redis URL"):
        check_url(url, "--cache-url")


def test_passwords_never_reach_a_log_line() -> None:
    assert redact("redis://:s3cret@cache:6380/2") == "redis://:***@cache:6380/2"
    assert redact("redis://user:s3cret@[::1]/0") == "redis://user:***@[::1]/0"
    assert redact("redis://cache:6379/0") == "redis://cache:6379/0"
    with pytest.raises(ConfigError) as info:
        check_url("http://:s3cret@cache", "CPUOCR_CACHE_URL")
    assert "s3cret" not in str(info.value)


def test_cache_settings_from_flags_and_variables() -> None:
    env = {
        "CPUOCR_CACHE_URL": "redis://127.0.0.1:6379/3",
        "CPUOCR_CACHE_TTL": "60",
        "CPUOCR_CACHE_MAX_ENTRY_MB": "0.5",
    }
    config = ServeConfig.from_env(env)
    assert config.cache_url == "redis://127.0.0.1:6379/3"
    assert config.cache_ttl_s == 60.0 and config.cache_max_entry_bytes == 512 * 1024
    defaults = ServeConfig.from_env({})
    assert defaults.cache_url is None and defaults.cache_ttl_s == 86400.0
    assert defaults.cache_max_entry_bytes == 1024 * 1024
    with pytest.raises(ConfigError, match="CPUOCR_CACHE_URL"):
        ServeConfig.from_env({"CPUOCR_CACHE_URL": "localhost:6379"})
    with pytest.raises(ConfigError, match="cache_ttl_s"):
        ServeConfig.from_env({"CPUOCR_CACHE_TTL": "0"})


def test_the_jobs_url_setting() -> None:
    assert ServeConfig.from_env({}).jobs_url is None
    config = ServeConfig.from_env({"CPUOCR_JOBS_URL": "redis://:pw@10.0.0.5:6379/1"})
    assert config.jobs_url == "redis://:pw@10.0.0.5:6379/1"
    with pytest.raises(ConfigError, match="CPUOCR_JOBS_URL: expected a Redis URL"):
        ServeConfig.from_env({"CPUOCR_JOBS_URL": "sqlite:///tmp/jobs"})


def test_import_and_serve_help_need_no_redis_package() -> None:
    code = (
        "import sys, cpuocr, cpuocr._serving.app, cpuocr._serving.cli;"
        "from cpuocr._serving.config import ServeConfig;"
        "from cpuocr._serving.service import build_cache;"
        "from cpuocr._serving.metrics import Metrics;"
        "build_cache(ServeConfig(), Metrics());"
        "assert 'redis' not in sys.modules, sorted(m for m in sys.modules if 'redis' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("flag", ["--cache-url", "--jobs-url"])
def test_a_redis_url_without_the_redis_package_stops_serve_with_the_install_line(
    flag: str,
) -> None:
    code = (
        "import sys; sys.modules['redis'] = None  # as if it were not installed\n"
        "from cpuocr._cli.main import main\n"
        f"sys.exit(main(['serve', '{flag}', 'redis://127.0.0.1:1/0']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "needs the redis package" in done.stderr
    assert 'pip install "cpuocr[redis]"' in done.stderr and flag in done.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is: nobody listens


def test_a_redis_that_is_not_there_is_a_fast_miss_then_left_alone() -> None:
    metrics = Metrics()
    cache = RedisCache(
        f"redis://127.0.0.1:{_closed_port()}/0",
        identity="e",
        ttl_s=60,
        max_entry_bytes=1024,
        metrics=metrics,
        retry_after_s=30,
    )
    keys = [CacheKey(SHA, True, "auto"), CacheKey(SHA, False, "auto")]
    started = time.monotonic()
    assert cache.get_many(keys) == [None, None]
    assert cache.get_many(keys) == [None, None]  # resting: Redis not even tried
    cache.put(keys[0], {"text": []})  # dropped while resting, never raises
    assert time.monotonic() - started < 2.0
    text = metrics.render().decode()
    assert 'cpuocr_cache_errors_total{op="get"} 1.0' in text
    assert "cpuocr_cache_up 0.0" in text
    cache.close()
