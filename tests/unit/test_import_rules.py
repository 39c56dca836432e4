"""The import rules of ARCHITECTURE.md, checked on the source: each private package imports only
the layers below it, the engine never imports a door (serving, CLI, benchmark), and importing the
library pulls in no web framework. A new package must be given its place here (and in
ARCHITECTURE.md) before its imports can pass."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "cpuocr"

#: What each unit of the package may import from the package (besides itself). Leaves first.
ALLOWED: dict[str, set[str]] = {
    "cpuocr.errors": set(),
    "cpuocr._types": set(),
    "cpuocr._exit_codes": set(),
    "cpuocr._deadline": {"cpuocr.errors"},
    "cpuocr._answer": {"cpuocr._types", "cpuocr._documents"},
    "cpuocr._engine": {"cpuocr.errors", "cpuocr._types", "cpuocr._deadline"},
    "cpuocr._documents": {"cpuocr.errors", "cpuocr._types", "cpuocr._deadline", "cpuocr._engine"},
    "cpuocr._writers": {"cpuocr.errors", "cpuocr._types", "cpuocr._documents"},
    "cpuocr._batch": {
        "cpuocr.errors",
        "cpuocr._types",
        "cpuocr._deadline",
        "cpuocr._engine",
        "cpuocr._documents",
        "cpuocr._writers",
    },
    "cpuocr": {
        "cpuocr._batch",
        "cpuocr.errors",
        "cpuocr._types",
        "cpuocr._deadline",
        "cpuocr._engine",
        "cpuocr._documents",
        "cpuocr._writers",
    },
    "cpuocr._serving": {
        "cpuocr",  # __version__
        "cpuocr._answer",
        "cpuocr.errors",
        "cpuocr._types",
        "cpuocr._deadline",
        "cpuocr._exit_codes",
        "cpuocr._engine",
        "cpuocr._documents",
        "cpuocr._writers",
    },
    "cpuocr._cli": {
        "cpuocr",  # __version__
        "cpuocr._batch",
        "cpuocr._answer",
        "cpuocr.errors",
        "cpuocr._types",
        "cpuocr._deadline",
        "cpuocr._exit_codes",
        "cpuocr._engine",
        "cpuocr._documents",
        "cpuocr._writers",
        "cpuocr._serving",
    },
}
#: Packages no module of the product may import.
FORBIDDEN_ROOTS = {"benchmarks", "tests", "rendering"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    """The entry of ALLOWED a module belongs to (its package, or itself for a top module)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "cpuocr"
    candidate = ".".join(parts[:2])
    if candidate in ALLOWED:
        return candidate
    if module == "cpuocr.__main__":
        return "cpuocr._cli"
    raise AssertionError(
        f"{module} has no place in the import rules (tests/unit/{Path(__file__).name})"
    )


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_each_module_imports_only_the_layers_below_it(path: Path) -> None:
    module = _module_name(path)
    unit = _unit(module)
    allowed = ALLOWED[unit] | {unit}
    bad = []
    for target in _imports(path, module):
        root = target.split(".")[0]
        if root in FORBIDDEN_ROOTS:
            bad.append(target)
        if root != "cpuocr" or (target.count(".") == 1 and not _is_module(target)):
            continue  # another package, or a name imported from cpuocr's __init__
        target_unit = _unit(_existing_module(target))
        if target_unit not in allowed:
            bad.append(target)
    assert not bad, f"{module} ({unit}) imports {sorted(bad)}; allowed: {sorted(allowed)}"


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _existing_module(name: str) -> str:
    """The longest prefix of ``name`` that is a module (``from .x import y`` names ``x.y``)."""
    parts = name.split(".")
    while len(parts) > 1 and not _is_module(".".join(parts)):
        parts.pop()
    return ".".join(parts)


def test_importing_the_library_pulls_in_no_web_framework_or_door() -> None:
    code = (
        "import sys, cpuocr; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'uvicorn', 'benchmarks'} or m.startswith('cpuocr._serving') "
        "or m.startswith('cpuocr._cli')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
