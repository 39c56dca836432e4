"""The model runtime: ONNX Runtime (the portable default) or OpenVINO (where it is installed and
asked for), behind one small interface — ``run``, ``input_shape``, ``metadata``, ``path``."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import math
import os
import queue
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from ..errors import ConfigError, ModelNotFound

log = logging.getLogger("cpuocr")


@dataclass(frozen=True)
class RuntimeConfig:
    """How every model session is built. ``threads=None`` uses all cores this process may use."""

    threads: int | None = None
    graph_optimization: str = "all"  # all | extended | basic | disabled (ONNX Runtime)
    memory_arena: bool = False  # off: arena growth on varying shapes is what makes RSS creep
    # onnxruntime | openvino; None: the preset's. OpenVINO's precision "bf16" computes on the
    # CPU's bf16 units where it has them (AMX, AVX512-BF16) and in fp32 where it has not.
    backend: str | None = None
    precision: str | None = None
    # cpu | cuda | cuda:N (ONNX Runtime's CUDA provider, from the cpuocr[gpu] extra). Where the
    # CUDA provider or the GPU is missing, the models run on the CPU and say why (a warning).
    device: str = "cpu"

    def __post_init__(self) -> None:
        cuda_device_id(self.device)  # refuse a bad name when the config is made
        object.__setattr__(self, "device", self.device.strip().lower())

    def intra_op_threads(self) -> int:
        if self.threads is not None and self.threads > 0:
            return self.threads
        return available_cores()


#: Where Linux mounts the cgroup file system (v2: the unified hierarchy; v1: one folder per
#: controller). Inside a container it is the container's own cgroup.
CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cores(cgroup_root: Path | None = None) -> int:
    """CPUs this process may use: its affinity mask (``taskset``, ``docker run --cpuset-cpus``),
    capped by the cgroup's CPU quota (``docker run --cpus``, a Kubernetes CPU limit), at least 1.
    ``cgroup_root``: where the cgroup file system is (default :data:`CGROUP_ROOT`).

    A fractional quota is rounded down (1.5 CPUs → 1): the quota is CPU time per period for the
    whole cgroup, so two threads busy on 1.5 CPUs are throttled for the rest of every period, and
    a parallel step waits for its slowest, throttled thread; threads that fit the quota are not.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cores = min(cores, math.floor(quota))
    return max(1, cores)


def cgroup_cpu_quota(cgroup_root: Path | None = None) -> float | None:
    """The cgroup's CPU quota in CPUs (quota / period), or None when there is none or it cannot be
    read. cgroup v2: ``cpu.max`` ("QUOTA PERIOD", or "max PERIOD" for none); v1:
    ``cpu.cfs_quota_us`` (-1 for none) over ``cpu.cfs_period_us`` in the ``cpu`` controller."""
    if cgroup_root is None:
        cgroup_root = CGROUP_ROOT
    try:
        fields = (cgroup_root / "cpu.max").read_text().split()
    except OSError:
        pass
    else:
        if len(fields) < 2 or fields[0] == "max":
            return None
        return _quota(fields[0], fields[1])
    for controller in ("cpu", "cpu,cpuacct"):
        folder = cgroup_root / controller
        try:
            quota = (folder / "cpu.cfs_quota_us").read_text()
            period = (folder / "cpu.cfs_period_us").read_text()
        except OSError:
            continue
        return _quota(quota, period)
    return None


