"""The batch's inputs and manifest, on real files in a temporary folder (no engine): which files a
folder or glob gives, where their outputs go, and when an earlier row makes an input done."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from cpuocr._batch.inputs import expand_inputs
from cpuocr._batch.manifest import Manifest
from cpuocr.errors import ConfigError


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _rels(items: list) -> list[str]:  # type: ignore[type-arg]
    return [str(i.rel) for i in items]


def test_a_folder_is_walked_recursively_in_order_and_mirrored(tmp_path: Path) -> None:
    _touch(tmp_path / "in", "b.png", "a.JPG", "sub/c.pdf", "sub/deep/d.tiff", "notes.txt",
           ".hidden.png", ".cache/e.png")  # fmt: skip
    items = expand_inputs([str(tmp_path / "in")])
    assert _rels(items) == ["a", "b", "sub/c", "sub/deep/d"]
    assert items[2].output("json") == PurePosixPath("sub/c.json")


def test_a_walk_takes_regular_files_only(tmp_path: Path) -> None:
    _touch(tmp_path, "a.png")
    os.mkfifo(tmp_path / "pipe.png")  # opening it to hash it would wait forever
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    assert _rels(expand_inputs([str(tmp_path)])) == ["a"]


def test_several_inputs_keep_their_folders_apart(tmp_path: Path) -> None:
    _touch(tmp_path, "x/p.png", "y/p.png", "z.png")
    items = expand_inputs([str(tmp_path / "x"), str(tmp_path / "y"), str(tmp_path / "z.png")])
    assert _rels(items) == ["x/p", "y/p", "z"]


def test_shared_stems_keep_their_suffix_and_clashes_are_numbered(tmp_path: Path) -> None:
    _touch(tmp_path, "in/a.png", "in/a.pdf", "in/b.png", "other/b.png")
    items = expand_inputs([str(tmp_path / "in/a.png"), str(tmp_path / "in/a.pdf")])
    assert _rels(items) == ["a.png", "a.pdf"]
    items = expand_inputs([str(tmp_path / "in/b.png"), str(tmp_path / "other/b.png")])
    assert _rels(items) == ["b", "b-2"]


def test_globs_are_relative_to_their_fixed_folders(tmp_path: Path) -> None:
    _touch(tmp_path, "scans/2024/a.png", "scans/2025/b.jpg", "scans/2025/c.txt")
    items = expand_inputs([str(tmp_path / "scans" / "**" / "*.*")])
    assert _rels(items) == ["2024/a", "2025/b"]


def test_an_explicit_file_is_taken_whatever_its_name_and_duplicates_once(tmp_path: Path) -> None:
    _touch(tmp_path, "scan.dat")
    items = expand_inputs([str(tmp_path / "scan.dat"), str(tmp_path / "scan.dat")])
    assert _rels(items) == ["scan"]


def test_the_output_folder_is_left_out(tmp_path: Path) -> None:
    _touch(tmp_path, "a.png", "out/sub/old.png")
    items = expand_inputs([str(tmp_path)], exclude=tmp_path / "out")
    assert _rels(items) == ["a"]


@pytest.mark.parametrize("spec", ["missing.png", "nothing-*.png"])
def test_an_input_that_names_nothing_stops_before_the_start(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        expand_inputs([str(tmp_path / spec)])


def _row(key: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "output": key,
        "sha256": "h",
        "options": {"det": True},
        "outputs": [f"{key}.txt"],
        "status": "ok",
        "error": None,
    }
    row.update(fields)
    return row


def test_a_row_makes_an_input_done_only_with_the_same_content_options_and_outputs(
    tmp_path: Path,
) -> None:
    manifest = Manifest(tmp_path)
    manifest.append(_row("a"))
    (tmp_path / "a.txt").write_text("text")
    assert manifest.done("a", "h", {"det": True}, ["txt"]) is not None
    assert manifest.done("a", "other", {"det": True}, ["txt"]) is None  # content changed
    assert manifest.done("a", "h", {"det": False}, ["txt"]) is None  # options changed
    assert manifest.done("a", "h", {"det": True}, ["txt", "md"]) is None  # a new format
    (tmp_path / "a.txt").unlink()
    assert manifest.done("a", "h", {"det": True}, ["txt"]) is None  # its output is gone
    assert manifest.done("b", "h", {"det": True}, ["txt"]) is None


def test_bad_input_stays_failed_unless_retried_and_other_failures_are_retried(
    tmp_path: Path,
) -> None:
    manifest = Manifest(tmp_path)
    bad = {"code": "invalid_image", "message": "not an image"}
    manifest.append(_row("bad", status="failed", outputs=[], error=bad))
    lost = {"code": "processing_failed", "message": "a worker died"}
    manifest.append(_row("lost", status="failed", outputs=[], error=lost))
    assert manifest.done("bad", "h", {"det": True}, ["txt"]) is not None
    assert manifest.done("bad", "h", {"det": True}, ["txt"], retry_failed=True) is None
    assert manifest.done("lost", "h", {"det": True}, ["txt"]) is None


def test_a_torn_last_line_is_ignored_and_the_next_row_starts_clean(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    manifest.append(_row("a"))
    manifest.close()
    with open(manifest.path, "a", encoding="utf-8") as f:
        f.write('{"output": "b", "sha2')  # a kill in the middle of a write
    again = Manifest(tmp_path)
    assert list(again.rows) == ["a"] and again.torn == 1
    again.append(_row("c"))
    again.close()
    assert list(Manifest(tmp_path).rows) == ["a", "c"]


def test_compact_keeps_the_latest_row_per_input(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    manifest.append(_row("a", status="failed"))
    manifest.append(_row("b"))
    manifest.append(_row("a"))
    manifest.compact()
    lines = manifest.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["output"] for line in lines] == ["a", "b"]
    assert json.loads(lines[0])["status"] == "ok"
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_file_name_that_is_not_utf8_is_kept_and_read_back(tmp_path: Path) -> None:
    name = b"r\xff".decode("utf-8", "surrogateescape")  # as os.listdir gives it
    manifest = Manifest(tmp_path)
    manifest.append(_row(name, input=f"in/{name}.jpg"))
    manifest.compact()
    again = Manifest(tmp_path)
    assert list(again.rows) == [name] and again.rows[name]["input"] == f"in/{name}.jpg"


def test_a_page_delivered_twice_counts_once(tmp_path: Path) -> None:
    """A retried task (Ray re-runs the tasks of a lost actor) may deliver a page again before
    its document is complete: the document waits for its other pages all the same."""
    import pikepdf

    from cpuocr import EngineConfig, Page
    from cpuocr._batch.local import LocalExecutor
    from cpuocr._batch.runner import Batch
    from cpuocr._batch.work import PageDone, ReadOptions

    pdf = pikepdf.new()
    for _ in range(2):
        pdf.add_blank_page()
    pdf.save(tmp_path / "two.pdf")

    def page(n: int) -> Page:
        return Page(n, 100, 100, 72.0, (100.0, 100.0), lines=(), blocks=())

    class Twice(LocalExecutor):
        def run(self, tasks, skip):  # type: ignore[no-untyped-def]
            assert [(t.index, t.page) for t in tasks] == [(0, 1), (0, 2)]
            yield PageDone(0, 1, page(1), None, 0.1)
            yield PageDone(0, 1, page(1), None, 0.1)  # again
            yield PageDone(0, 2, page(2), None, 0.1)

    options = ReadOptions()
    batch = Batch(
        [str(tmp_path / "two.pdf")], tmp_path / "out", formats=["json"],
        executor=Twice(EngineConfig(), options, 1), config=EngineConfig(), options=options,
    )  # fmt: skip
    rows = list(batch.rows())
    assert [(r["status"], r["pages"]) for r in rows] == [("ok", 2)]
    pages = json.loads((tmp_path / "out" / "two.json").read_text(encoding="utf-8"))["pages"]
    assert [p["number"] for p in pages] == [1, 2]


@pytest.mark.parametrize("pages", ["abc", "0", "5-3", ""])
def test_a_bad_page_range_stops_the_batch_before_the_start(pages: str) -> None:
    from cpuocr._batch.work import ReadOptions

    with pytest.raises(ConfigError):
        ReadOptions(pages=pages)
    assert ReadOptions(pages="2-4,7").pages == "2-4,7" and ReadOptions(pages="5-").pages == "5-"
