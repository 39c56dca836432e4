"""Command line: ``cpuocr IMAGE...``, ``cpuocr serve``, ``cpuocr models``, ``cpuocr bench``.

A good Unix citizen: ``-`` reads the image from standard input; text goes to standard output and
each failure to standard error as one line naming the file; a closed pipe (``cpuocr *.jpg | head``)
ends the run quietly; ``--json`` prints the answer schema of the REST API (``cpuocr._answer``),
compact unless ``--pretty``. Exit codes: ``cpuocr._exit_codes``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from .._exit_codes import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_MODELS,
    EXIT_OK,
    EXIT_USAGE,
)
from ..errors import ConfigError, CpuocrError, ImageTooLarge, ModelNotFound

_EXTENSIONS = {".txt": "txt", ".json": "json", ".md": "md", ".hocr": "hocr", ".html": "hocr",
               ".pdf": "pdf"}  # fmt: skip
SUBCOMMANDS = {
    "batch": "read many files into a folder (resumable; --ray for a cluster)",
    "serve": "run the HTTP API and the Web UI",
    "models": "install, list or verify the model files",
    "bench": "run the benchmark (from a source checkout)",
}
STDIN = "-"


def _ocr_parser() -> argparse.ArgumentParser:
    from .._documents.reader import TEXT_LAYER_MODES
    from .._engine.models import PRESETS
    from .._engine.preprocess import MODES
    from .._engine.runtime import DEVICE_HELP
    from .._writers import FORMATS

    commands = "\n".join(f"  cpuocr {name:<7} {what}" for name, what in SUBCOMMANDS.items())
    p = argparse.ArgumentParser(
        prog="cpuocr",
        usage="cpuocr [options] IMAGE... | cpuocr {batch,serve,models,bench} ...",
        description="Read the text of images (Chinese and English) on the CPU.",
        epilog=f"other commands (each with --help):\n{commands}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files (or documents, or folders of them) to read; - reads standard input",
    )
    p.add_argument("--version", action="version", version=f"cpuocr {__version__}")
    p.add_argument(
        "--json", action="store_true", help="print the JSON answer (a list for several images)"
    )
    p.add_argument("--pretty", action="store_true", help="indent the JSON for people")
    p.add_argument("--no-det", action="store_true", help="read each image as one text line")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="model preset")
    p.add_argument("--preprocess", choices=MODES, default=None, help="preprocessing mode")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    p.add_argument("--device", default=None, help=DEVICE_HELP)
    docs = p.add_argument_group("documents (PDF, multi-page TIFF) and output formats")
    docs.add_argument("--pages", default=None, help="pages to read, e.g. 1-3,7 (default: all)")
    docs.add_argument("--dpi", type=float, default=None, help="render resolution of PDF pages")
    docs.add_argument(
        "--text-layer",
        choices=TEXT_LAYER_MODES,
        default="auto",
        help="PDF pages with real text: auto takes it where a page has it (default)",
    )
    docs.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="write the document in this format (default: from -o's extension, else text)",
    )
    docs.add_argument("-o", "--output", default=None, help="write to this file (one input)")
    docs.add_argument(
        "--chars", action="store_true", help="JSON: each line's character positions too"
    )
    return p


def _expand_folders(paths: list[str]) -> list[str]:
    """A folder stands for the images and documents in it (recursively, in a stable order; the
    files ``cpuocr batch`` would take); other arguments stay as they are."""
    from .._batch.inputs import expand_inputs

    out: list[str] = []
    for path in paths:
        if path != STDIN and Path(path).is_dir():
            try:
                out.extend(str(item.path) for item in expand_inputs([path]))
            except ConfigError:
                raise ConfigError(f"{path}: a folder with no images or documents in it") from None
        else:
            out.append(path)
    return out


def _read_stdin(max_bytes: int | None) -> bytes:
    """Standard input, refused past ``max_bytes`` without reading further."""
    limit = None if max_bytes is None else max_bytes + 1
    data = sys.stdin.buffer.read() if limit is None else sys.stdin.buffer.read(limit)
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageTooLarge(f"standard input is over the limit of {max_bytes} bytes")
    return data


def _sha256_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _head(path: str, max_bytes: int | None) -> bytes:
    """Enough of a file to tell a document: its head, or the whole of a TIFF (its pages are
    counted from the chain of directories) within the byte limit."""
    from .._documents.sniff import HEAD_BYTES
    from .._documents.tiff import is_tiff

    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
            if is_tiff(head):
                rest = f.read(None if max_bytes is None else max(0, max_bytes - len(head)))
                return head + rest
            return head
    except OSError:
        return b""  # the engine names the problem


def _output_format(args: argparse.Namespace) -> str | None:
    if args.format is not None:
        return str(args.format)
    if args.output is not None:
        fmt = _EXTENSIONS.get(Path(args.output).suffix.lower())
        if fmt is None:
            known = ", ".join(sorted(set(_EXTENSIONS.values())))
            raise ConfigError(
                f"cannot tell the format from {args.output!r}; add --format ({known})"
            )
        return fmt
    return None


def _run_ocr(argv: Sequence[str]) -> int:
    args = _ocr_parser().parse_args(argv)
    from .._answer import error_answer, ocr_answer
    from .._documents.sniff import is_document
    from .._engine.config import EngineConfig
    from .._engine.pipeline import OCR

    args.images = _expand_folders(args.images)
    if args.images.count(STDIN) > 1:
        print("cpuocr: standard input (-) can be read only once", file=sys.stderr)
        return EXIT_USAGE
    fmt = _output_format(args)
    if args.output is not None and len(args.images) > 1:
        print("cpuocr: -o writes one document: give one input", file=sys.stderr)
        return EXIT_USAGE
    try:
        ocr = OCR(
            config=EngineConfig.from_env(
                preset=args.preset,
                preprocess=args.preprocess,
                threads=args.threads,
                device=args.device,
            )
        )
    except ModelNotFound as exc:
        print(f"cpuocr: {exc}", file=sys.stderr)
        return EXIT_MODELS
    answers: list[dict[str, Any]] = []
    status = EXIT_OK
    with ocr:
        for path in args.images:
            shown = "<stdin>" if path == STDIN else path
            try:
                data = _read_stdin(ocr.config.max_bytes) if path == STDIN else None
                head = data if data is not None else _head(path, ocr.config.max_bytes)
                if fmt is not None or is_document(head) or args.pages or args.dpi:
                    answer = _read_document(ocr, args, path, data, fmt)
                    if answer is not None:
                        answers.append({**answer, "file": shown})
                    continue
                result = ocr(data if data is not None else path, det=not args.no_det)
                if data is not None:
                    sha256 = hashlib.sha256(data).hexdigest()
                else:
                    sha256 = _sha256_of(path) if args.json else ""
            except CpuocrError as exc:
                print(f"cpuocr: {shown}: {exc}", file=sys.stderr)
                status = EXIT_BAD_INPUT
                if args.json:
                    answers.append({**error_answer(exc.code, str(exc)), "file": shown})
                continue
            if args.json:
                answers.append({**ocr_answer(result, sha256=sha256), "file": shown})
            else:
                if len(args.images) > 1:
                    print(f"==> {shown} <==")
                for line in result.text:
                    print(line)
                sys.stdout.flush()  # each image's text as soon as it is read
    if args.json and answers:
        payload = answers[0] if len(args.images) == 1 else answers
        indent = 2 if args.pretty else None
        separators = None if args.pretty else (",", ":")
        print(json.dumps(payload, ensure_ascii=False, indent=indent, separators=separators))
        sys.stdout.flush()  # a closed pipe is noticed here, not at the interpreter's exit
    return status


def _read_document(
    ocr: Any,
    args: argparse.Namespace,
    path: str,
    data: bytes | None,
    fmt: str | None,
) -> dict[str, Any] | None:
    """Read a document page by page. Text goes out as each page is read; ``--json`` returns
    the document's answer (for the caller to print); a ``fmt`` is written whole to ``-o`` or
    standard output."""
    from .._answer import document_answer
    from .._documents.reader import iter_pages, read_document
    from .._writers import page_text, write

    source: Any = data if data is not None else path
    shown = "<stdin>" if path == STDIN else path
    options = {
        "ocr": ocr,
        "pages": args.pages,
        "dpi": args.dpi,
        "text_layer": args.text_layer,
        "det": not args.no_det,
    }
    if fmt is None and not args.json:
        for page in iter_pages(source, **options):
            # The page as text: paragraphs joined (Chinese lines without a space), cells of a
            # row on one line, paragraphs apart by a blank line (the txt writer's page).
            print(f"==> {shown} page {page.number} <==")
            sys.stdout.write(page_text(page))
            sys.stdout.flush()  # each page's text as soon as it is read
        return None
    document = read_document(source, **options)
    raw = data if data is not None else Path(path).read_bytes()
    if fmt is None:  # --json
        return document_answer(document, sha256=hashlib.sha256(raw).hexdigest())
    out = write(document, fmt, source=raw, chars=args.chars)
    if args.output is None:
        sys.stdout.buffer.write(out)
        sys.stdout.flush()
    else:
        _write_atomically(Path(args.output), out)
    return None


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary name beside ``target``, then rename: never a half-written file."""
    from .._batch import write_atomically

    try:
        write_atomically(target, data)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None


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


def _run_bench(argv: Sequence[str]) -> int:
    """The benchmark is not in the wheel (it needs the peers, the data and a second venv): from
    a source checkout, ``cpuocr bench ARGS`` runs ``python -m benchmarks ARGS`` there."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / "benchmarks" / "__init__.py").is_file() and (root / "pyproject.toml").is_file():
            command = [sys.executable, "-m", "benchmarks", *argv]
            return subprocess.run(command, cwd=root, check=False).returncode
    print(
        "cpuocr bench: the benchmark is not part of the installed package; run it from a "
        "source checkout of cpuocr: python -m benchmarks --help (see BENCHMARKS.md)",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): point stdout at /dev/null so that the interpreter's
    final flush does not fail again, and end without a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "models":
            return _run_models(args[1:])
        if args and args[0] == "bench":
            return _run_bench(args[1:])
        if args and args[0] == "batch":
            from .batch import run_batch_command

            return run_batch_command(args[1:])
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
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