def _quota(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


# glibc's malloc raises its mmap threshold to the size of each large block it frees (up to 32 MB),
# so after one big image the models' 1-32 MB tensors come from the heap, and freed heap memory is
# kept: an engine's RSS stayed at 0.6-0.7 GB after a few large pages (0.2 GB after loading).
# malloc_trim hands the free pages back. Fixing the threshold instead (mallopt) kept RSS lowest but
# cost 10-20% speed (every such tensor mmapped and faulted in anew), so the engine trims instead,
# once per whole image (20-80 ms after a 5 s page, 1-8 ms after a small screenshot); not after a
# small line crop read without detection (~1 ms on a 20 ms read).
TRIM_AFTER_PIXELS = 1_000_000


def trim_freed_memory() -> bool:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``); False where there is
    no glibc. Safe at any time, from any thread."""
    trim = _malloc_trim()
    if trim is None:  # pragma: no cover - not glibc
        return False
    trim(0)
    return True


#: glibc's mallopt parameter for the number of malloc arenas (<malloc.h>).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas for the threads created from now on (False where there is no
    glibc). Each thread that allocates may get an arena of its own, and freed memory scattered
    over many arenas is kept even after ``malloc_trim``: a server's RSS after the adversary test's
    burst came back to idle +0 to +101 MB from run to run with glibc's default (8 arenas per
    core; 8 runs), +3 to +29 MB with 2 (7 runs), at the same speed (BENCHMARKS.md, "Memory")."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, looked up once (it is called after every whole image)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_OPT_LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}


BACKENDS = ("onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16")
CUDA = "CUDAExecutionProvider"
DEVICE_HELP = (
    "where the models run: cpu (default), or cuda / cuda:N with the cpuocr[gpu] extra "
    "(experimental, measured slower than the CPU so far; without a usable GPU: the CPU, with "
    "a warning)"
)
GPU_INSTALL = (
    'pip install "cpuocr[gpu]" && pip uninstall -y onnxruntime && pip install '
    '--force-reinstall --no-deps "onnxruntime-gpu==1.31.1" (both builds install the same '
    "onnxruntime module; README, GPU)"
)


def cuda_device_id(device: str) -> int | None:
    """The CUDA device number ``device`` names ("cuda" is 0), None for "cpu"; ConfigError for
    anything else."""
    name = device.strip().lower()
    if name == "cpu":
        return None
    if name == "cuda":
        return 0
    head, _, number = name.partition(":")
    if head == "cuda" and number.isdigit():
        return int(number)
    raise ConfigError(f"unknown device {device!r}; valid: cpu, cuda, cuda:N (N: the GPU's number)")


def cuda_provider_built_in() -> bool:
    """Whether this onnxruntime build has the CUDA provider (the GPU build, ``cpuocr[gpu]``);
    not whether a GPU is there to take the work."""
    return CUDA in ort.get_available_providers()


@functools.cache
def _say_once(message: str) -> None:
    log.warning("%s", message)


@functools.cache
def _load_cuda_libraries() -> None:
    """Load CUDA's and cuDNN's libraries from the NVIDIA wheels the ``gpu`` extra installs (the
    CUDA provider has no search path of its own for them); once per process. ONNX Runtime prints
    what it could not load: to standard error here, so that standard output stays the answer."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # pragma: no cover - an onnxruntime without it
        return
    with contextlib.redirect_stdout(sys.stderr):
        preload()


def _providers(config: RuntimeConfig) -> list[Any]:
    """ONNX Runtime's providers for ``config.device``: the CUDA provider first where it is asked
    for and this onnxruntime build has it, the CPU always (ops CUDA lacks run there)."""
    device_id = cuda_device_id(config.device)
    if device_id is None:
        return ["CPUExecutionProvider"]
    if not cuda_provider_built_in():
        _say_once(
            f"cpuocr: device {config.device!r} asked for, but this onnxruntime "
            f"({ort.__version__}) has no CUDA provider: running on the CPU. For the GPU: "
            + GPU_INSTALL
        )
        return ["CPUExecutionProvider"]
    _load_cuda_libraries()
    cuda_options = {
        "device_id": device_id,
        # Text lines come in many widths: an exhaustive cuDNN search per new shape would cost
        # more than it saves; the heuristic picks at once.
        "cudnn_conv_algo_search": "HEURISTIC",
        "arena_extend_strategy": "kSameAsRequested",
    }
    return [(CUDA, cuda_options), "CPUExecutionProvider"]


class Model(Protocol):
    """What the stages need from a loaded model with one input."""

    path: Path
    input_shape: list[Any]
    metadata: dict[str, str]
    # Callers round free input dimensions up to a multiple of this (1: any size is as fast).
    # OpenVINO plans each new input shape on first sight (tens of ms), so there it pays to
    # keep the set of shapes small and let its shape cache hit.
    shape_step: int
    device: str  # where it runs: "cpu", or the "cuda[:N]" asked for when the GPU took it

    def run(self, batch: np.ndarray) -> np.ndarray: ...


