"""``DIR/manifest.jsonl``: one JSON row per input, what a rerun resumes from.

A row is appended (and flushed to disk) the moment an input is finished, after its outputs are
in place; a kill leaves at worst a torn last line, which is ignored. When a run ends, the file is
rewritten (to a temporary name, then renamed) with one row per input, the latest; rows of inputs
that this run did not name are kept.

Row fields: ``input`` (the path as found), ``output`` (the outputs' place below DIR, without a
format suffix: the row's key), ``sha256`` and ``bytes`` of the input, ``options`` (everything
that changes the answer), ``formats``, ``outputs`` (files written, relative to DIR), ``pages``
(pages read), ``status`` (``ok`` or ``failed``), ``seconds``, ``error`` (``{"code",
"message"}`` or null), ``finished`` (UTC, ISO 8601).

An input is done — skipped by a rerun — when its row is ``ok`` with the same ``sha256`` and
``options``, every format asked for is among its outputs, and those files exist. A ``failed``
row with the same content and options is skipped too when its error says the input itself is bad
(it would fail again the same way) unless the rerun asks ``retry_failed``; other failures
(interrupted, a worker lost) are retried.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.jsonl"

#: Error codes that belong to the input itself (the same bytes fail the same way again).
PERMANENT_ERRORS = frozenset(
    {
        "invalid_image",
        "unsupported_format",
        "image_too_large",
        "work_limit_exceeded",
        "config_error",
    }
)

Row = dict[str, Any]


class Manifest:
    """The rows of ``DIR/manifest.jsonl``, by output key; :meth:`append` adds one durably."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / MANIFEST_NAME
        self.rows: dict[str, Row] = {}
        self.torn = 0  # lines that could not be read (a kill mid-write)
        if self.path.exists():
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    row = _parse(line)
                    if row is None:
                        self.torn += line.strip() != ""
                        continue
                    self.rows[row["output"]] = row
        self._file: Any = None

    def done(
        self,
        key: str,
        sha256: str,
        options: Mapping[str, Any],
        formats: Iterable[str],
        *,
        retry_failed: bool = False,
    ) -> Row | None:
        """The earlier row that makes this input done (see the module note), else None."""
        row = self.rows.get(key)
        if row is None or row.get("sha256") != sha256 or row.get("options") != dict(options):
            return None
        if row.get("status") == "ok":
            outputs = row.get("outputs") or []
            wanted = {f"{key}.{fmt}" for fmt in formats}
            if wanted <= set(outputs) and all((self.directory / o).is_file() for o in wanted):
                return row
            return None
        error = row.get("error") or {}
        if (
            not retry_failed
            and row.get("status") == "failed"
            and error.get("code") in (PERMANENT_ERRORS)
        ):
            return row
        return None

    def append(self, row: Row) -> None:
        """Add ``row`` (replacing its key's earlier one), on disk before this returns."""
        # Kept in memory first: a Ctrl-C in the middle of the write below leaves the row for
        # compact() to write (its outputs are already in place when a row is appended).
        self.rows[row["output"]] = row
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
            if self._file.tell() > 0 and not _ends_with_newline(self.path):
                self._file.write("\n")  # after a torn line
        self._file.write(_line(row))
        self._file.flush()
        os.fsync(self._file.fileno())

    def compact(self) -> None:
        """Rewrite the file with one row per key (atomically)."""
        self.close()
        if not self.rows:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for row in self.rows.values():
                f.write(_line(row))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _line(row: Row) -> str:
    """``row`` as one line of JSON: UTF-8 as it is, but a file name that is not valid UTF-8
    (held as lone surrogates) is written as ``\\udcxx`` escapes, which read back the same."""
    try:
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(row, ensure_ascii=True, separators=(",", ":"))
    return text + "\n"


def _parse(line: str) -> Row | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if not isinstance(row, dict) or not isinstance(row.get("output"), str):
        return None
    return row


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
