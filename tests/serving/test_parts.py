"""The serving parts on their own: config, cache, inference pool, body parsing,
metrics registries and the ``serve`` flags. No server process; no models."""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import typing
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from cpuocr import errors as engine_errors
from cpuocr._deadline import Deadline
from cpuocr._engine.config import EngineConfig
from cpuocr._engine.imaging import DEFAULT_MAX_PIXELS
from cpuocr._engine.preprocess import MODES
from cpuocr._engine.runtime import RuntimeConfig
from cpuocr._serving import create_app
from cpuocr._serving.cache import ResultCache
from cpuocr._serving.cli import add_serve_arguments
from cpuocr._serving.config import SETTINGS, ServeConfig
from cpuocr._serving.errors import (
    BadRequest,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
)
from cpuocr._serving.inference import InferencePool
from cpuocr._serving.inputs import (
    MAX_TEXT_FIELD_BYTES,
    BodyLimitMiddleware,
    UploadGate,
    parse_request,
    read_body,
)
from cpuocr._serving.metrics import Metrics
from cpuocr._serving.schemas import PreprocessMode

MB = 1024 * 1024

# -- config ------------------------------------------------------------------------------------


def test_defaults() -> None:
    cfg = ServeConfig()
    assert (cfg.host, cfg.port, cfg.workers) == ("127.0.0.1", 5000, 1)
    assert cfg.max_upload_bytes == 20 * MB and cfg.max_pixels == DEFAULT_MAX_PIXELS
    assert cfg.cache_mb == 64 and cfg.api_key is None and cfg.cors_origins == ()
    assert cfg.engine == EngineConfig() and cfg.preset == "default" and cfg.threads is None


def test_flags_win_over_environment_and_environment_over_defaults() -> None:
    env = {"CPUOCR_PORT": "6000", "CPUOCR_CACHE_MB": "8", "CPUOCR_API_KEY": "k", "CPUOCR_HOST": ""}
    args = argparse.Namespace(port="7000")
    cfg = ServeConfig.from_sources(args, env)
    assert cfg.port == 7000
    assert cfg.cache_mb == 8.0 and cfg.cache_bytes == 8 * MB
    assert cfg.api_key == "k"
    assert cfg.host == "127.0.0.1"  # an empty variable counts as unset


def test_engine_settings_keep_flag_over_environment_over_default() -> None:
    env = {
        "CPUOCR_PRESET": "fast",
        "CPUOCR_THREADS": "3",
        "CPUOCR_MAX_PIXELS": "5000",
        "CPUOCR_PREPROCESS": "none",
        "CPUOCR_MODEL_DIR": "/opt/models",
    }
    from_env = ServeConfig.from_sources(argparse.Namespace(), env)
    assert (from_env.preset, from_env.threads, from_env.max_pixels) == ("fast", 3, 5000)
    assert from_env.engine.preprocess == "none"  # a variable only: no serve flag
    assert str(from_env.engine.model_dir) == "/opt/models"
    flags = argparse.Namespace(preset="int8", threads="2", max_pixels="7000")
    cfg = ServeConfig.from_sources(flags, env)
    assert (cfg.preset, cfg.threads, cfg.max_pixels) == ("int8", 2, 7000)
    assert cfg.engine.preprocess == "none"
    default = ServeConfig.from_sources(argparse.Namespace(), {})
    assert default.engine == EngineConfig()


def test_the_engine_config_is_resolved_with_the_slot_threads_and_upload_limit() -> None:
    cfg = ServeConfig(max_upload_bytes=3 * MB).resolved(cores=4)
    assert cfg.engine.runtime.threads == cfg.threads == 2
    assert cfg.engine.max_bytes == 3 * MB


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CPUOCR_PORT": "http"}, "CPUOCR_PORT"),
        ({"CPUOCR_PORT": "70000"}, "port"),
        ({"CPUOCR_SLOTS": "0"}, "slots"),
        ({"CPUOCR_CACHE_MB": "-1"}, "cache_mb"),
        ({"CPUOCR_WARMUP": "perhaps"}, "CPUOCR_WARMUP"),
        ({"CPUOCR_LOG_LEVEL": "loud"}, "valid"),
        ({"CPUOCR_MAX_UPLOAD_MB": "nan"}, "CPUOCR_MAX_UPLOAD_MB"),
        ({"CPUOCR_THREADS": "two"}, "CPUOCR_THREADS"),
        ({"CPUOCR_THREADS": "0"}, "threads"),
        ({"CPUOCR_PRESET": "huge"}, "valid presets"),
        ({"CPUOCR_PREPROCESS": "sharpen"}, "valid modes"),
        ({"CPUOCR_MAX_PIXELS": "0"}, "max_pixels"),
    ],
)
def test_bad_values_fail_loudly(env: dict[str, str], needle: str) -> None:
    with pytest.raises(engine_errors.ConfigError, match=needle):
        ServeConfig.from_env(env)


def test_every_setting_round_trips_through_its_flag() -> None:
    """What the help shows as a default (``render``) reads back as the same value."""
    cfg = ServeConfig(
        host="0.0.0.0",
        port=5123,
        workers=2,
        slots=3,
        queue_size=0,
        max_upload_bytes=5 * MB + 17,
        max_batch_images=4,
        cache_mb=0.5,
        cache_url="redis://:pw@127.0.0.1:6379/1",
        cache_ttl_s=120.5,
        cache_max_entry_bytes=2 * MB,
        request_timeout_s=2.5,
        graceful_timeout_s=0,
        api_key="secret",
        cors_origins=("http://a.example", "http://b.example"),
        log_level="debug",
        warmup=False,
        data_dir="/srv/cpuocr data",
        max_job_pages=7,
        max_queued_jobs=3,
        max_job_bytes=3 * MB + 5,
        job_ttl_s=60.5,
        job_lease_s=4.0,
        jobs_url="redis://127.0.0.1:6379/2",
        engine=EngineConfig(
            preset="fast", max_pixels=1234, runtime=RuntimeConfig(threads=1, device="cuda:1")
        ),
    )
    values = {s.field: (s, getattr(cfg, s.field)) for s in SETTINGS}
    flags = {name: s.render(value) for name, (s, value) in values.items() if value is not None}
    assert ServeConfig.from_sources(argparse.Namespace(**flags), {}) == cfg
    serve_fields = {s.field for s in SETTINGS if not s.engine} | {"engine"}
    assert serve_fields == set(ServeConfig.__dataclass_fields__)
    engine_fields = {s.field for s in SETTINGS if s.engine}
    assert engine_fields == {"preset", "threads", "device", "max_pixels"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_DATA_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/cpuocr"),
        ({"XDG_DATA_HOME": "relative", "HOME": "/home/u"}, "/home/u/.local/share/cpuocr"),
        ({"HOME": "/home/u"}, "/home/u/.local/share/cpuocr"),
        ({"HOME": "/home/u", "CPUOCR_DATA_DIR": "/data"}, "/data"),
    ],
)
def test_the_data_directory_follows_xdg(env: dict[str, str], expected: str) -> None:
    assert ServeConfig.from_env(env).data_dir == expected
    assert ServeConfig().data_dir is None  # built in code: jobs are off unless given one


