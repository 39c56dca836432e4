"""Building the engine: an :class:`~.config.EngineConfig` becomes ready stages.

This is the only place where a preset is looked up, model files are located and models are loaded
(the OnnxTR pattern: a factory builds, the pipeline composes what it is handed). ``OCR()`` calls
:func:`build_stages`; so do the service's slots, tools that need one stage, and worker processes or
Ray actors, which are handed the small, frozen, picklable ``EngineConfig`` and build their own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from . import models as model_store
from .config import EngineConfig
from .detection import TextDetector
from .orientation import LineOrientationClassifier
from .recognition import TextRecognizer
from .runtime import RuntimeConfig, cuda_provider_built_in, load_model


@dataclass(frozen=True)
class ModelFiles:
    """The files an engine loads: the preset's, or custom ones named in the config."""

    det: Path
    rec: Path
    cls: Path | None
    rec_charset: Path | None


@dataclass(frozen=True)
class Stages:
    """The model-backed stages of one engine, and the runtime they were loaded with (the
    preset's backend and precision filled in)."""

    detector: TextDetector
    recognizer: TextRecognizer
    classifier: LineOrientationClassifier | None
    runtime: RuntimeConfig

    def close(self) -> None:
        self.recognizer.close()


def model_files(config: EngineConfig) -> ModelFiles:
    """Locate every file ``config`` needs (ModelNotFound with the install command when one is
    missing; nothing is loaded)."""
    spec = model_store.get_preset(config.preset)
    directory = config.model_dir

    # Only where the GPU build is installed: with the CPU build the models run on the CPU (the
    # engine says so) and keep the preset's own files, int8 where it has them.
    on_gpu = config.on_gpu and cuda_provider_built_in()

    def resolve(custom: Path | None, file: model_store.ModelFile) -> Path:
        if custom is not None:
            return custom
        if on_gpu:  # int8 operators have no CUDA kernels: the GPU gets the fp32 file
            file = model_store.FLOAT_TWINS.get(file.name, file)
        return model_store.locate(file, directory)

    cls = (
        model_store.locate(spec.cls, directory) if spec.cls is not None and config.use_cls else None
    )
    return ModelFiles(
        det=resolve(config.det_model, spec.det),
        rec=resolve(config.rec_model, spec.rec),
        cls=cls,
        rec_charset=config.rec_charset,
    )


def runtime_config(config: EngineConfig) -> RuntimeConfig:
    """The runtime settings of ``config`` with the preset's backend and precision filled in."""
    spec = model_store.get_preset(config.preset)
    return dataclasses.replace(
        config.runtime,
        backend=config.runtime.backend or spec.backend,
        precision=config.runtime.precision or spec.precision,
    )


def build_detector(config: EngineConfig, files: ModelFiles | None = None) -> TextDetector:
    files = files or model_files(config)
    return TextDetector(load_model(files.det, runtime_config(config)), config.detection)


def build_recognizer(config: EngineConfig, files: ModelFiles | None = None) -> TextRecognizer:
    """On ONNX Runtime, recognition runs its batches side by side, one intra-op thread each
    (measured faster than intra-op threads on its small tensors), so the weights are loaded a
    second time as a one-thread session; detection keeps intra-op threads. OpenVINO spreads one
    batch over the cores well, and a GPU takes one batch at a time: neither gets the pool."""
    files = files or model_files(config)
    runtime = runtime_config(config)
    threads = runtime.intra_op_threads()
    side_by_side = threads > 1 and runtime.backend == "onnxruntime" and runtime.device == "cpu"
    single = dataclasses.replace(runtime, threads=1)
    return TextRecognizer(
        load_model(files.rec, runtime),
        config.recognition,
        files.rec_charset,
        parallel_model=load_model(files.rec, single) if side_by_side else None,
        parallel_batches=threads,
    )


def build_classifier(
    config: EngineConfig, files: ModelFiles | None = None
) -> LineOrientationClassifier | None:
    files = files or model_files(config)
    if files.cls is None:
        return None
    return LineOrientationClassifier(
        load_model(files.cls, runtime_config(config)), config.orientation
    )


def build_stages(config: EngineConfig) -> Stages:
    """Every stage of ``config``, its files located once."""
    files = model_files(config)
    return Stages(
        detector=build_detector(config, files),
        recognizer=build_recognizer(config, files),
        classifier=build_classifier(config, files),
        runtime=runtime_config(config),
    )
