"""Motion blur: a page smeared along one direction (a phone shaken as the photo was taken) is
found from its cepstrum and undone with a Wiener filter, for the pipeline's deblurred reading
(:meth:`cpuocr.OCR._deblurred`, which keeps it only when the recogniser reads it better).

- :func:`estimate`: the real cepstrum of the page's grey levels (Hann-windowed; a window of at
  most :data:`ESTIMATE_SIDE` pixels a side, at full scale). A straight blur of length L at angle
  θ multiplies the spectrum by a sinc whose zeros repeat every 1/L along θ; in the cepstrum that
  is a deep negative peak about L (often L/2) from the centre along θ. The deepest point between
  3 and :data:`SEARCH_RADIUS` pixels is the blur when it lies :data:`MIN_Z` standard deviations
  below the ring's mean. On the degraded dev set (benchmarks/degraded.py) its six
  motion-blurred pages score 14-20; its other pages, and 20 pages each of FUNSD, SROIE, MTWI and
  OmniDocBench, at most 9 — but for pages saved small (resampling, JPEG's 8-pixel grid), whose
  peaks are short or on an axis: peaks shorter than :data:`MIN_LENGTH` or on the JPEG grid
  (axis-aligned, a multiple of 8 px) are not taken for motion.
- :func:`deblur`: the grey page deconvolved by the blur's kernel (an anti-aliased line) with a
  Wiener filter (:data:`NOISE` the noise-to-signal ratio), as 3-channel BGR for the recogniser.

Everything works on a copy at most :data:`MAX_PIXELS` large (the caller scales boxes back): the
FFTs' memory is bounded by that, whatever the image's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# px: the estimate reads a window at most this large a side, at full scale. 512, 768 and 1024
# give the degraded set's motion-blurred pages the same scores (14-19.5); 512 costs ~6 ms a page.
ESTIMATE_SIDE = 512
SEARCH_RADIUS = 40  # px: the longest blur looked for
MIN_Z = 12.0  # how far (standard deviations) the cepstrum's peak lies below its ring's mean
MIN_LENGTH = 4.5  # px: shorter peaks are resampling, not motion
MAX_LENGTH = 24.0  # px: a longer kernel is not tried (the page is past reading)
MAX_PIXELS = 2_000_000  # the deblurred copy's size at most (its FFTs: ~8 bytes a pixel each)
NOISE = 0.01  # Wiener filter: the noise-to-signal power ratio


@dataclass(frozen=True)
class Blur:
    length: float  # pixels
    angle: float  # degrees, image axes (y down), in [0, 180)
    z: float  # how clearly the cepstrum shows it


def estimate(image: np.ndarray, centre: tuple[float, float] | None = None) -> Blur | None:
    """The motion blur of a BGR (or grey) page, or None when it shows none clearly: read from a
    window of at most :data:`ESTIMATE_SIDE` pixels a side around ``centre`` (x, y; default the
    image's centre) at full scale (scaled down, a blur shortens and its peak fades: a 14 px one
    went from 17 to 10 standard deviations at 0.84)."""
    grey = _grey(image)
    h, w = grey.shape
    cx, cy = centre if centre is not None else (w / 2, h / 2)
    wh, ww = _fast_size(min(h, ESTIMATE_SIDE)), _fast_size(min(w, ESTIMATE_SIDE))
    y0 = int(min(max(0, round(cy - wh / 2)), h - wh))
    x0 = int(min(max(0, round(cx - ww / 2)), w - ww))
    grey = grey[y0 : y0 + wh, x0 : x0 + ww]
    h, w = grey.shape
    r = SEARCH_RADIUS
    if h < 4 * r or w < 4 * r:
        return None  # too small to tell a blur from the text's own strokes
    g = grey.astype(np.float32)
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    spectrum = cv2.dft((g - g.mean()) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    log_magnitude = np.log(cv2.magnitude(spectrum[..., 0], spectrum[..., 1]) + 1e-3)
    spectrum[..., 0], spectrum[..., 1] = log_magnitude, 0.0
    cepstrum = cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    lags = np.arange(-r, r + 1)
    patch = cepstrum[np.ix_(lags % h, lags % w)]  # lags -r..r around zero, wrapped
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    distance = np.hypot(yy, xx)
    ring = (distance >= 3) & (distance <= r)
    values = patch[ring]
    k = int(np.argmin(np.where(ring, patch, np.inf)))
    dy, dx = (int(v) - r for v in np.unravel_index(k, patch.shape))
    z = float((values.mean() - patch.flat[k]) / (values.std() + 1e-9))
    length = math.hypot(dy, dx)
    on_jpeg_grid = (dy == 0 or dx == 0) and (abs(dy) + abs(dx)) % 8 == 0
    if z < MIN_Z or length < MIN_LENGTH or on_jpeg_grid:
        return None
    angle = math.degrees(math.atan2(dy, dx)) % 180.0
    return Blur(length, angle, z)


def kernel(length: float, angle: float, supersample: int = 8) -> np.ndarray:
    """A straight motion-blur kernel: an anti-aliased line ``length`` px long at ``angle``
    degrees, drawn ``supersample`` times larger and averaged down; sums to 1."""
    size = int(math.ceil(length)) + 3
    size += 1 - size % 2
    big = np.zeros((size * supersample, size * supersample), np.float32)
    c = size * supersample / 2
    a = math.radians(angle)
    dx, dy = math.cos(a) * length * supersample / 2, math.sin(a) * length * supersample / 2
    ends = ((round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)))
    cv2.line(big, ends[0], ends[1], 1.0, supersample, cv2.LINE_AA)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return small / float(small.sum())


def deblur(image: np.ndarray, blur_kernel: np.ndarray) -> np.ndarray:
    """``image``'s grey levels deconvolved by ``blur_kernel`` (Wiener), as BGR uint8."""
    grey = _grey(image)
    pad = 2 * blur_kernel.shape[0]
    big = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    h, w = big.shape
    fh, fw = cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w)
    g = np.zeros((fh, fw), np.float32)
    g[:h, :w] = big
    k = np.zeros((fh, fw), np.float32)
    kh, kw = blur_kernel.shape
    k[:kh, :kw] = blur_kernel
    k = np.roll(k, (-(kh // 2), -(kw // 2)), axis=(0, 1))  # the kernel's centre at the origin
    gf = cv2.dft(g, flags=cv2.DFT_COMPLEX_OUTPUT)
    kf: np.ndarray = cv2.dft(k, flags=cv2.DFT_COMPLEX_OUTPUT)
    del g, k
    power = kf[..., 0] ** 2 + kf[..., 1] ** 2 + NOISE
    np.divide(kf, power[..., None], out=kf)  # conj(K) / (|K|^2 + NOISE), conjugated below
    del power
    out = cv2.mulSpectrums(gf, kf, 0, conjB=True)
    del gf, kf
    restored = cv2.idft(out, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    restored = restored[pad : h - pad, pad : w - pad]
    return cv2.cvtColor(np.clip(restored, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _fast_size(n: int) -> int:
    """The largest size up to ``n`` whose only prime factors are 2, 3 and 5 (a fast DFT: a
    997-pixel window took 280 ms, 972 takes 15)."""
    for m in range(n, 0, -1):
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
    return n


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