@pytest.mark.parametrize(
    ("cores", "workers", "slots", "threads", "expect"),
    [
        (1, 1, None, None, (1, 1)),
        (2, 1, None, None, (1, 2)),
        (4, 1, None, None, (2, 2)),
        (8, 1, None, None, (4, 2)),
        (8, 2, None, None, (2, 2)),
        (8, 1, 8, None, (8, 1)),
        (8, 1, None, 4, (2, 4)),
    ],
)
def test_slots_times_threads_fit_the_cores(
    cores: int, workers: int, slots: int | None, threads: int | None, expect: tuple[int, int]
) -> None:
    engine = EngineConfig(runtime=RuntimeConfig(threads=threads))
    cfg = ServeConfig(workers=workers, slots=slots, engine=engine).resolved(cores)
    assert (cfg.slots, cfg.threads) == expect
    assert cfg.slots is not None and cfg.threads is not None
    assert cfg.slots * cfg.threads <= max(1, cores // workers)
    assert cfg.queue_size == 2 * cfg.slots + 4


def test_serve_help_lists_every_flag_and_variable() -> None:
    parser = argparse.ArgumentParser(prog="cpuocr serve")
    add_serve_arguments(parser)
    text = parser.format_help()
    for setting in SETTINGS:
        assert setting.flag in text and setting.env in text
    args = parser.parse_args(["--port", "5050", "--cors-origins", "http://x.example"])
    cfg = ServeConfig.from_sources(args, {})
    assert cfg.port == 5050 and cfg.cors_origins == ("http://x.example",)


def test_preprocess_modes_of_the_schema_match_the_engine() -> None:
    assert typing.get_args(PreprocessMode) == MODES


# -- cache -------------------------------------------------------------------------------------


def test_cache_is_an_lru_bounded_in_bytes() -> None:
    value = {"text": ["x" * 300]}
    probe = ResultCache(10_000)
    probe.put(("a", True, "auto"), value)
    entry = probe.size_bytes
    cache = ResultCache(capacity_bytes=3 * entry)
    for name in ("a", "b", "c"):
        cache.put((name, True, "auto"), value)
    assert len(cache) == 3 and cache.size_bytes == 3 * entry
    assert cache.get(("a", True, "auto")) == value  # refreshes "a"
    cache.put(("d", True, "auto"), value)
    assert cache.size_bytes <= 3 * entry
    assert cache.get(("b", True, "auto")) is None  # the least recently used went
    assert cache.get(("a", True, "auto")) == value
    assert cache.get(("a", False, "auto")) is None  # options are part of the key
    assert cache.get(("a", True, "none")) is None


def test_cache_of_zero_is_disabled_and_huge_values_are_not_stored() -> None:
    off = ResultCache(0)
    off.put(("a", True, "auto"), {"text": []})
    assert not off.enabled and off.get(("a", True, "auto")) is None and len(off) == 0
    small = ResultCache(100)
    small.put(("a", True, "auto"), {"text": ["y" * 1000]})
    assert len(small) == 0


# -- inference pool ----------------------------------------------------------------------------


def _sleeper(seconds: float) -> typing.Callable[[object, Deadline], str]:
    def work(engine: object, deadline: Deadline) -> str:
        time.sleep(seconds)
        return f"done by {engine}"

    return work


def test_pool_refuses_at_once_when_slots_and_queue_are_full() -> None:
    async def scenario() -> tuple[list[Any], float]:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=1, timeout_s=10)
        tasks = [asyncio.create_task(pool.run(_sleeper(0.3))) for _ in range(2)]
        await asyncio.sleep(0.05)  # one running, one waiting
        started = time.perf_counter()
        with pytest.raises(Overloaded) as info:
            await pool.run(_sleeper(0))
        refused_in = time.perf_counter() - started
        assert info.value.headers["Retry-After"].isdigit()
        with pytest.raises(Overloaded):
            pool.admit()
        results = await asyncio.gather(*tasks)
        pool.admit().release()  # room again
        pool.close()
        return results, refused_in

    results, refused_in = asyncio.run(scenario())
    assert results == ["done by e0", "done by e0"]
    assert refused_in < 0.05


def test_pool_admission_promises_a_place_until_it_is_used_or_released() -> None:
    """Places are promised at admission (before the body is read): with 1 slot + 1 queue place,
    two admitted requests whose bodies are still arriving fill the pool, a third is refused at
    once, and a promised request is never refused when it reaches run()."""

    async def scenario() -> list[str]:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=1, timeout_s=10)
        first, second = pool.admit(), pool.admit()
        assert pool.room == 0
        with pytest.raises(Overloaded):
            pool.admit()
        second.release()
        second.release()  # twice is harmless
        assert pool.room == 1
        with pool.admit() as third:
            assert pool.room == 0
            running = asyncio.create_task(pool.run(_sleeper(0.2), first))
            await asyncio.sleep(0.05)  # first runs; its promise became the slot
            assert pool.busy == 1 and pool.room == 0
            results = await asyncio.gather(running, pool.run(_sleeper(0), third))
        assert pool.room == 2  # both done, nothing promised
        with pool.admit():
            pass  # a request that never ran (bad upload, cache hit) gives its place back
        assert pool.room == 2
        pool.close()
        return results

    assert asyncio.run(scenario()) == ["done by e0", "done by e0"]


def test_pool_never_runs_more_than_its_slots_and_serves_in_order() -> None:
    running = 0
    peak = 0
    order: list[int] = []
    lock = threading.Lock()

    def work_for(i: int) -> typing.Callable[[str, Deadline], int]:
        def work(engine: str, deadline: Deadline) -> int:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
                order.append(i)
            time.sleep(0.02)
            with lock:
                running -= 1
            return i

        return work

    async def scenario() -> list[int]:
        pool: InferencePool[str] = InferencePool(["a", "b"], queue_size=20, timeout_s=10)
        tasks = []
        for i in range(12):
            tasks.append(asyncio.create_task(pool.run(work_for(i))))
            await asyncio.sleep(0)  # queue them in order
        out = await asyncio.gather(*tasks)
        pool.close()
        return list(out)

    assert asyncio.run(scenario()) == list(range(12))
    assert peak == 2
    assert order[:2] == [0, 1] and sorted(order) == list(range(12))


