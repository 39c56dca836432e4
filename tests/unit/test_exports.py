"""The public face: ``cpuocr.__all__`` is sorted, complete and the only public thing in the
package namespace; every member says it belongs to ``cpuocr``, is documented and survives a
pickle round trip by that name (what a worker process or a Ray actor relies on)."""

from __future__ import annotations

import importlib.metadata
import pickle
import pkgutil
import re
from pathlib import Path

import pytest

import cpuocr

ROOT = Path(__file__).resolve().parents[2]


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff (RUF022) keeps __all__ in: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_is_exactly_the_public_namespace() -> None:
    assert cpuocr.__all__ == sorted(cpuocr.__all__, key=_isort_key)
    public = {name for name in dir(cpuocr) if not name.startswith("_")}
    public -= {"errors"}  # the one public submodule: the exception tree, documented
    assert public == set(cpuocr.__all__)


@pytest.mark.parametrize("name", cpuocr.__all__)
def test_every_member_is_cpuocrs_documented_and_pickles_by_its_public_name(name: str) -> None:
    member = getattr(cpuocr, name)
    assert member.__module__ == "cpuocr"
    assert member.__doc__ and member.__doc__.strip()
    assert pickle.loads(pickle.dumps(member)) is member


def test_every_other_module_is_private() -> None:
    public = [
        m.name
        for m in pkgutil.walk_packages(cpuocr.__path__, "cpuocr.")
        if not any(part.startswith("_") for part in m.name.split(".")[1:])
    ]
    assert public == ["cpuocr.errors"]


def test_the_readme_names_only_public_members() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"cpuocr\._[a-z]", readme)  # no private module
    undocumented = [name for name in cpuocr.__all__ if f"`{name}`" not in readme]
    assert not undocumented


def test_the_version_is_the_package_version() -> None:
    assert cpuocr.__version__ == importlib.metadata.version("cpuocr")
