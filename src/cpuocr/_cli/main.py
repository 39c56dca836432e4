"""Command line: ``cpuocr IMAGE...``, ``cpuocr serve``, ``cpuocr bench``, ``cpuocr models install``.

Exit codes: 0 ok, 2 usage (bad flags, unknown preset), 3 bad input (one line on stderr naming the
file and the reason), 4 models missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..errors import ConfigError, CpuocrError, ModelNotFound

EXIT_OK, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_MODELS = 0, 2, 3, 4
_SUBCOMMANDS = ("serve", "bench", "models", "batch")


def _ocr_parser() -> argparse.ArgumentParser:
    from .._engine.models import PRESETS
    from .._engine.preprocess import MODES

    p = argparse.ArgumentParser(
        prog="cpuocr",
        description="Read the text of images (Chinese and English) on the CPU. "
        "Subcommands: serve, bench, models install.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    p.add_argument("--json", action="store_true", help="print the JSON answer (a list for several)")
    p.add_argument("--no-det", action="store_true", help="read each image as one text line")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="model preset")
    p.add_argument("--preprocess", choices=MODES, default=None, help="preprocessing mode")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    return p


def _run_ocr(argv: Sequence[str]) -> int:
    args = _ocr_parser().parse_args(argv)
    from .._engine.config import EngineConfig
    from .._engine.pipeline import OCR

    try:
        ocr = OCR(
            config=EngineConfig.from_env(preset=args.preset, preprocess=args.preprocess),
            threads=args.threads,
        )
    except ModelNotFound as exc:
        print(f"cpuocr: {exc}", file=sys.stderr)
        return EXIT_MODELS
    except ConfigError as exc:
        print(f"cpuocr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    answers = []
    status = EXIT_OK
    for path in args.images:
        try:
            result = ocr(path, det=not args.no_det)
        except CpuocrError as exc:
            print(f"cpuocr: {path}: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            if args.json:
                answers.append(
                    {
                        "success": False,
                        "file": path,
                        "error": {"code": exc.code, "message": str(exc)},
                    }
                )
            continue
        if args.json:
            answers.append({"file": path, **result.to_dict()})
        else:
            if len(args.images) > 1:
                print(f"==> {path} <==")
            for line in result.text:
                print(line)
    if args.json:
        payload = answers[0] if len(args.images) == 1 else answers
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    return status


def _run_models(argv: Sequence[str]) -> int:
    from .._engine import models
    from .._engine.config import EngineConfig

    p = argparse.ArgumentParser(prog="cpuocr models", description="Manage model files.")
    p.add_argument("action", choices=["install", "list", "verify"])
    args = p.parse_args(argv)
    directory = EngineConfig.from_env().model_dir
    if args.action == "install":
        models.install_models(directory)
        return EXIT_OK
    status = EXIT_OK
    for m in models.MODEL_FILES.values():
        try:
            path = models.locate(m, directory, verify=args.action == "verify")
            print(f"ok       {path}")
        except ModelNotFound as exc:
            print(f"missing  {exc}")
            status = EXIT_MODELS
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "models":
            return _run_models(args[1:])
        if args and args[0] == "serve":
            from .._serving.cli import add_serve_arguments, run_serve

            parser = argparse.ArgumentParser(
                prog="cpuocr serve", description="Run the HTTP API and Web UI."
            )
            add_serve_arguments(parser)
            return int(run_serve(parser.parse_args(args[1:])))
        return _run_ocr(args)
    except ConfigError as exc:
        print(f"cpuocr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
