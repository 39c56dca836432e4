"""The service runs its engine's settings: a request that leaves ``preprocess`` out gets the mode
the server was configured with (``CPUOCR_PREPROCESS``), and the result cache keys the mode that
ran. Real engines, no mocks."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

import httpx

from cpuocr._engine.config import EngineConfig
from cpuocr._engine.pipeline import OCR
from cpuocr._serving import create_app
from cpuocr._serving.config import ServeConfig

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py


def _post(client: httpx.Client, data: bytes, **fields: str) -> dict[str, Any]:
    response = client.post("/ocr", files={"image": ("r.png", data, "image/png")}, data=fields)
    return _body(response)


def _body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_server_started_with_CPUOCR_PREPROCESS_uses_it_when_a_request_leaves_it_out(
    tmp_path: Path,
) -> None:
    """``CPUOCR_PREPROCESS=none cpuocr serve``: the mode was ignored (requests ran "auto")."""
    srv = live.LiveServer(
        tmp_path / "logs",
        args=["--slots", "1", "--warmup", "false"],
        env={"CPUOCR_PREPROCESS": "none"},
    )
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as client:
            data = live.receipt_png()
            first = _post(client, data)
            assert first["cached"] is False and first["text"] == list(live.RECEIPT_LINES)
            # the configured mode named explicitly: the same run, so the same cache entry
            assert _post(client, data, preprocess="none") == {**first, "cached": True}
            # another mode is another run
            assert _post(client, data, preprocess="auto")["cached"] is False
            assert _post(client, data)["cached"] is True
    finally:
        assert srv.stop() == 0, srv.log()


def test_the_service_reads_with_its_engines_configured_mode() -> None:
    """Built from a ServeConfig in process: what a request without ``preprocess`` answers is
    what the engine answers in the configured mode, not in "auto"."""
    engine = EngineConfig(preprocess="classic")
    data = live.render_lines(["cpuocr 2024", "Total 42.50"], font_size=30)
    expected = OCR(config=engine)(data, preprocess="classic")
    app = create_app(ServeConfig(slots=1, warmup=False, engine=engine))

    async def ask(*modes: str | None) -> list[dict[str, Any]]:
        async with app.router.lifespan_context(app):  # loads the engine
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                files = {"image": ("r.png", data, "image/png")}
                return [
                    _body(await c.post("/ocr", files=files, data={"preprocess": m} if m else {}))
                    for m in modes
                ]

    answer, named, auto = asyncio.run(ask(None, "classic", "auto"))
    assert answer["cached"] is False
    assert answer["text"] == list(expected.text)
    assert answer["lines"] == expected.to_dict()["lines"]
    assert answer["lines"] != auto["lines"]  # the modes differ on this image (scores, boxes)
    assert named == {**answer, "cached": True}
    assert auto["cached"] is False
