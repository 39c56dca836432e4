"""The OCR pipeline: load → preprocess → detect → orient → recognise → assemble.

``OCR`` only composes the stages. It holds the loaded models and read-only configuration; every
per-call option lives in local variables, so one object may be called from many threads at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np

from .._deadline import Deadline
from .._types import Char, Line, OCRResult, Quad
from ..errors import CpuocrError, ProcessingFailed, WorkLimitExceeded
from . import deblur
from .assemble import reading_order
from .config import EngineConfig
from .factory import Stages, build_stages
from .geometry import crop_quad, pad_rows, rotate_quad_frame
from .imaging import ImageSource, load_image
from .orientation import is_vertical, turn_upright_vertical, widest
from .preprocess import (
    CLASSIC_ACTIONS,
    PreprocessPreview,
    check_mode,
    classic_stages,
    detector_enhancement,
    enhance_auto,
    plan_auto,
    recognition_image,
)
from .recognition import Decoded, check_columns, line_columns
from .runtime import TRIM_AFTER_PIXELS, trim_freed_memory

log = logging.getLogger("cpuocr")


class OCR:
    """Chinese/English OCR on the CPU.

    >>> ocr = OCR()                       # the default preset
    >>> ocr("invoice.jpg").text           # doctest: +SKIP

    ``OCR(config=...)`` builds its stages from an :class:`EngineConfig` (see ``factory.py``);
    ``OCR(config=..., stages=...)`` composes stages built elsewhere. Use it as a context manager,
    or call :meth:`close`, to stop its threads.
    """

    def __init__(
        self,
        preset: str | None = None,
        *,
        threads: int | None = None,
        device: str | None = None,
        config: EngineConfig | None = None,
        stages: Stages | None = None,
    ) -> None:
        cfg = config or EngineConfig()
        if preset is not None:
            cfg = dataclasses.replace(cfg, preset=preset)
        if threads is not None:
            cfg = cfg.with_threads(threads)
        if device is not None:
            cfg = cfg.with_runtime(device=device)
        self.config = cfg
        self.stages = stages if stages is not None else build_stages(cfg)
        self.runtime = self.stages.runtime  # what the models were loaded with
        self.detector = self.stages.detector
        self.recognizer = self.stages.recognizer
        self.classifier = self.stages.classifier

    @property
    def device(self) -> str:
        """Where the recogniser runs: "cpu", or the "cuda[:N]" asked for when the GPU took it
        (a device the GPU could not take falls back to "cpu", with a warning)."""
        return self.recognizer.model.device

    def close(self) -> None:
        """Stop the engine's threads; calls after it still work, one batch at a time."""
        self.stages.close()

    def __enter__(self) -> OCR:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def warm_up(self) -> None:
        """One tiny detection and one recognition, so that the first real call does not pay for
        the runtime's lazy initialisation (tens to hundreds of milliseconds)."""
        canvas = np.full((64, 256, 3), 255, np.uint8)
        cv2.putText(canvas, "cpuocr 123", (8, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
        self(canvas, det=True, preprocess="none")
        self(canvas, det=False, preprocess="none")

    def load(self, source: ImageSource) -> np.ndarray:
        return load_image(
            source, max_pixels=self.config.max_pixels, max_bytes=self.config.max_bytes
        )

    def prepare(self, source: ImageSource, preprocess: str | None = None) -> np.ndarray:
        """The image lines are cut from: ``source`` loaded (the limits applied) and, in the
        ``classic`` mode, binarised (``auto`` enhances only the detector's input; see
        :meth:`line_crops`)."""
        mode = check_mode(preprocess or self.config.preprocess)
        with _engine_errors():
            return recognition_image(self.load(source), mode)

    def preprocess_stages(self, source: ImageSource) -> dict[str, np.ndarray]:
        """Images of each stage of the classic recipe, for inspection."""
        return self.preprocess_preview(source, "classic").stages

    def preprocess_preview(self, source: ImageSource, mode: str | None = None) -> PreprocessPreview:
        """What ``mode`` (default: the engine's) does to this image before its text is found
        (the Web UI's preview): ``classic``, each step of the recipe; ``auto`` and ``none``, the
        image the detector reads (resized to its budget; ``auto``'s enhancement applied when its
        measurements call for it) and, for ``auto``, what it decided and why."""
        mode = check_mode(mode or self.config.preprocess)
        with _engine_errors():
            image = self.load(source)
            if mode == "classic":
                return PreprocessPreview(mode, classic_stages(image), list(CLASSIC_ACTIONS))
            resized, _ = self.detector.input_image(image)
            height, width = resized.shape[:2]
            if mode == "none":
                actions = [f"unchanged; the detector reads it resized to {width}×{height}"]
                return PreprocessPreview(
                    mode, {"original": image, "detector_input": resized}, actions
                )
            plan = plan_auto(resized)  # auto measures the detector's input, as the engine does
            enhanced = enhance_auto(resized, inplace=resized is not image)
            actions = [*plan.actions(), f"the detector reads it resized to {width}×{height}"]
            return PreprocessPreview(mode, {"original": image, "detector_input": enhanced}, actions)

    def line_crops(self, prepared: np.ndarray, preprocess: str | None = None) -> list[np.ndarray]:
        """The crops the recogniser reads for a prepared page (:meth:`prepare`, same
        ``preprocess``): the detected regions cut out and turned upright."""
        enhance = detector_enhancement(preprocess or self.config.preprocess)
        with _engine_errors():
            crops = [crop_quad(prepared, q) for q in self.detector(prepared, enhance)]
            return self._with_margin(self._upright(crops, page=True)[0])

    def _upright(
        self, crops: list[np.ndarray], *, page: bool, deadline: Deadline | None = None
    ) -> tuple[list[np.ndarray], list[bool], bool]:
        """Vertical crops turned to run left to right; on a ``page``, every crop turned 180° when
        the page vote says it is upside down. Returns the crops, which were vertical, and the
        vote."""
        vertical = [is_vertical(c, self.config.orientation) for c in crops]
        crops = [turn_upright_vertical(c) if v else c for c, v in zip(crops, vertical, strict=True)]
        flipped = page and self._page_is_upside_down(crops, deadline)
        if flipped:
            crops = [np.ascontiguousarray(c[::-1, ::-1]) for c in crops]
        return crops, vertical, flipped

    def _with_margin(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Upright page crops with :attr:`RecognitionConfig.page_margin` rows above and below."""
        rec = self.recognizer.config
        return [pad_rows(c, rec.page_margin, rec.page_margin_plain) for c in crops]

    def _page_is_upside_down(self, crops: list[np.ndarray], deadline: Deadline | None) -> bool:
        """The classifier's page vote, checked by the recogniser: the vote's sample is read both
        ways and the page is turned only when the turned reading is the stronger one (more
        characters read, weighted by their confidence). The small classifier squeezes a line
        into 192 columns, so fine print can outvote a page's few large lines: a rendered fax
        cover sheet with a four-line 10 px note was voted upside down and read as garbage
        (issue 12). Only pages the vote would turn pay for the check (at most twice the sample's
        reading, within the recogniser's caps and ``deadline``)."""
        if self.classifier is None or not self.classifier.page_is_upside_down(crops):
            return False
        sample = widest(crops, self.config.orientation.sample_lines)
        upright = self.recognizer(sample, deadline)
        turned = self.recognizer([np.ascontiguousarray(c[::-1, ::-1]) for c in sample], deadline)
        return _weight(turned) > _weight(upright)

    def _second_way(
        self, crop: np.ndarray, first: Decoded, deadline: Deadline | None
    ) -> tuple[Decoded, bool]:
        """One line without detection (a crop cut out elsewhere may be upside down): when its
        reading is empty, weaker than :attr:`OrientationConfig.retry_below`, or the classifier
        is sure of 180° (:meth:`LineOrientationClassifier.line_may_be_upside_down`), the crop is
        read turned 180° too and the turned reading replaces the first only when it scores
        higher and at least :attr:`OrientationConfig.turned_min_score` (on 990 upright dev
        crops of the line and word sets this changed none; 824 of them turned 180° were read
        the right way round). A reading at :attr:`OrientationConfig.sure_above` or surer skips
        the classifier (issue 12: word crops 0.011 → 0.008 s median, the same text on every
        upright dev crop; of 785 dev crops turned 180°, 518 read exactly against 526). Returns
        the reading and whether it is the turned one."""
        cfg = self.config.orientation
        if self.classifier is None:
            return first, False
        weak = not first.text.strip() or first.score < cfg.retry_below
        if not weak and first.score >= cfg.sure_above:
            return first, False
        if not weak and not self.classifier.line_may_be_upside_down(crop):
            return first, False
        lone = self.recognizer.config.lone_min_width
        (second,) = self.recognizer([np.ascontiguousarray(crop[::-1, ::-1])], deadline, lone)
        better = not first.text.strip() or second.score > first.score
        if second.text.strip() and better and second.score >= cfg.turned_min_score:
            return second, True
        return first, False

    def _second_look(
        self, crops: list[np.ndarray], decoded: list[Decoded], deadline: Deadline | None
    ) -> list[Decoded]:
        """Lines read with a score under :attr:`EngineConfig.second_look_below` are read again
        from three variants of their crop — padded by a sixth of its height (a box cut tight
        loses its first or last stroke), contrast-equalised (faded ink) and sharpened (blurred
        ink) — and the most confident reading is kept. Only weak lines pay for it: on the
        degraded dev set (benchmarks/degraded.py) 11% of the lines. The first two took its
        region CER from 3.77% to 3.51% (session 6), the sharpened one from 3.74% to 3.51%
        (session 11); on FUNSD, SROIE, game_ui and the pages within 0.01 point; MTWI's
        decorative text lost 0.25 F1 to the first two (a wrong reading scored higher). Costs
        2–12% of the time where lines are weak."""
        below = self.config.second_look_below
        weak = [i for i, d in enumerate(decoded) if d.text.strip() and d.score < below]
        if not weak:
            return decoded
        rec = self.recognizer.config
        kinds = (_padded, _equalized, _sharpened)
        variants = [v(crops[i]) for i in weak for v in kinds]
        columns = [line_columns(c.shape[1], c.shape[0], rec.height) for c in (*crops, *variants)]
        if sum(columns) > rec.max_columns:
            return decoded  # the image's work cap holds for the first reading and these together
        again = self.recognizer(variants, deadline)
        out = list(decoded)
        for k, i in enumerate(weak):
            padded, *others = again[len(kinds) * k : len(kinds) * (k + 1)]
            pad = _pad_width(crops[i])
            width = crops[i].shape[1]
            for candidate in (_unpad(padded, pad, width), *others):
                if candidate.text.strip() and candidate.score > out[i].score:
                    out[i] = candidate
        return out

    def check_work(self, width: int, height: int, *, det: bool) -> None:
        """Raise WorkLimitExceeded when reading a ``width`` × ``height`` image would be over the
        engine's work caps, as far as the size alone tells (before decoding it). Without
        detection the whole image is one line, so its aspect ratio is its cost: a 20000×1 image
        is 960,000 input columns. With detection the detector's input is bounded by its own
        pixel budget, and the lines it finds are checked again before they are read."""
        if det or width <= 0 or height <= 0:
            return
        if height >= self.config.orientation.vertical_ratio * width:
            width, height = height, width  # a tall image is read as a vertical line
        rec = self.recognizer.config
        check_columns([line_columns(width, height, rec.height)], rec)

    def __call__(
        self,
        source: ImageSource,
        *,
        det: bool = True,
        preprocess: str | None = None,
        deadline: Deadline | None = None,
    ) -> OCRResult:
        """Read ``source``. With a ``deadline``, the call is abandoned (DeadlineExceeded) at the
        first check after it passes or is cancelled: between stages and recognition batches.
        A caller's array is never written to: ``auto`` enhances the detector's own resized copy.
        Every failure is a :class:`~cpuocr.errors.CpuocrError`: an unexpected exception of a
        library on this input becomes ProcessingFailed, never a foreign exception."""
        try:
            with _engine_errors():
                return self._read(source, det, preprocess, deadline)
        except CpuocrError:
            # A call that failed midway (a decoder error, a deadline) may have freed large
            # buffers; whole images trim on success, failures too (see runtime.TRIM_AFTER_PIXELS).
            trim_freed_memory()
            raise

    def _read(
        self,
        source: ImageSource,
        det: bool,
        preprocess: str | None,
        deadline: Deadline | None,
    ) -> OCRResult:
        started = time.perf_counter()
        mode = check_mode(preprocess or self.config.preprocess)
        timings: dict[str, float] = {}
        mark = started

        def lap(stage: str) -> None:  # a stage run twice (the deblurred reading) adds up
            nonlocal mark
            now = time.perf_counter()
            timings[stage] = timings.get(stage, 0.0) + (now - mark) * 1000.0
            mark = now

        image = self.load(source)
        height, width = image.shape[:2]
        self.check_work(width, height, det=det)
        lap("load")
        _check(deadline, "preprocessing")
        prepared = recognition_image(image, mode)
        del image  # only ``prepared`` is read from here on
        lap("preprocess")

        lines = self._lines(prepared, det, mode, deadline, lap)
        if det and self.config.deblur_below > 0:
            lines = self._deblurred(prepared, lines, mode, deadline, lap)
        if det or width * height >= TRIM_AFTER_PIXELS:
            trim_freed_memory()
            lap("trim")
        total = (time.perf_counter() - started) * 1000.0
        return OCRResult(lines, width, height, total, timings)

    def _lines(
        self,
        prepared: np.ndarray,
        det: bool,
        mode: str,
        deadline: Deadline | None,
        lap: Callable[[str], None],
        page_size: tuple[int, int] | None = None,
    ) -> tuple[Line, ...]:
        """Detect, orient, recognise and order the lines of a prepared image. ``page_size``
        (width, height): the image is a resized copy of a page that size (the deblurred
        reading), and the boxes are given in the page's pixels."""
        height, width = prepared.shape[:2]
        _check(deadline, "detection")
        if det:
            # auto's enhancement is the detector's alone, on its resized copy: the crops are cut
            # from the original pixels (see preprocess.py for the measurements).
            quads = self.detector(prepared, detector_enhancement(mode))
        else:
            quads = [np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)]
        lap("detect")
        _check(deadline, "orientation")

        crops = [crop_quad(prepared, q) if det else prepared for q in quads]
        crops, vertical, flipped = self._upright(crops, page=det, deadline=deadline)
        if det:
            crops = self._with_margin(crops)
        lap("orient")

        _check(deadline, "recognition")
        # A lone crop (det=False: a word cut out elsewhere) is padded wider than a page's lines.
        lone = None if det else self.recognizer.config.lone_min_width
        decoded = self.recognizer(crops, deadline, lone) if crops else []
        if det:
            decoded = self._second_look(crops, decoded, deadline)
        if not det and len(decoded) == 1:
            decoded[0], flipped = self._second_way(crops[0], decoded[0], deadline)
        lap("recognise")

        keep = [
            i
            for i, d in enumerate(decoded)
            if d.text.strip() and (not det or d.score >= self.config.drop_score)
        ]
        if page_size is not None and page_size != (width, height):
            to_page = np.array([page_size[0] / width, page_size[1] / height], np.float32)
            quads = [np.asarray(q, np.float32) * to_page for q in quads]
            width, height = page_size
        angle = page_angle(sum(vertical[i] for i in keep), len(keep), flipped)
        upright = [rotate_quad_frame(quads[i], width, height, angle) for i in keep]
        lines = tuple(
            _line(decoded[keep[j]], _as_quad(quads[keep[j]]), flipped)
            for j in reading_order(upright)
        )
        lap("assemble")
        return lines

    def _deblurred(
        self,
        prepared: np.ndarray,
        lines: tuple[Line, ...],
        mode: str,
        deadline: Deadline | None,
        lap: Callable[[str], None],
    ) -> tuple[Line, ...]:
        """The page read again deblurred, when it looks shaken: its lines' median score is
        under :attr:`EngineConfig.deblur_below` and :func:`deblur.estimate` finds a motion
        blur in the window around its text. The blur's length and twice it are tried (the
        cepstrum's peak often sits at half the length); a reading is kept when its characters
        are read more confidently on average and it has at least nine tenths of the first
        reading's characters. The copy read is at most :data:`deblur.MAX_PIXELS` large.

        Degraded dev set: region CER 3.51% → 2.6%; its six motion-blurred pages all deblurred,
        no other page changed; on FUNSD, SROIE and the OmniDocBench pages no page found blurred
        (the estimate, ~6 ms, runs on the pages whose median line score is under 0.995)."""
        scores = sorted(line.score for line in lines)
        if not scores or scores[len(scores) // 2] >= self.config.deblur_below:
            return lines
        boxes = np.concatenate([np.asarray(line.box, np.float32) for line in lines])
        (x0, y0), (x1, y1) = boxes.min(axis=0), boxes.max(axis=0)
        blur = deblur.estimate(prepared, ((x0 + x1) / 2, (y0 + y1) / 2))
        lap("deblur")
        if blur is None:
            return lines
        height, width = prepared.shape[:2]
        scale = min(1.0, (deblur.MAX_PIXELS / (width * height)) ** 0.5)
        page = prepared
        if scale < 1.0:
            page = cv2.resize(prepared, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        best, best_score = lines, _mean_score(lines)
        enough = 0.9 * sum(len(line.text) for line in lines)
        for length in (blur.length, 2 * blur.length):
            if length * scale > deblur.MAX_LENGTH:
                break
            sharp = deblur.deblur(page, deblur.kernel(length * scale, blur.angle))
            lap("deblur")
            again = self._lines(sharp, True, mode, deadline, lap, (width, height))
            del sharp
            chars, score = sum(len(line.text) for line in again), _mean_score(again)
            if chars >= enough and score > best_score:
                best, best_score = again, score
        return best


def _check(deadline: Deadline | None, stage: str) -> None:
    """A call's deadline checked before ``stage`` (no deadline: nothing to check)."""
    if deadline is not None:
        deadline.check(stage)


def _mean_score(lines: Sequence[Line]) -> float:
    """The lines' scores averaged over their characters."""
    chars = sum(len(line.text.strip()) for line in lines)
    return _weight(lines) / chars if chars else 0.0


def _weight(readings: Sequence[Decoded] | Sequence[Line]) -> float:
    """Characters read, each weighted by its line's confidence."""
    return sum(len(d.text.strip()) * d.score for d in readings)


def _pad_width(crop: np.ndarray) -> int:
    return max(2, int(crop.shape[0]) // 6)


def _padded(crop: np.ndarray) -> np.ndarray:
    p = _pad_width(crop)
    return cv2.copyMakeBorder(crop, p, p, p, p, cv2.BORDER_REPLICATE)


def _equalized(crop: np.ndarray) -> np.ndarray:
    """CLAHE on the lightness of a line crop, one tile per line height along the line."""
    h, w = crop.shape[:2]
    lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)
    grid = (max(1, min(64, w // max(1, h))), 1)
    lightness = cv2.createCLAHE(clipLimit=2.0, tileGridSize=grid).apply(lab[:, :, 0])
    lab[:, :, 0] = lightness
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _sharpened(crop: np.ndarray) -> np.ndarray:
    """An unsharp mask on a line crop: 1.5 × (crop − its blur at a tenth of the line height)
    added. Tried on the degraded dev set as the third variant: 3.51% region CER (amount 1.0:
    3.59, 2.0: 3.55; a fifth of the height: 3.66, a twentieth: 3.63); Otsu-binarised 3.67,
    non-local-means denoised 3.60, a 3×3 median 3.60, denoised and sharpened both 3.56."""
    sigma = max(0.8, crop.shape[0] / 10)
    blurred = cv2.GaussianBlur(crop, (0, 0), sigma)
    return cv2.addWeighted(crop, 2.5, blurred, -1.5, 0)


def _unpad(decoded: Decoded, pad: int, width: int) -> Decoded:
    """A reading of a crop padded by ``pad`` pixels on each side, its token positions and spans
    moved back to fractions of the unpadded ``width``."""
    total = width + 2 * pad

    def back(f: float) -> float:
        return min(1.0, max(0.0, (f * total - pad) / width))

    return dataclasses.replace(
        decoded,
        positions=tuple(back(f) for f in decoded.positions),
        spans=tuple((ch, back(s), back(e)) for ch, s, e in decoded.spans),
    )


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    """cpuocr errors pass; anything else a library raises on the caller's input becomes a
    cpuocr error with the library's words (and is logged with its traceback, being a bug or an
    input no check foresaw)."""
    try:
        yield
    except CpuocrError:
        raise
    except MemoryError:
        raise WorkLimitExceeded("the image needs more memory than is available") from None
    except Exception as exc:
        log.warning("unexpected %s in the engine", type(exc).__name__, exc_info=True)
        detail = " ".join(str(exc).split())[:300]
        raise ProcessingFailed(
            f"the image could not be processed ({type(exc).__name__}: {detail})"
        ) from exc


def page_angle(n_vertical: int, n_lines: int, flipped: bool) -> int:
    """Clockwise rotation that makes the page upright, for sorting lines in reading order.

    Mostly-vertical lines were turned counter-clockwise to be read, so the page reads upright
    when turned 270° clockwise (or 90° if the page vote also flipped them)."""
    sideways = n_lines > 0 and n_vertical * 2 > n_lines
    if sideways:
        return 90 if flipped else 270
    return 180 if flipped else 0


def _line(decoded: Decoded, box: Quad, flipped: bool) -> Line:
    """A line from its reading: the text stripped, one Char per character of it."""
    text = decoded.text.strip()
    return Line(text, decoded.score, box, line_chars(decoded, flipped))


def line_chars(decoded: Decoded, flipped: bool = False) -> tuple[Char, ...]:
    """One Char per character of ``decoded.text.strip()`` (spaces inside included), from the
    tokens' spans; a token of several characters shares its span evenly. ``flipped``: the crop
    was read turned 180°, so its fractions run from the line box's far end."""
    chars: list[Char] = []
    for token, start, end in decoded.spans:
        n = len(token)
        for k, ch in enumerate(token):
            s = start + (end - start) * k / n
            e = start + (end - start) * (k + 1) / n
            chars.append(Char(ch, 1.0 - e, 1.0 - s) if flipped else Char(ch, s, e))
    if len(chars) != len(decoded.text):  # spans missing or not the text's: no positions
        return ()
    text = decoded.text
    lead = len(text) - len(text.lstrip())
    kept = len(text.strip())
    return tuple(chars[lead : lead + kept])


def _as_quad(q: np.ndarray) -> Quad:
    p = [(float(x), float(y)) for x, y in np.asarray(q, dtype=np.float32).reshape(4, 2)]
    return (p[0], p[1], p[2], p[3])
