"""openvino is an extra (``cpuocr[openvino]``): without it, the openvino backend fails with a
ConfigError that names the command installing it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from cpuocr._engine.runtime import RuntimeConfig, load_model
from cpuocr.errors import ConfigError


def test_openvino_backend_without_the_package_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"")  # never read: the import fails first
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    with pytest.raises(ConfigError, match=re.escape('pip install "cpuocr[openvino]"')):
        load_model(model, RuntimeConfig(backend="openvino"))