def test_pool_timeout_keeps_the_slot_until_the_thread_really_ends() -> None:
    async def scenario() -> None:
        metrics = Metrics()
        pool: InferencePool[str] = InferencePool(
            ["only"], queue_size=2, timeout_s=0.1, metrics=metrics
        )
        with pytest.raises(Overloaded) as info:
            await pool.run(_sleeper(0.4))
        assert info.value.code == "timeout"
        assert pool.busy == 1  # still running in its thread
        # a waiter behind it times out in the queue too
        with pytest.raises(Overloaded):
            await pool.run(_sleeper(0))
        await asyncio.sleep(0.5)
        assert pool.busy == 0
        assert await pool.run(_sleeper(0)) == "done by only"
        text = metrics.render().decode()
        assert 'cpuocr_rejected_total{reason="timeout"} 2.0' in text
        pool.close()

    asyncio.run(scenario())


def test_peek_lets_a_request_look_in_the_cache_without_holding_a_place() -> None:
    """Issue 10.8: with the queue full, a small request is still read (its answer may be cached);
    it holds no place, and is refused only if it needs to run and there is still no room."""

    async def scenario() -> None:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=0, timeout_s=10)
        held = pool.admit()
        assert pool.room == 0
        with pytest.raises(Overloaded):
            pool.check_room()
        with pytest.raises(Overloaded):
            pool.admit()
        peek = pool.admit(peek=True)  # let in, no place promised
        assert pool.room == 0
        with pytest.raises(Overloaded):
            peek.confirm()
        late = pool.admit(peek=True)
        held.release()  # room appears while ``late`` looks in the cache
        late.confirm()
        assert pool.room == 0
        assert await pool.run(_sleeper(0), late) == "done by e0"
        assert pool.room == 1
        pool.close()

    asyncio.run(scenario())


def test_a_timed_out_request_cancels_its_deadline_and_frees_the_slot() -> None:
    """Issue 10.1: the work of a request whose time ran out stops at its next check instead of
    holding the slot; the deadline handed to the engine is the request's."""
    checks: list[float] = []

    def long_work(engine: str, deadline: Deadline) -> str:
        for _ in range(200):  # 20 s of work in 0.1 s steps, checking in between
            checks.append(deadline.remaining())
            deadline.check("the next step")
            time.sleep(0.1)
        return "finished"

    async def scenario() -> None:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=1, timeout_s=0.3)
        started = time.perf_counter()
        with pytest.raises(Overloaded) as info:
            await pool.run(long_work)
        assert info.value.code == "timeout"
        assert int(info.value.headers["Retry-After"]) >= 1
        while pool.busy:
            await asyncio.sleep(0.02)
        assert time.perf_counter() - started < 2.0  # not 20 s
        assert await pool.run(_sleeper(0)) == "done by e0"
        pool.close()

    asyncio.run(scenario())
    assert 0.0 < checks[0] <= 0.3


def test_a_slot_busy_long_past_its_deadline_is_reported_stuck() -> None:
    """Issue 10.1: work that never reaches a deadline check (one long uncancellable step) keeps
    its slot; the pool says so, and the service's readiness (``/readyz``) turns 503 with it."""

    async def scenario() -> list[int]:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=1, timeout_s=0.1)
        pool.stuck_grace_s = 0.2
        with pytest.raises(Overloaded):
            await pool.run(_sleeper(0.8))  # ignores its deadline
        seen = [pool.stuck]
        await asyncio.sleep(0.4)
        seen.append(pool.stuck)
        while pool.busy:
            await asyncio.sleep(0.05)
        seen.append(pool.stuck)
        pool.close()
        return seen

    assert asyncio.run(scenario()) == [0, 1, 0]


def test_close_cancels_running_work_and_returns_within_its_timeout() -> None:
    def long_work(engine: str, deadline: Deadline) -> str:
        while True:
            deadline.check("the next step")
            time.sleep(0.05)

    async def scenario() -> bool:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=1, timeout_s=60)
        task = asyncio.create_task(pool.run(long_work))
        await asyncio.sleep(0.1)
        assert pool.busy == 1
        ended = pool.close(timeout_s=2.0)
        with pytest.raises(engine_errors.DeadlineExceeded):
            await task
        return ended

    started = time.perf_counter()
    assert asyncio.run(scenario()) is True
    assert time.perf_counter() - started < 2.0