def load_model(path: Path, config: RuntimeConfig) -> Model:
    """Load ``path`` on the runtime ``config.backend`` names."""
    if config.backend == "openvino":
        if cuda_device_id(config.device) is not None:
            raise ConfigError(
                f"device {config.device!r} needs backend 'onnxruntime' (OpenVINO runs on the CPU)"
            )
        return OpenVinoModel(path, config)
    if config.backend in ("onnxruntime", None):
        return OnnxModel(path, config)
    raise ConfigError(f"unknown backend {config.backend!r}; valid: {', '.join(BACKENDS)}")


class OnnxModel:
    """A loaded ONNX model with one input. ``run`` is thread-safe (ORT sessions are)."""

    shape_step = 1

    def __init__(self, path: Path, config: RuntimeConfig) -> None:
        if not path.is_file():
            raise ModelNotFound(f"model file {path} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.intra_op_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = _OPT_LEVELS[config.graph_optimization]
        opts.enable_cpu_mem_arena = config.memory_arena
        opts.log_severity_level = 3
        self.path = path
        providers = _providers(config)
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        # Where the CUDA provider is built in but cannot start (no GPU, no driver, CUDA or cuDNN
        # libraries missing), ONNX Runtime builds the session on the CPU: say so.
        self.device = "cpu"
        if len(providers) > 1:
            if self.session.get_providers()[0] == CUDA:
                self.device = config.device
            else:
                _say_once(
                    f"cpuocr: device {config.device!r} asked for, but ONNX Runtime's CUDA provider"
                    " could not start (no GPU or driver, or the CUDA 13 / cuDNN 9 libraries are"
                    " missing; ONNX Runtime's log above says which): running on the CPU"
                )
        self.input_name = self.session.get_inputs()[0].name
        self.input_shape = list(self.session.get_inputs()[0].shape)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(out)


# Compiled kernels kept per input shape. OpenVINO's default (5,000) lets memory climb by
# gigabytes over the varied batch shapes of recognition; a small cache keeps most of the speed.
_OV_SHAPE_CACHE = 128


class OpenVinoModel:
    """The same interface on OpenVINO's CPU plugin. ``run`` is thread-safe: each call borrows an
    infer request from a pool (a request is not safe to share) and returns it afterwards."""

    shape_step = 32
    device = "cpu"

    def __init__(self, path: Path, config: RuntimeConfig) -> None:
        if not path.is_file():
            raise ModelNotFound(f"model file {path} does not exist")
        if config.precision not in (*PRECISIONS, None):
            raise ConfigError(
                f"unknown precision {config.precision!r}; valid: {', '.join(PRECISIONS)}"
            )
        try:
            import openvino as ov
        except ImportError:
            raise ConfigError(
                "backend 'openvino' needs the openvino package, which is not installed: "
                "pip install \"cpuocr[openvino]\" (or use backend 'onnxruntime')"
            ) from None
        core = ov.Core()
        model = core.read_model(str(path))
        self.path = path
        self.input_shape = [
            d.get_length() if d.is_static else None for d in model.inputs[0].get_partial_shape()
        ]
        self.metadata = _openvino_metadata(model)
        self.compiled = core.compile_model(
            model,
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": "bf16" if config.precision == "bf16" else "f32",
                "INFERENCE_NUM_THREADS": config.intra_op_threads(),
                "PERFORMANCE_HINT": "LATENCY",
                "NUM_STREAMS": 1,
                "ENABLE_CPU_PINNING": False,  # the cores are shared with other slots/processes
                "CPU_RUNTIME_CACHE_CAPACITY": _OV_SHAPE_CACHE,
            },
        )
        self._output = self.compiled.outputs[0]
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def run(self, batch: np.ndarray) -> np.ndarray:
        try:
            request = self._requests.get_nowait()
        except queue.Empty:
            request = self.compiled.create_infer_request()
        try:
            result = request.infer({0: batch})
            return np.array(result[self._output], copy=True)
        finally:
            self._requests.put(request)


def _openvino_metadata(model: Any) -> dict[str, str]:
    """The ONNX file's metadata_props, which OpenVINO keeps under rt_info["framework"]."""
    if not model.has_rt_info(["framework"]):
        return {}
    framework = model.get_rt_info(["framework"])
    out: dict[str, str] = {}
    for key in framework.astype(dict):
        out[str(key)] = model.get_rt_info(["framework", key]).astype(str)
    return out
