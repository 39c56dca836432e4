"""``python -m cpuocr.serving``: the same as ``cpuocr serve``."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from .cli import add_serve_arguments, run_serve


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cpuocr.serving", description="Run the HTTP API and Web UI."
    )
    add_serve_arguments(parser)
    try:
        return run_serve(parser.parse_args())
    except ConfigError as exc:
        print(f"cpuocr serve: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
