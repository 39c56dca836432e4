#!/usr/bin/env bash
# Set up (with test tools) and run every check: ruff lint + format, mypy on src/, pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k ctc`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --dev
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
echo "== ruff check"; .venv/bin/ruff check src tests benchmarks scripts
echo "== ruff format --check"; .venv/bin/ruff format --check src tests benchmarks scripts
echo "== mypy src/"; .venv/bin/mypy src
echo "== pytest"; .venv/bin/python -m pytest -p no:cacheprovider "$@"
