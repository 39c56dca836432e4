"""The engine gives the memory of a large image back: RSS after a few big pages stays near its
level after loading the models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from cpuocr import OCR

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

ocr = OCR()
loaded = status("VmRSS")
for path in sys.argv[1:]:
    ocr(path)
print(json.dumps({"loaded": loaded, "end": status("VmRSS"), "peak": status("VmHWM")}))
"""

#: RSS growth allowed from "models loaded" to "after the images" (measured +15 to +63 MB with
#: the trim after large images, +235 to +460 MB without it).
MAX_GROWTH_MB = 120


def test_rss_returns_after_large_pages(data_dir: Path) -> None:
    pages = sorted((data_dir / "omnidocbench_pages" / "images").glob("*.jpg"))[:3]
    receipt = sorted((data_dir / "sroie_en" / "images").glob("*.jpg"))[0]
    paths = [str(p) for p in [*pages, receipt]]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *paths], capture_output=True, text=True, check=True
    ).stdout
    figures = json.loads(out)
    print(figures)
    assert figures["end"] - figures["loaded"] < MAX_GROWTH_MB, figures
