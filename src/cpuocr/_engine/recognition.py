"""CTC line recognition: crop batching by width, wide-line splitting, the one CTC decoder."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .._deadline import Deadline
from ..errors import ModelNotFound, WorkLimitExceeded
from .normalize import to_planar
from .runtime import Model


@dataclass(frozen=True)
class RecognitionConfig:
    height: int = 48
    min_width: int = 96  # padding floor of a batch (RapidOCR pads every batch to 320)
    # Padding floor for a lone crop read without detection (a word or line cut out elsewhere:
    # ``OCR(det=False)``). The recogniser mixes the whole line (global attention) and was
    # trained on inputs padded to 320 columns: a short word padded only to 96 reads worse
    # (issue 12, every step decoded: IIIT5K CER 0.90 → 0.69%, SVT 2.49 → 2.20, IC13 0.88 →
    # 0.88 at 224; 160 gave 0.72 / 2.15 / 1.00, 320 0.79 / 2.26 / 0.88). Not on pages: there it
    # changed no set by more than 0.02 point but made short lines lose their spaces ("I am" read
    # "Iam", "a b c" "abc").
    lone_min_width: int = 224
    # Rows added above and below each line cut from a page (det=True), as a fraction of its
    # height, the crop's edge rows repeated, when both edge rows are plain (grey standard
    # deviation under ``page_margin_plain``). Without the mask's dilation (see
    # DetectionConfig.dilate_min_scale) boxes are a pixel or two tighter, so a line was read at a
    # larger scale: 16% more recogniser columns on pages, 12% on FUNSD. The margin gives that
    # back without cutting into the neighbouring lines' strokes. Issue 12, full dev sets, none /
    # every crop / plain edges only: region CER game_ui 0.63 / 0.56 / 0.56, pages 2.49 / 2.43 /
    # 2.44, SROIE 2.16 / 2.12 / 2.13, FUNSD 5.84 / 5.92 / 5.86, degraded 3.66 / 3.68 / 3.58; F1
    # MTWI 83.77 / 83.56 / 84.00, small posters 81.00 / 80.23 / 80.70 (busy edges repeated
    # are streaks). A tenth beat 0.05 and 0.15; mirrored rows and a flat median border did worse.
    page_margin: float = 0.1
    page_margin_plain: float = 25.0
    batch_pixels: int = 48 * 320 * 8  # a batch holds at most this many input pixels
    max_batch: int = 16
    max_width: int = 1920  # wider lines are split into overlapping pieces
    split_overlap: int = 96  # overlap of the pieces, in input pixels (two characters or so)
    # Caps on the work of one image, in input columns (width at the input height; this CPU reads
    # ~40,000 columns a second on 2 cores, the same for narrow lines and split wide ones). A real
    # line is far below max_line_columns (2,000 CJK characters in one line); the densest page of
    # the dev sets, a 461-line newspaper, is 222,000 columns in all. Without these caps a 20000x1
    # image read as one line is 960,000 columns of noise, and a 40 MP one 40 million.
    max_line_columns: int = 100_000
    max_columns: int = 1_000_000
    # Steps decoded past the end of a line's own width (None: every step of its batch). CTC
    # often emits a line's last character some steps after the text's end, so a narrow word
    # padded to ``min_width`` lost it ("VILLA" read "Vill"); a margin of 3 or 6 steps still lost
    # some (SVT 2.55 / 2.38% against 2.15 with every step, at min_width 160), and decoding the
    # padding of a narrow line batched with a wide one changed no page's reading.
    decode_margin: int | None = None


@dataclass(frozen=True)
class Decoded:
    text: str
    score: float
    positions: tuple[float, ...] = ()  # each token's centre, as a fraction of the line width
    tokens: tuple[str, ...] = ()  # the decoded classes, one per position
    # Each token with the stretch of the line it covers, as fractions of the line width (kept
    # through the merge of a split line's pieces): where the line's characters are.
    spans: tuple[tuple[str, float, float], ...] = ()


def load_charset(model: Model, charset_path: Path | None = None) -> list[str]:
    """Class labels: index 0 is the CTC blank, then the charset, then a space (PaddleOCR's rule).

    The charset comes from the ONNX metadata key ``character`` or from a text file, one per line.
    """
    if charset_path is not None:
        if not charset_path.is_file():
            raise ModelNotFound(f"charset file {charset_path} does not exist")
        chars = charset_path.read_text(encoding="utf-8").splitlines()
    elif "character" in model.metadata:
        chars = model.metadata["character"].splitlines()
    else:
        raise ModelNotFound(
            f"{model.path.name} has no 'character' metadata; pass the charset file by path"
        )
    return ["", *chars, " "]


def ctc_greedy_decode(
    probs: np.ndarray, charset: Sequence[str], valid_steps: int, step_width: float | None = None
) -> Decoded:
    """Greedy CTC on one (T, C) matrix of class probabilities: best class per step, merge
    repeats, drop blanks (class 0). Score = mean probability of the kept steps (0 if none).
    ``step_width``: the share of the line's width one step sees, for the tokens' positions and
    spans (default ``1 / valid_steps``; a token past the line's end is placed at its end)."""
    steps = probs[:valid_steps]
    idx = steps.argmax(axis=1)
    best = steps[np.arange(len(idx)), idx]
    keep = idx != 0
    if len(idx) > 1:
        keep[1:] &= idx[1:] != idx[:-1]
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return Decoded("", 0.0)
    n_classes = len(charset)
    tokens = tuple(charset[i] if i < n_classes else "" for i in idx[kept])
    total = max(1, valid_steps)
    step = step_width if step_width else 1.0 / total
    positions = tuple(min(1.0, float((t + 0.5) * step)) for t in kept)
    # A token's run of steps ends where the class changes.
    change = np.append(np.flatnonzero(idx[1:] != idx[:-1]) + 1, len(idx))
    ends = [int(e) for e in change[np.searchsorted(change, kept, side="right")]]
    spans = token_spans(tokens, [int(t) for t in kept], ends, step)
    return Decoded("".join(tokens), float(best[kept].mean()), positions, tokens, spans)


def token_spans(
    tokens: Sequence[str], starts: Sequence[int], ends: Sequence[int], step_width: float
) -> tuple[tuple[str, float, float], ...]:
    """The stretch of the line each token covers, from the steps ``starts[k]`` to ``ends[k]``
    (exclusive) where CTC emitted it: neighbours meet in the middle of the steps between them;
    the first and last reach half the median token pitch beyond their centres (a lone token
    covers the whole line). Fractions of the line width, clipped to [0, 1]."""
    n = len(tokens)
    if n == 0:
        return ()
    centres = [(a + b) / 2 for a, b in zip(starts, ends, strict=True)]
    bounds = [(ends[k - 1] + starts[k]) / 2 for k in range(1, n)]
    if n == 1:
        lo, hi = 0.0, math.inf
    else:
        half = float(np.median(np.diff(centres))) / 2
        lo, hi = centres[0] - half, centres[-1] + half
    edges = [lo, *bounds, hi]

    def frac(steps: float) -> float:
        return min(1.0, max(0.0, steps * step_width))

    return tuple((tokens[k], frac(edges[k]), frac(edges[k + 1])) for k in range(n))


def line_columns(width: int, height: int, input_height: int) -> int:
    """Width of a ``width`` × ``height`` line at the recogniser's ``input_height``."""
    return max(1, int(math.ceil(width * input_height / max(1, height))))


def resized_width(crop: np.ndarray, height: int) -> int:
    h, w = crop.shape[:2]
    return line_columns(w, h, height)


def check_columns(widths: Sequence[int], config: RecognitionConfig) -> None:
    """Raise WorkLimitExceeded, before any work, when lines of these input widths are over the
    caps of ``config`` (one line, or all of them together)."""
    widest = max(widths, default=0)
    if widest > config.max_line_columns:
        raise WorkLimitExceeded(
            f"a text line would be {widest} pixels long at the recogniser's input height "
            f"(an aspect ratio of about {widest // config.height}:1); at most "
            f"{config.max_line_columns} are read in one line"
        )
    total = sum(widths)
    if total > config.max_columns:
        raise WorkLimitExceeded(
            f"the image's text lines would be {total} pixels long in all at the recogniser's "
            f"input height; at most {config.max_columns} are read in one image"
        )


def _prepare(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    resized = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
    return to_planar(resized)


class TextRecognizer:
    def __init__(
        self,
        model: Model,
        config: RecognitionConfig | None = None,
        charset_path: Path | None = None,
        parallel_model: Model | None = None,
        parallel_batches: int = 1,
    ) -> None:
        """``parallel_model`` (the same weights with one intra-op thread) runs several batches
        side by side on ``parallel_batches`` threads; a lone batch goes to ``model``."""
        self.model = model
        self._parallel_model = parallel_model
        self._pool = (
            ThreadPoolExecutor(parallel_batches, thread_name_prefix="cpuocr-rec")
            if parallel_model is not None and parallel_batches > 1
            else None
        )
        self.config = config or RecognitionConfig()
        self.charset = load_charset(model, charset_path)
        fixed_h = model.input_shape[2] if len(model.input_shape) == 4 else None
        if isinstance(fixed_h, int) and fixed_h != self.config.height:
            self.config = RecognitionConfig(**{**self.config.__dict__, "height": fixed_h})

    def close(self) -> None:
        """Stop the side-by-side threads (idempotent; the recogniser runs batches one after
        another afterwards)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def plan(self, crops: Sequence[np.ndarray]) -> tuple[list[_Piece], list[list[int]]]:
        """The pieces the crops are read as (wide lines split) and the batches of piece indices,
        narrowest first. Raises WorkLimitExceeded before any work when the crops are over the
        caps."""
        cfg = self.config
        check_columns([resized_width(c, cfg.height) for c in crops], cfg)
        pieces = [piece for i, crop in enumerate(crops) for piece in self._split(i, crop)]
        order = sorted(range(len(pieces)), key=lambda k: pieces[k].width)
        batches: list[list[int]] = []
        start = 0
        while start < len(order):
            end = start + 1
            # Sorted by width, so the last piece added is the widest: it sets the batch width.
            while end < len(order) and end - start < cfg.max_batch:
                w = max(cfg.min_width, pieces[order[end]].width)
                if w * (end - start + 1) * cfg.height > cfg.batch_pixels:
                    break
                end += 1
            if self.model.shape_step > 1:
                end = start + _floor_pow2(end - start)  # few distinct batch shapes
            batches.append(order[start:end])
            start = end
        return pieces, batches

    def prepare(
        self, pieces: Sequence[_Piece], step: int = 1, min_width: int | None = None
    ) -> tuple[np.ndarray, int]:
        """The input batch of ``pieces`` (each resized to the input height and normalised,
        zero-padded on the right to the widest, at least ``min_width`` (default the config's),
        rounded up to ``step``) and its width."""
        cfg = self.config
        floor = cfg.min_width if min_width is None else min_width
        batch_w = _round_up(max(floor, *(p.width for p in pieces)), step)
        batch = np.zeros((len(pieces), 3, cfg.height, batch_w), dtype=np.float32)
        for j, p in enumerate(pieces):
            batch[j, :, :, : p.width] = _prepare(p.image, cfg.height, p.width)
        return batch, batch_w

    def batches(self, crops: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
        """The input batches :meth:`__call__` would run for ``crops``, in order (for calibration
        and measurement: the same tensors the model sees)."""
        pieces, plan = self.plan(crops)
        for ids in plan:
            yield self.prepare([pieces[k] for k in ids], self.model.shape_step)[0]

    def __call__(
        self,
        crops: Sequence[np.ndarray],
        deadline: Deadline | None = None,
        min_width: int | None = None,
    ) -> list[Decoded]:
        """Read each BGR crop as one line of text (left to right), each batch padded to at least
        ``min_width`` columns (default :attr:`RecognitionConfig.min_width`). Raises
        WorkLimitExceeded before any work when the crops are over the caps, and
        DeadlineExceeded between batches once ``deadline`` has passed."""
        pieces, batches = self.plan(crops)
        pool = self._pool
        if pool is not None and self._parallel_model is not None and len(batches) > 1:
            # Small recognition batches use cores better side by side (one ONNX Runtime thread
            # each) than one after another with intra-op threads; sessions are thread-safe.
            model = self._parallel_model
            results = list(
                pool.map(lambda ids: self._run(model, pieces, ids, deadline, min_width), batches)
            )
        else:
            results = [self._run(self.model, pieces, ids, deadline, min_width) for ids in batches]
        decoded: list[Decoded] = [Decoded("", 0.0)] * len(pieces)
        for ids, batch_result in zip(batches, results, strict=True):
            for k, d in zip(ids, batch_result, strict=True):
                decoded[k] = d
        return _merge(len(crops), pieces, decoded)

    def _run(
        self,
        model: Model,
        all_pieces: list[_Piece],
        ids: list[int],
        deadline: Deadline | None,
        min_width: int | None,
    ) -> list[Decoded]:
        if deadline is not None:
            deadline.check("a recognition batch")
        pieces = [all_pieces[k] for k in ids]
        batch, batch_w = self.prepare(pieces, model.shape_step, min_width)
        probs = model.run(batch)
        steps = probs.shape[1]
        out = []
        for j, p in enumerate(pieces):
            margin = self.config.decode_margin
            own = max(1, int(math.ceil(steps * p.width / batch_w)))  # steps over the piece
            valid = steps if margin is None else min(steps, own + margin)
            step_width = batch_w / steps / p.width  # share of the piece one step sees
            out.append(ctc_greedy_decode(probs[j], self.charset, valid, step_width))
        return out

    def _split(self, line: int, crop: np.ndarray) -> list[_Piece]:
        """Pieces of a crop no wider than ``max_width`` input pixels, overlapping by
        ``split_overlap``; each piece owns the span between the middles of its overlaps."""
        cfg = self.config
        total = resized_width(crop, cfg.height)
        w = crop.shape[1]
        if total <= cfg.max_width:
            return [_Piece(line, crop, total, 0.0, -math.inf, math.inf)]
        scale = w / total  # crop pixels per input pixel
        piece_w = max(2, int(cfg.max_width * scale))
        overlap = min(piece_w // 2, int(cfg.split_overlap * scale))
        stride = piece_w - overlap
        n = math.ceil((w - overlap) / stride)
        starts = [min(p * stride, w - piece_w) for p in range(n)]
        # Neighbouring pieces split their overlap in the middle: each character is reported by
        # exactly one piece (the last piece is shifted left to end at the crop's edge).
        cuts = [(starts[p] + starts[p - 1] + piece_w) / 2 for p in range(1, n)]
        bounds = [-math.inf, *cuts, math.inf]
        out = []
        for p, x0 in enumerate(starts):
            img = crop[:, x0 : x0 + piece_w]
            width = resized_width(img, cfg.height)
            out.append(_Piece(line, img, width, float(x0), bounds[p], bounds[p + 1]))
        return out


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _floor_pow2(n: int) -> int:
    return 1 << (n.bit_length() - 1)


@dataclass(frozen=True)
class _Piece:
    line: int
    image: np.ndarray
    width: int  # width at the recogniser's input height
    x0: float  # where the piece starts in its crop (crop pixels)
    own0: float  # the span of the crop whose characters this piece reports
    own1: float


def _merge(n_lines: int, pieces: list[_Piece], decoded: list[Decoded]) -> list[Decoded]:
    """Join the pieces of each line. Two neighbours both read their overlap; the characters they
    read there are aligned (longest common subsequence of the same characters at the same place),
    and each aligned character is kept once,
    whichever side of the cut in the overlap's middle its CTC position estimate fell on."""
    by_line: dict[int, list[tuple[_Piece, Decoded]]] = {}
    for piece, d in zip(pieces, decoded, strict=True):
        by_line.setdefault(piece.line, []).append((piece, d))
    out = []
    for line in range(n_lines):
        parts = sorted(by_line.get(line, []), key=lambda pd: pd[0].x0)
        if len(parts) == 1:
            out.append(parts[0][1])
            continue
        merged: list[_Token] = []
        scores: list[float] = []
        prev_end = -math.inf
        for piece, d in parts:
            width = piece.image.shape[1]
            x0 = piece.x0
            spans = d.spans or tuple(
                (ch, pos, pos) for ch, pos in zip(d.tokens, d.positions, strict=True)
            )
            tokens = [
                (x0 + pos * width, ch, x0 + s * width, x0 + e * width)
                for (ch, s, e), pos in zip(spans, d.positions, strict=True)
            ]
            merged = _join_overlap(merged, tokens, piece.x0, prev_end, piece.own0)
            prev_end = piece.x0 + width
            if d.tokens:
                scores.append(d.score)
        text = "".join(t[1] for t in merged)
        crop_w = max(piece.x0 + piece.image.shape[1] for piece, _ in parts)
        out.append(
            Decoded(
                text,
                float(np.mean(scores)) if scores else 0.0,
                spans=_merged_spans(merged, crop_w),
            )
        )
    return out


# A token of a split line: its centre, class, and the stretch it covers (crop pixels).
_Token = tuple[float, str, float, float]


def _merged_spans(tokens: list[_Token], width: float) -> tuple[tuple[str, float, float], ...]:
    """The merged tokens' spans as fractions of the crop, made to follow one another: a token
    kept from one piece and its neighbour from the next may overlap a little at the cut."""
    out: list[tuple[str, float, float]] = []
    prev_end = 0.0
    for k, (_, ch, s, e) in enumerate(tokens):
        if k + 1 < len(tokens) and e > tokens[k + 1][2]:
            e = (e + tokens[k + 1][2]) / 2
        s = min(max(s, prev_end), e)
        out.append((ch, min(1.0, max(0.0, s / width)), min(1.0, max(0.0, e / width))))
        prev_end = e
    return tuple(out)


def _join_overlap(
    left: list[_Token],
    right: list[_Token],
    overlap_start: float,
    overlap_end: float,
    cut: float,
) -> list[_Token]:
    """Tokens are (centre, class, ...): what follows the class rides along."""
    if not left:
        return list(right)
    tail = [i for i, t in enumerate(left) if t[0] >= overlap_start]
    head = [j for j, t in enumerate(right) if t[0] <= overlap_end]
    keep_left = {i for i, t in enumerate(left) if t[0] < cut}
    keep_right = {j for j, t in enumerate(right) if t[0] >= cut}
    tolerance = _same_place_tolerance(left, right)
    for i, j in _aligned([left[i] for i in tail], [right[j] for j in head], tolerance, tail, head):
        if i in keep_left and j in keep_right:
            keep_right.discard(j)  # read by both, kept by both: keep one
        elif i not in keep_left and j not in keep_right:
            keep_left.add(i)  # read by both, dropped by both: keep one
    return [left[i] for i in sorted(keep_left)] + [right[j] for j in sorted(keep_right)]


def _same_place_tolerance(left: list[_Token], right: list[_Token]) -> float:
    """How far apart two pieces' readings of one character may be reported: 0.6 of the typical
    character pitch (CTC positions are good to about half a character). With fewer than two
    characters in both pieces, anything goes (text alone decides)."""
    gaps = [b[0] - a[0] for seq in (left, right) for a, b in itertools.pairwise(seq)]
    gaps = [g for g in gaps if g > 0]
    return 0.6 * float(np.median(gaps)) if gaps else math.inf


def _aligned(
    a: list[_Token],
    b: list[_Token],
    tolerance: float,
    a_ids: list[int],
    b_ids: list[int],
) -> list[tuple[int, int]]:
    """The longest in-order pairing of ``a`` and ``b`` tokens that read the same character at
    the same place (within ``tolerance``): aligning by text alone pairs a run's characters one
    off when one piece also read a character it cut through ("xxx" merged to "xxxx")."""
    n, m = len(a), len(b)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            same = a[i][1] == b[j][1] and abs(a[i][0] - b[j][0]) <= tolerance
            best[i][j] = best[i + 1][j + 1] + 1 if same else max(best[i + 1][j], best[i][j + 1])
    pairs = []
    i = j = 0
    while i < n and j < m:
        if (
            a[i][1] == b[j][1]
            and abs(a[i][0] - b[j][0]) <= tolerance
            and (best[i][j] == best[i + 1][j + 1] + 1)
        ):
            pairs.append((a_ids[i], b_ids[j]))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs
