#!/usr/bin/env bash
# Set up (with test tools) and run every check: ruff lint + format, mypy on src/, pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ctc`.
#
#   bash scripts/test.sh           # everything (the README's test command; CI runs it)
#   bash scripts/test.sh --fast    # daily work: ruff, mypy and the unit tier (`pytest -m unit`:
#                                  # no model weights, no fonts, no server; well under a minute).
#                                  # Sets up only when .venv lacks the test tools.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FAST=0
if [ "${1:-}" = "--fast" ]; then
    FAST=1
    shift
fi
if [ "$FAST" = 0 ] || [ ! -x .venv/bin/ruff ] || [ ! -x .venv/bin/mypy ] || [ ! -x .venv/bin/pytest ]; then
    bash scripts/setup.sh --dev
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
echo "== ruff check"; .venv/bin/ruff check src tests benchmarks scripts
echo "== ruff format --check"; .venv/bin/ruff format --check src tests benchmarks scripts
echo "== mypy src/"; .venv/bin/mypy src
if [ "$FAST" = 1 ]; then
    echo "== pytest -m unit"; .venv/bin/python -m pytest -p no:cacheprovider -m unit "$@"
else
    echo "== pytest"; .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
