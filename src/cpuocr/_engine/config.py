"""Engine configuration as data: frozen dataclasses, built in one place from the environment.

:meth:`EngineConfig.from_env` is the only code that reads the engine's variables
(:data:`PRESET_ENV`, :data:`PREPROCESS_ENV`, :data:`THREADS_ENV`, :data:`MAX_PIXELS_ENV`,
:data:`MODEL_DIR_ENV`, :data:`DEVICE_ENV`); every door (the command line, the service) builds
its config through it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .detection import DetectionConfig
from .imaging import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from .models import PRESETS
from .orientation import OrientationConfig
from .preprocess import check_mode
from .recognition import RecognitionConfig
from .runtime import RuntimeConfig

PRESET_ENV = "CPUOCR_PRESET"
PREPROCESS_ENV = "CPUOCR_PREPROCESS"
THREADS_ENV = "CPUOCR_THREADS"  # RuntimeConfig.threads
MAX_PIXELS_ENV = "CPUOCR_MAX_PIXELS"
MODEL_DIR_ENV = "CPUOCR_MODEL_DIR"
DEVICE_ENV = "CPUOCR_DEVICE"  # RuntimeConfig.device: cpu | cuda | cuda:N


@dataclass(frozen=True)
class EngineConfig:
    preset: str = "default"
    preprocess: str = "auto"
    use_cls: bool = True  # the page-level 0/180° vote
    drop_score: float = 0.5  # lines less confident than this are dropped (det=True only)
    # Lines read less confidently than this are read again from three variants of their crop
    # (padded; contrast-equalised; sharpened) and the most confident reading is kept (det=True
    # only; 0 turns it off). See OCR._second_look.
    second_look_below: float = 0.9
    # A page whose lines' median score is under this is checked for motion blur, and read again
    # deblurred when it shows one (det=True only; 0 turns it off). See OCR._deblurred.
    deblur_below: float = 0.995
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int | None = DEFAULT_MAX_BYTES
    model_dir: Path | None = None  # None: models.model_dir()'s default
    det_model: Path | None = None  # custom model files override the preset's
    rec_model: Path | None = None
    rec_charset: Path | None = None
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    recognition: RecognitionConfig = field(default_factory=RecognitionConfig)
    orientation: OrientationConfig = field(default_factory=OrientationConfig)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            valid = ", ".join(sorted(PRESETS))
            raise ConfigError(f"unknown preset {self.preset!r}; valid presets: {valid}")
        check_mode(self.preprocess)
        if self.max_pixels <= 0:
            raise ConfigError("max_pixels must be positive")

    def with_runtime(self, **changes: Any) -> EngineConfig:
        """This config with ``changes`` to its :class:`RuntimeConfig` (``threads=``,
        ``device=``, ...)."""
        return dataclasses.replace(self, runtime=dataclasses.replace(self.runtime, **changes))

    def with_threads(self, threads: int | None) -> EngineConfig:
        """This config with ``threads`` ONNX Runtime threads (None: the runtime's choice)."""
        return self.with_runtime(threads=threads)

    @property
    def on_gpu(self) -> bool:
        """Whether the models are asked to run on a GPU (``runtime.device`` is not "cpu")."""
        return self.runtime.device != "cpu"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> EngineConfig:
        """The configuration from ``CPUOCR_PRESET``, ``CPUOCR_PREPROCESS``, ``CPUOCR_THREADS``,
        ``CPUOCR_MAX_PIXELS``, ``CPUOCR_MODEL_DIR`` and ``CPUOCR_DEVICE`` (of ``environ``, else
        ``os.environ``; a variable set to blanks counts as unset) over the defaults, and explicit
        ``overrides`` (fields of this class, or ``threads`` / ``device`` for ``runtime.threads``
        / ``runtime.device``; None: not given) over both.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, key in ((PRESET_ENV, "preset"), (PREPROCESS_ENV, "preprocess")):
            text = _env_text(env, name)
            if text is not None:
                values[key] = text
        max_pixels = _env_int(env, MAX_PIXELS_ENV)
        if max_pixels is not None:
            values["max_pixels"] = max_pixels
        model_dir = _env_text(env, MODEL_DIR_ENV)
        if model_dir is not None:
            values["model_dir"] = Path(model_dir).expanduser()
        runtime_env: dict[str, object] = {}
        env_threads = _env_int(env, THREADS_ENV)
        if env_threads is not None:
            runtime_env["threads"] = env_threads
        env_device = _env_text(env, DEVICE_ENV)
        if env_device is not None:
            runtime_env["device"] = env_device
        values.update({k: v for k, v in overrides.items() if v is not None})
        # An explicit runtime replaces the variables' one; threads= and device= go over either.
        runtime = values.get("runtime") or RuntimeConfig(**runtime_env)  # type: ignore[arg-type]
        assert isinstance(runtime, RuntimeConfig)
        changes = {k: values.pop(k) for k in ("threads", "device") if k in values}
        values["runtime"] = dataclasses.replace(runtime, **changes)  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _env_text(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    text = _env_text(env, name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {env[name]!r}") from None
