#!/usr/bin/env bash
# Set up the benchmark environment: a separate virtualenv .venv-bench/ holding the peers
# (RapidOCR, faster-paddle) next to cpuocr itself (with its openvino extra), plus Tesseract 5
# from Debian.
# The peers are benchmark-only: they are never dependencies of the cpuocr package.
#
#   bash scripts/setup-bench.sh          # then: .venv-bench/bin/python benchmarks/run.py --limit 5
#                                        # (or .venv/bin/python -m benchmarks, which re-runs here)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "rapidocr==3.10.0" "onnxruntime==1.31.1" "faster-paddle==1.0.4"
"$VENV/bin/python" -m pip install --quiet -e "$ROOT[openvino,bench]"  # cpuocr:openvino, charts

# Tesseract 5 with Simplified Chinese and English data.
need_apt=0
command -v tesseract >/dev/null 2>&1 || need_apt=1
if [ "$need_apt" = 0 ]; then
    langs="$(tesseract --list-langs 2>/dev/null || true)"
    grep -qx chi_sim <<<"$langs" || need_apt=1
    grep -qx eng <<<"$langs" || need_apt=1
fi
if [ "$need_apt" = 1 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng
fi

echo "peers installed in $VENV:"
"$VENV/bin/python" -m pip list 2>/dev/null | grep -iE '^(rapidocr|faster-paddle|onnxruntime|cpuocr) ' || true
tesseract --version 2>&1 | head -1
