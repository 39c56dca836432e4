"""Peer OCR systems for the benchmark, behind the same reader interface as cpuocr.

These run only in ``.venv-bench`` (``scripts/setup-bench.sh``); they are never dependencies of
the cpuocr package. Each reader offers ``name``, ``info()``, ``read_page(path)`` → list of
(text, 4-point box) and ``read_line(path)`` → text.

- RapidOCR 3.10 (PP-OCRv6 small det/rec, the 0/180 classifier), its defaults throughout.
  Line crops: ``use_det=False, use_cls=False`` (recognition only).
- faster-paddle 1.0.4, ``OcrEngine(model_size="small" | "tiny")``, defaults otherwise. It has no
  recognition-only call, so a line crop is read as a page and its lines are joined in the
  engine's own order.
- Tesseract 5 through the ``tesseract`` program, ``-l chi_sim+eng``: ``--psm 7`` (one line) for
  line crops; default page segmentation with TSV output for whole images, line boxes being the
  union of the word boxes of each (block, paragraph, line). One process per image, as with
  pytesseract, so its time includes loading the language data.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .readers import PagePrediction, Reader, ReaderFactory
from .scoring import Quad


def _rect(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


class RapidOcrReader:
    """RapidOCR with its default configuration."""

    def __init__(self, options: str) -> None:
        if options:
            raise ValueError(f"rapidocr takes no options, got {options!r}")
        from rapidocr import RapidOCR

        # Only the log level differs from the defaults (it does not change results).
        self._engine = RapidOCR(params={"Global.log_level": "warning"})
        self._use_cls = bool(self._engine.cfg.Global.use_cls)
        self.name = "rapidocr"

    def info(self) -> dict[str, str]:
        ort = self._engine.cfg.EngineConfig.onnxruntime
        intra, inter = ort.intra_op_num_threads, ort.inter_op_num_threads
        return {
            "version": version("rapidocr"),
            "threads": f"ONNX Runtime intra-op {intra}, inter-op {inter} "
            "(-1: ONNX Runtime's default, one per physical core)",
        }

    def read_page(self, path: Path) -> PagePrediction:
        # Per-call flags are stored on the engine by RapidOCR, so pass them every time.
        out = self._engine(str(path), use_det=True, use_cls=self._use_cls, use_rec=True)
        if out.boxes is None or out.txts is None:
            return []
        return [
            (str(text), tuple((float(x), float(y)) for x, y in box))  # type: ignore[misc]
            for text, box in zip(out.txts, out.boxes, strict=True)
        ]

    def read_line(self, path: Path) -> str:
        out = self._engine(str(path), use_det=False, use_cls=False, use_rec=True)
        return "".join(out.txts or ())


class FasterPaddleReader:
    """faster-paddle ``OcrEngine`` with the given model size and its defaults otherwise."""

    def __init__(self, options: str) -> None:
        from faster_paddle import OcrEngine

        size = options or "small"
        if size not in ("tiny", "small"):
            raise ValueError(f"faster-paddle model size must be tiny or small, got {size!r}")
        self._engine = OcrEngine(model_size=size)
        self.name = f"faster-paddle:{size}"

    def info(self) -> dict[str, str]:
        config: dict[str, Any] = dict(self._engine.config)
        keys = ("threads", "det_threads", "rec_workers", "rec_threads", "rayon_threads")
        return {
            "version": version("faster-paddle"),
            "threads": ", ".join(f"{k} {config[k]}" for k in keys if k in config),
            "config": json.dumps(config, sort_keys=True),
        }

    def read_page(self, path: Path) -> PagePrediction:
        result = self._engine.ocr(path.read_bytes())
        lines: PagePrediction = []
        for _, b in sorted(result["bounds"].items()):
            (x0, y0), (x1, y1) = b["topLeftCoord"], b["bottomRightCoord"]
            lines.append((str(b["text"]), _rect(x0, y0, x1, y1)))
        return lines

    def read_line(self, path: Path) -> str:
        # No recognition-only mode: the crop goes through detection too.
        return "".join(text for text, _ in self.read_page(path))


class TesseractReader:
    """The ``tesseract`` program (Tesseract 5) with Simplified Chinese + English."""

    def __init__(self, options: str) -> None:
        self.languages = options or "chi_sim+eng"
        self.name = "tesseract" + (f":{options}" if options else "")
        self._version = self._run(["--version"]).splitlines()[0]

    @staticmethod
    def _run(args: list[str]) -> str:
        done = subprocess.run(
            ["tesseract", *args], capture_output=True, text=True, encoding="utf-8", check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"tesseract {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def info(self) -> dict[str, str]:
        limit = os.environ.get("OMP_THREAD_LIMIT")
        return {
            "version": self._version,
            "threads": f"OpenMP, OMP_THREAD_LIMIT={limit or 'unset (all cores)'}; "
            "one process per image",
            "languages": self.languages,
        }

    def read_line(self, path: Path) -> str:
        text = self._run([str(path), "stdout", "-l", self.languages, "--psm", "7"])
        return " ".join(text.split())

    def read_page(self, path: Path) -> PagePrediction:
        tsv = self._run([str(path), "stdout", "-l", self.languages, "tsv"])
        words: dict[tuple[int, int, int, int], list[tuple[str, int, int, int, int]]] = {}
        for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
            text = (row.get("text") or "").strip()
            if row.get("level") != "5" or not text:
                continue
            key = tuple(int(row[k]) for k in ("page_num", "block_num", "par_num", "line_num"))
            left, top = int(row["left"]), int(row["top"])
            words.setdefault(key, []).append(  # type: ignore[arg-type]
                (text, left, top, left + int(row["width"]), top + int(row["height"]))
            )
        lines: PagePrediction = []
        for key in sorted(words):
            group = words[key]
            box = _rect(
                min(w[1] for w in group),
                min(w[2] for w in group),
                max(w[3] for w in group),
                max(w[4] for w in group),
            )
            lines.append((" ".join(w[0] for w in group), box))
        return lines


PEERS: dict[str, ReaderFactory] = {
    "rapidocr": RapidOcrReader,
    "faster-paddle": FasterPaddleReader,
    "tesseract": TesseractReader,
}

__all__ = ["PEERS", "FasterPaddleReader", "RapidOcrReader", "Reader", "TesseractReader"]
