"""``cpuocr batch INPUT... --out DIR``: many files, resumable, on this machine or on Ray.

A progress bar (files, pages, pages/s, ETA) on standard error when it is a terminal, nothing
when it is not; each failed input as one line on standard error as it fails; the summary on
standard output at the end. Exit codes: 0 every input done, 3 some input failed (its manifest
row says why), 2 usage, 4 models missing, 1 the run itself stopped (a Ray cluster failed),
130 interrupted (a rerun resumes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .._exit_codes import (
    EXIT_BAD_INPUT,
    EXIT_BATCH_STOPPED,
    EXIT_INTERRUPTED,
    EXIT_MODELS,
    EXIT_OK,
)
from ..errors import ModelNotFound, ProcessingFailed


def batch_parser() -> argparse.ArgumentParser:
    from .._batch import BATCH_MAX_PAGES
    from .._documents.reader import TEXT_LAYER_MODES
    from .._engine.models import PRESETS
    from .._engine.preprocess import MODES
    from .._engine.runtime import DEVICE_HELP
    from .._writers import FORMATS

    p = argparse.ArgumentParser(
        prog="cpuocr batch",
        description=(
            "Read many files into a folder: one output per input and format (the input tree "
            "mirrored) and DIR/manifest.jsonl. Rerunning the same command skips what is done."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (recursive), globs")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="the output folder")
    p.add_argument(
        "--format",
        default="txt,json",
        help=f"output formats, comma-separated: {','.join(FORMATS)} (default: txt,json)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: one per core; each gets cores/workers threads)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: a cluster address (ray://host:10001, auto), or none for a local Ray",
    )
    p.add_argument("--actors", type=int, default=2, help="--ray: engines (actors), default 2")
    p.add_argument(
        "--cpus-per-actor", type=int, default=1, help="--ray: CPUs (= threads) per actor"
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="model preset")
    p.add_argument("--preprocess", choices=MODES, default=None, help="preprocessing mode")
    p.add_argument("--device", default=None, help=DEVICE_HELP + " (not with --ray yet)")
    p.add_argument("--no-det", action="store_true", help="read each image as one text line")
    p.add_argument("--pages", default=None, help="pages of each document, e.g. 1-3,7")
    p.add_argument("--dpi", type=float, default=None, help="render resolution of PDF pages")
    p.add_argument("--text-layer", choices=TEXT_LAYER_MODES, default="auto")
    p.add_argument(
        "--max-pages",
        type=int,
        default=BATCH_MAX_PAGES,
        help=f"pages of one document at most (default {BATCH_MAX_PAGES})",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="read again inputs that failed as bad input in an earlier run",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="the progress bar: auto = only when standard error is a terminal",
    )
    return p


def run_batch_command(argv: Sequence[str]) -> int:
    args = batch_parser().parse_args(argv)
    from .._batch import RayOptions, make_batch
    from .._engine.config import EngineConfig
    from .._engine.factory import model_files
    from ..errors import ConfigError

    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.actors < 1 or args.cpus_per_actor < 1:
        raise ConfigError("--actors and --cpus-per-actor must be at least 1")
    config = EngineConfig.from_env(
        preset=args.preset, preprocess=args.preprocess, device=args.device
    )
    if config.on_gpu and args.ray is not None:
        raise ConfigError(
            "--device cuda with --ray is not supported yet: Ray's actors reserve no GPU"
        )
    try:
        model_files(config)
    except ModelNotFound as exc:
        print(f"cpuocr: {exc}", file=sys.stderr)
        return EXIT_MODELS
    ray = None
    if args.ray is not None:
        address = None if args.ray == "local" else args.ray
        ray = RayOptions(address=address, actors=args.actors, cpus_per_actor=args.cpus_per_actor)
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    bar = _Bar() if show else None
    batch = make_batch(
        args.inputs,
        args.out,
        formats=[f.strip() for f in args.format.split(",") if f.strip()],
        config=config,
        det=not args.no_det,
        pages=args.pages,
        dpi=args.dpi,
        text_layer=args.text_layer,
        max_pages=args.max_pages,
        workers=args.workers,
        ray=ray,
        retry_failed=args.retry_failed,
        on_progress=bar.update if bar is not None else None,
    )
    interrupted = False
    failure = None
    try:
        for row in batch.rows():
            if row["status"] != "ok":
                message = f"cpuocr: {row['input']}: {row['error']['message']}"
                if bar is not None:
                    bar.write(message)
                else:
                    print(message, file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        interrupted = True
    except ProcessingFailed as exc:  # the executor itself failed (Ray): the rows so far stand
        failure = str(exc)
    except OSError as exc:  # the output folder itself: full, read-only, gone
        failure = f"cannot write to {args.out}: {exc.strerror or exc}"
    finally:
        if bar is not None:
            bar.close()
    summary = batch.summary
    assert summary is not None
    print(str(summary) + ("; interrupted: run the same command again to resume" * interrupted))
    if interrupted:
        return EXIT_INTERRUPTED
    if failure is not None:
        print(f"cpuocr: {failure}; run the same command again to resume", file=sys.stderr)
        return EXIT_BATCH_STOPPED
    return EXIT_BAD_INPUT if summary.failed or summary.skipped_failed else EXIT_OK


class _Bar:
    """tqdm over pages; its text says files done/total and failures."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar: Any = tqdm(total=0, unit="page", file=sys.stderr, dynamic_ncols=True)
        self._bar.set_description_str("planning")

    def update(self, progress: Any) -> None:
        bar = self._bar
        if bar.total != progress.pages_total:
            bar.total = progress.pages_total
        bar.n = progress.pages_done
        done = progress.files_done + progress.files_skipped
        state = "planning" if progress.planning else "files"
        failed = f", {progress.files_failed} failed" if progress.files_failed else ""
        bar.set_description_str(f"{state} {done}/{progress.files_total}{failed}", refresh=False)
        bar.refresh()

    def write(self, message: str) -> None:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        self._bar.close()