def test_retry_after_grows_with_the_work_ahead() -> None:
    async def scenario() -> tuple[int, int]:
        pool: InferencePool[str] = InferencePool(["e0"], queue_size=2, timeout_s=60)
        idle = pool.retry_after_s()
        task = asyncio.create_task(pool.run(_sleeper(3.0)))
        await asyncio.sleep(2.5)  # running 2.5 s against a mean of 1 s: ~2.5 s more expected
        busy = pool.retry_after_s()
        await task
        pool.close()
        return idle, busy

    idle, busy = asyncio.run(scenario())
    assert idle == 1
    assert busy >= 3


def test_cancelled_waiter_leaves_the_queue() -> None:
    async def scenario() -> None:
        pool: InferencePool[str] = InferencePool(["x"], queue_size=1, timeout_s=10)
        first = asyncio.create_task(pool.run(_sleeper(0.2)))
        await asyncio.sleep(0.02)
        waiter = asyncio.create_task(pool.run(_sleeper(0)))
        await asyncio.sleep(0.02)
        assert pool.waiting == 1
        waiter.cancel()
        await asyncio.sleep(0)
        assert pool.waiting == 0
        await first
        assert await pool.run(_sleeper(0)) == "done by x"
        pool.close()

    asyncio.run(scenario())


# -- body parsing ------------------------------------------------------------------------------


def _request(body: bytes, content_type: str) -> Request:
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ocr",
        "headers": [(b"content-type", content_type.encode())],
    }
    return Request(scope, receive)


def _multipart(file_bytes: bytes, fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    ]
    for name, value in (fields or {}).items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _parse(body: bytes, content_type: str, config: ServeConfig, *, batch: bool = False) -> Any:
    async def scenario() -> Any:
        request = _request(body, content_type)
        await read_body(request, config, UploadGate())
        return await parse_request(request, config, batch=batch)

    return asyncio.run(scenario())


def test_multipart_image_parts_are_copied_once_and_the_body_let_go() -> None:
    # 3 MB whose bytes contain the start of the boundary line again and again: the tokenizer
    # hands those bytes back through its look-behind buffer, which must be copied, not viewed.
    payload = (bytes(range(256)) + b"\r\n--b0und") * (11 * 1024)
    body, content_type = _multipart(payload)
    request = _request(body, content_type)
    config = ServeConfig()

    async def scenario() -> Any:
        await read_body(request, config, UploadGate())
        return await parse_request(request, config, batch=False)

    parsed = asyncio.run(scenario())
    assert type(parsed.images[0].data) is bytes and parsed.images[0].data == payload
    assert not hasattr(request.state, "body")  # only the image is held from here on


def test_an_image_over_the_byte_limit_is_refused_while_parsing() -> None:
    config = ServeConfig(max_upload_bytes=1 * MB)
    body, content_type = _multipart(b"\0" * (MB + 1))
    with pytest.raises(PayloadTooLarge) as refused:
        _parse(body, content_type, config)
    assert refused.value.code == "file_too_large"
    parsed = _parse(*_multipart(b"\0" * MB), config)  # at the limit: accepted
    assert len(parsed.images[0].data) == MB


def test_multipart_form_errors() -> None:
    config = ServeConfig()
    two = (
        b"".join(
            b'--b\r\nContent-Disposition: form-data; name="image"; filename="%s.png"\r\n\r\n%s\r\n'
            % (name, name)
            for name in (b"A", b"B")
        )
        + b"--b--\r\n"
    )
    with pytest.raises(BadRequest) as refused:
        _parse(two, "multipart/form-data; boundary=b", config)
    assert refused.value.code == "too_many_files"
    batch = _parse(two, "multipart/form-data; boundary=b", config, batch=True)
    assert [i.data for i in batch.images] == [b"A", b"B"]
    with pytest.raises(BadRequest) as refused:
        _parse(b"--x\r\n\r\n", "multipart/form-data", config)
    assert refused.value.code == "bad_multipart"
    no_name = b'--b\r\nContent-Disposition: form-data; filename="a.png"\r\n\r\nA\r\n--b--\r\n'
    with pytest.raises(BadRequest) as refused:
        _parse(no_name, "multipart/form-data; boundary=b", config)
    assert refused.value.code == "bad_multipart"
    text_image = b'--b\r\nContent-Disposition: form-data; name="image"\r\n\r\nA\r\n--b--\r\n'
    with pytest.raises(BadRequest) as refused:
        _parse(text_image, "multipart/form-data; boundary=b", config)
    assert refused.value.code == "bad_field"


