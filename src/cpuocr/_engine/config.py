"""Engine configuration as data: frozen dataclasses, built in one place from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .detection import DetectionConfig
from .imaging import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from .models import PRESETS
from .orientation import OrientationConfig
from .preprocess import check_mode
from .recognition import RecognitionConfig
from .runtime import RuntimeConfig


@dataclass(frozen=True)
class EngineConfig:
    preset: str = "default"
    preprocess: str = "auto"
    use_cls: bool = True  # the page-level 0/180° vote
    drop_score: float = 0.5  # lines less confident than this are dropped (det=True only)
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int | None = DEFAULT_MAX_BYTES
    model_dir: Path | None = None
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


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def engine_config_from_env(**overrides: object) -> EngineConfig:
    """EngineConfig from ``CPUOCR_PRESET``, ``CPUOCR_PREPROCESS``, ``CPUOCR_THREADS``,
    ``CPUOCR_MAX_PIXELS``, ``CPUOCR_MODEL_DIR``; explicit ``overrides`` (not None) win."""
    values: dict[str, object] = {}
    if os.environ.get("CPUOCR_PRESET"):
        values["preset"] = os.environ["CPUOCR_PRESET"]
    if os.environ.get("CPUOCR_PREPROCESS"):
        values["preprocess"] = os.environ["CPUOCR_PREPROCESS"]
    threads = _env_int("CPUOCR_THREADS")
    if threads is not None:
        values["runtime"] = RuntimeConfig(threads=threads)
    max_pixels = _env_int("CPUOCR_MAX_PIXELS")
    if max_pixels is not None:
        values["max_pixels"] = max_pixels
    if os.environ.get("CPUOCR_MODEL_DIR"):
        values["model_dir"] = Path(os.environ["CPUOCR_MODEL_DIR"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return EngineConfig(**values)  # type: ignore[arg-type]
