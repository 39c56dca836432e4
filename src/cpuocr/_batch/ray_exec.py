"""Running page tasks on a Ray cluster with Ray Data (the ``ray`` extra: ``pip install
"cpuocr[ray]"``).

Planning runs on the cluster too: a ``map`` over the inputs hashes each file and reads its
header (kind, page count); the driver decides from the manifest what is done. The page tasks then
become a dataset (one row per page: input number, path, page number) cut into
blocks of a few pages, and ``map_batches`` runs them on an actor pool: each actor holds one
engine, built from the batch's :class:`~cpuocr.EngineConfig` with as many ONNX Runtime threads
as the CPUs the actor reserves. Results stream back to the driver (this process) as they finish;
the driver assembles documents and writes the outputs and the manifest, as a local batch does.
A page travels back pickled and zlib-compressed (a dense 66-line page: 88 KB pickled, 24 KB
compressed; BENCHMARKS.md, "Batch", has what that means for a cluster's traffic).

The inputs are read by the actors from their paths: on a cluster they must be on storage every
node sees at the same path (NFS, a mounted bucket); the driver reads them too, to hash them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._engine.config import EngineConfig
from .._engine.runtime import available_cores
from ..errors import ConfigError, ProcessingFailed
from .work import PageDone, PageReader, PageTask, Probe, ReadOptions, probe_input

#: Pages per block: small enough that the blocks spread over every actor, large enough that a
#: million pages is not a million scheduler entries.
PAGES_PER_BLOCK = 8


@dataclasses.dataclass(frozen=True)
class RayOptions:
    """Where and how wide: ``address`` of the cluster (None: start a local Ray on this
    machine's cores, or use the one this process already joined; ``"auto"``: the cluster this
    machine is part of), ``actors`` engines, ``cpus_per_actor`` CPUs (= ONNX Runtime threads)
    each."""

    address: str | None = None
    actors: int = 2
    cpus_per_actor: int = 1


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError('cpuocr batch --ray needs Ray: pip install "cpuocr[ray]"') from None
    return ray


def _quiet_ray_data() -> None:
    """Ray Data logs each execution's plan and end at INFO, and that progress bars are off: the
    batch has its own bar and summary."""
    for handler in logging.getLogger("ray.data").handlers:
        if handler.name == "console":  # its file log (in the Ray session's folder) stays
            handler.setLevel(logging.ERROR)


class _Actor:
    """One engine on a Ray worker (Ray builds it with the batch's config and options)."""

    def __init__(self, config: EngineConfig, options: ReadOptions) -> None:
        self.reader = PageReader(config, options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done = [
            zlib.compress(pickle.dumps(self.reader(PageTask(int(i), str(p), int(n)))), 1)
            for i, p, n in zip(batch["index"], batch["path"], batch["page"], strict=True)
        ]
        out = np.empty(len(done), dtype=object)
        out[:] = done
        return {"done": out}


class RayExecutor:
    """A batch on Ray: planning (hash + header of each input) as a Ray Data ``map`` over the
    inputs, pages on an actor pool (:func:`run_ray`)."""

    def __init__(self, config: EngineConfig, options: ReadOptions, ray_options: RayOptions):
        self.config, self.options, self.ray_options = config, options, ray_options

    def probe(self, inputs: Sequence[tuple[int, str]]) -> Iterator[Probe]:
        if not inputs:
            return
        ray = _start(self.ray_options)
        rows = [{"index": index, "path": path} for index, path in inputs]
        blocks = max(1, min(len(rows), -(-len(rows) // PAGES_PER_BLOCK), 100_000))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map(
            _probe_row,
            fn_kwargs={"options": self.options, "max_bytes": self.config.max_bytes},
            num_cpus=PROBE_CPUS,
        )
        for row in _rows(dataset):
            probe = pickle.loads(row["probe"])
            assert isinstance(probe, Probe)
            yield probe

    def run(
        self, tasks: Sequence[PageTask], skip: Callable[[PageTask], bool]
    ) -> Iterator[PageDone]:
        return run_ray(tasks, self.config, self.options, self.ray_options, skip)


#: CPUs a planning task reserves: it reads and hashes a file (I/O), so several share a CPU.
PROBE_CPUS = 0.25


def _probe_row(row: dict[str, Any], options: ReadOptions, max_bytes: int | None) -> dict[str, Any]:
    return {"probe": pickle.dumps(probe_input(int(row["index"]), str(row["path"]), options,
                                              max_bytes))}  # fmt: skip


def _start(ray_options: RayOptions) -> Any:
    """Ray, joined (or started locally) once per process, quiet."""
    # Offline at run time: no usage statistics sent from a Ray this process starts.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = _ray()
    if not ray.is_initialized():
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if ray_options.address is None:
            ray.init(num_cpus=available_cores(), include_dashboard=False, **quiet)
        else:
            ray.init(address=ray_options.address, **quiet)
    context = ray.data.DataContext.get_current()
    _quiet_ray_data()
    context.enable_progress_bars = False  # the batch draws its own
    context.print_on_execution_start = False
    return ray


def _rows(dataset: Any) -> Iterator[dict[str, Any]]:
    """The rows of ``dataset`` as they are computed; the cluster's failures become
    ProcessingFailed."""
    try:
        yield from dataset.iter_rows()
    except Exception as exc:  # the cluster's failure (an actor that cannot start, a lost node)
        raise ProcessingFailed(f"the Ray run stopped: {type(exc).__name__}: {exc}") from exc


def run_ray(
    tasks: Sequence[PageTask],
    config: EngineConfig,
    options: ReadOptions,
    ray_options: RayOptions,
    skip: Callable[[PageTask], bool] | None = None,
) -> Iterator[PageDone]:
    """Each task's :class:`PageDone` as the cluster finishes it. ``skip`` is not asked: the
    tasks are handed to Ray whole (a failed input's other pages are read and ignored)."""
    if not tasks:
        return
    ray = _start(ray_options)
    config = config.with_threads(ray_options.cpus_per_actor)
    rows = [{"index": t.index, "path": t.path, "page": t.page} for t in tasks]
    blocks = max(1, min(len(rows), -(-len(rows) // PAGES_PER_BLOCK), 100_000))
    blocks = max(blocks, min(len(rows), 4 * ray_options.actors))
    dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
        _Actor,
        fn_constructor_kwargs={"config": config, "options": options},
        batch_size=1,
        batch_format="numpy",
        num_cpus=ray_options.cpus_per_actor,
        compute=ray.data.ActorPoolStrategy(size=ray_options.actors),
    )
    for row in _rows(dataset):
        done = pickle.loads(zlib.decompress(row["done"]))
        assert isinstance(done, PageDone)
        yield done