def test_parse_request_reads_options() -> None:
    body, content_type = _multipart(b"PNG", {"det": "FALSE", "preprocess": "Classic"})
    parsed = _parse(body, content_type, ServeConfig())
    assert parsed.images[0].data == b"PNG" and parsed.images[0].filename == "x.png"
    assert parsed.options.det is False and parsed.options.preprocess == "classic"


def test_text_field_limit_is_413() -> None:
    body, content_type = _multipart(b"PNG", {"det": "x" * (MAX_TEXT_FIELD_BYTES + 1)})

    with pytest.raises(PayloadTooLarge) as refused:
        _parse(body, content_type, ServeConfig())
    assert refused.value.code == "field_too_large"


def test_a_body_slower_than_the_request_timeout_is_408() -> None:
    async def trickle() -> dict[str, Any]:
        await asyncio.sleep(5)
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ocr",
        "headers": [(b"content-type", b"application/json")],
    }

    async def scenario() -> None:
        config = ServeConfig(request_timeout_s=0.1)
        gate = UploadGate(per_client=1, total=1)
        with pytest.raises(RequestTimeout):
            await read_body(Request(scope, trickle), config, gate)
        await read_body(Request(scope, _instant), config, gate)  # the reading place came back

    asyncio.run(scenario())


async def _instant() -> dict[str, Any]:
    return {"type": "http.request", "body": b"{}", "more_body": False}


def test_a_body_below_the_minimum_rate_is_cut_off_after_the_grace() -> None:
    """Issue 10.2: one byte every 0.2 s from the start: refused once the grace is over, long
    before the request timeout."""

    async def inner_app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if not message.get("more_body"):
                return

    async def trickle() -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def scenario() -> float:
        app = BodyLimitMiddleware(inner_app, 10 * MB, {}, min_rate=1000, grace_s=0.5)
        started = time.perf_counter()
        with pytest.raises(RequestTimeout, match="too slowly"):
            await app({"type": "http", "path": "/ocr", "headers": []}, trickle, _no_send)
        return time.perf_counter() - started

    assert 0.4 < asyncio.run(scenario()) < 2.0


async def _no_send(message: Any) -> None:
    raise AssertionError("nothing is sent")


def test_upload_gate_caps_bodies_per_client_and_in_all() -> None:
    gate = UploadGate(per_client=2, total=3)
    with gate.reading("a"), gate.reading("a"):
        with pytest.raises(Overloaded, match="from your address"):
            gate.reading("a").__enter__()
        with gate.reading("b"), pytest.raises(Overloaded, match="3 uploads"):
            gate.reading("c").__enter__()
    with gate.reading("a"), gate.reading("a"), gate.reading("c"):
        pass  # all given back


# -- the app without its lifespan (no models loaded) ----------------------------------------------


def _call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through the ASGI app in-process; the lifespan does not run (no models)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def test_cors_is_off_by_default_and_on_for_configured_origins() -> None:
    preflight = {"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"}
    with_cors = create_app(ServeConfig(cors_origins=("http://ui.example",)))
    response = _call(with_cors, "OPTIONS", "/ocr", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://ui.example"
    evil = {**preflight, "Origin": "http://evil.example"}
    assert (
        "access-control-allow-origin"
        not in _call(with_cors, "OPTIONS", "/ocr", headers=evil).headers
    )
    default = create_app(ServeConfig())
    response = _call(default, "OPTIONS", "/ocr", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    response = _call(default, "GET", "/healthz", headers=preflight)
    assert "access-control-allow-origin" not in response.headers


def test_not_ready_until_the_models_are_loaded() -> None:
    app = create_app(ServeConfig())
    assert _call(app, "GET", "/healthz").status_code == 200
    ready = _call(app, "GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    response = _call(app, "POST", "/ocr", files={"image": ("x.png", b"x", "image/png")})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert response.headers["Retry-After"] == "5"


# -- metrics -----------------------------------------------------------------------------------


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # would raise "Duplicated timeseries" if shared
    first.cache_hits.inc()
    assert b"cpuocr_cache_hits_total 1.0" in first.render()
    assert b"cpuocr_cache_hits_total 0.0" in second.render()
    first.observe_stages({"detect": 12.5, "recognise": 30.0})
    assert b'cpuocr_stage_duration_seconds_count{stage="detect"} 1.0' in first.render()
