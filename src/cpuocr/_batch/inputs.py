"""The inputs of a batch: files, directories (walked recursively) and glob patterns, expanded in
a stable order, each given the place of its outputs under the output directory.

Where outputs go (the input tree is mirrored):

- a file named on the command line: ``DIR/<its name>``;
- a file found in a directory: ``DIR/<its path below that directory>`` — or, when several
  inputs are given, ``DIR/<the directory's name>/<its path below it>``, so two folders never
  write into each other;
- a file matched by a glob: ``DIR/<its path below the pattern's fixed leading folders>``.

An output file replaces the input's suffix with the format's (``scan.png`` → ``scan.txt``);
when two inputs of one folder share a stem (``a.png`` and ``a.pdf``) both keep their suffix
(``a.png.txt``, ``a.pdf.txt``), and any clash left over gets ``-2``, ``-3``... in input order.
The order is sorted by path, so the same command names the same places every time (which is what
lets a rerun find its earlier outputs).
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ConfigError

#: The suffixes a directory walk or a glob takes (case-insensitive): every image the engine
#: decodes, PDFs and TIFFs. A file named explicitly is taken whatever its name (it is sniffed).
SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm",
     ".pgm", ".pbm", ".pnm", ".pdf"}
)  # fmt: skip
_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class InputFile:
    """One input: ``path`` as found, and ``rel``: where its outputs go below the output
    directory, without the format's suffix (``sub/scan``; the outputs are ``sub/scan.txt``...)."""

    path: Path
    rel: PurePosixPath

    def output(self, fmt: str) -> PurePosixPath:
        return self.rel.with_name(f"{self.rel.name}.{fmt}")


def expand_inputs(specs: Sequence[str], *, exclude: Path | None = None) -> list[InputFile]:
    """Every input ``specs`` names, in a stable order, each with its output place. Files below
    ``exclude`` (the output directory) and hidden files and folders found by a walk are left out.
    A spec that names nothing (no such file, a glob that matches nothing) is a ConfigError: the
    batch does not start on a typo."""
    if not specs:
        raise ConfigError("give at least one input: files, folders or glob patterns")
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, PurePosixPath]] = []
    seen: set[Path] = set()
    several = len(specs) > 1
    for spec in specs:
        matches = _expand_spec(spec, several)
        if not matches:
            raise ConfigError(f"{spec}: no such file or folder (and no file matches it)")
        for path, rel in matches:
            real = path.resolve()
            if real in seen or (excluded is not None and real.is_relative_to(excluded)):
                continue
            seen.add(real)
            found.append((path, rel))
    if not found:
        raise ConfigError("no input files found (the inputs are all inside the output folder)")
    return _place(found)


def _expand_spec(spec: str, several: bool) -> list[tuple[Path, PurePosixPath]]:
    path = Path(spec)
    if path.is_dir():
        prefix = PurePosixPath(path.resolve().name) if several else PurePosixPath()
        return [(p, prefix / rel) for p, rel in _walk(path)]
    if path.is_file():
        return [(path, PurePosixPath(path.name))]
    if _MAGIC & set(spec):
        base = _glob_base(spec)
        out: list[tuple[Path, PurePosixPath]] = []
        for match in sorted(glob.glob(spec, recursive=True)):
            m = Path(match)
            if m.is_dir():
                out.extend((p, _relative(m, base) / rel) for p, rel in _walk(m))
            elif m.is_file() and m.suffix.lower() in SUFFIXES:
                out.append((m, _relative(m, base)))
        return out
    return []


def _walk(root: Path) -> list[tuple[Path, PurePosixPath]]:
    out: list[tuple[Path, PurePosixPath]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in SUFFIXES:
                continue
            path = Path(folder) / name
            if not path.is_file():  # a FIFO, a socket, a device, a dangling link: never opened
                continue
            out.append((path, PurePosixPath(path.relative_to(root).as_posix())))
    return out


def _glob_base(pattern: str) -> Path:
    """The leading folders of a pattern that hold no wildcard (``scans/2024/*.png`` →
    ``scans/2024``)."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _relative(path: Path, base: Path) -> PurePosixPath:
    try:
        return PurePosixPath(path.resolve().relative_to(base.resolve()).as_posix())
    except ValueError:
        return PurePosixPath(path.name)


def _place(found: list[tuple[Path, PurePosixPath]]) -> list[InputFile]:
    """Output stems: the suffix dropped, unless inputs of one folder share the stem with other
    suffixes; any clash left (the same name from two places) gets -2, -3, ... in input order."""
    stems = Counter(rel.with_suffix("") for _, rel in found)
    names = Counter(rel for _, rel in found)
    taken: set[PurePosixPath] = set()
    out: list[InputFile] = []
    for path, rel in found:
        shared = stems[rel.with_suffix("")] > 1 and names[rel] == 1  # a.png beside a.pdf
        stem = rel if shared else rel.with_suffix("")
        candidate, n = stem, 1
        while candidate in taken:
            n += 1
            candidate = stem.with_name(f"{stem.name}-{n}")
        taken.add(candidate)
        out.append(InputFile(path, candidate))
    return out
