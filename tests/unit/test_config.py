"""Configuration: the engine's one reader of its variables, the cgroup-aware core count and the
table of exit codes. No models."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import uvicorn.config

import cpuocr
from cpuocr import _exit_codes
from cpuocr._engine import models
from cpuocr._engine.config import (
    MAX_PIXELS_ENV,
    MODEL_DIR_ENV,
    PREPROCESS_ENV,
    PRESET_ENV,
    THREADS_ENV,
    EngineConfig,
)
from cpuocr._engine.runtime import RuntimeConfig, available_cores, cgroup_cpu_quota
from cpuocr.errors import ConfigError

SRC = Path(cpuocr.__file__).resolve().parent
ENGINE_VARIABLES = (PRESET_ENV, PREPROCESS_ENV, THREADS_ENV, MAX_PIXELS_ENV, MODEL_DIR_ENV)

# -- EngineConfig.from_env -----------------------------------------------------------------------


def test_from_env_reads_every_engine_variable() -> None:
    env = {
        PRESET_ENV: "fast",
        PREPROCESS_ENV: " none ",
        THREADS_ENV: "3",
        MAX_PIXELS_ENV: "1000",
        MODEL_DIR_ENV: "~/models",
    }
    cfg = EngineConfig.from_env(env)
    assert (cfg.preset, cfg.preprocess, cfg.max_pixels) == ("fast", "none", 1000)
    assert cfg.runtime.threads == 3
    assert cfg.model_dir == Path("~/models").expanduser()


def test_from_env_without_variables_is_the_default_and_blanks_count_as_unset() -> None:
    assert EngineConfig.from_env({}) == EngineConfig()
    assert EngineConfig.from_env({name: " " for name in ENGINE_VARIABLES}) == EngineConfig()


def test_overrides_win_over_variables_and_none_is_no_override() -> None:
    env = {PRESET_ENV: "fast", PREPROCESS_ENV: "none", THREADS_ENV: "3"}
    cfg = EngineConfig.from_env(env, preset="int8", preprocess=None, threads=2)
    assert (cfg.preset, cfg.preprocess, cfg.runtime.threads) == ("int8", "none", 2)
    explicit = RuntimeConfig(threads=5, graph_optimization="basic")
    assert EngineConfig.from_env(env, runtime=explicit).runtime == explicit


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREPROCESS_ENV, "classic")
    assert EngineConfig.from_env().preprocess == "classic"


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        (THREADS_ENV, "many", THREADS_ENV),
        (MAX_PIXELS_ENV, "1e6", MAX_PIXELS_ENV),
        (MAX_PIXELS_ENV, "-5", "max_pixels"),
        (PRESET_ENV, "huge", "valid presets"),
        (PREPROCESS_ENV, "sharpen", "valid modes"),
    ],
)
def test_bad_variables_fail_loudly(name: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        EngineConfig.from_env({name: value})


def test_model_dir_comes_from_the_config_not_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "elsewhere"))
    assert models.model_dir() == Path.home() / ".cache" / "cpuocr" / "models"
    assert models.model_dir(tmp_path) == tmp_path


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is str}


def test_only_engine_config_names_the_engine_variables() -> None:
    """EngineConfig.from_env is the one reader: no other module names the variables in code."""
    owner = SRC / "_engine" / "config.py"
    assert set(ENGINE_VARIABLES) <= _string_constants(owner)
    for path in sorted(SRC.rglob("*.py")):
        if path != owner:
            named = _string_constants(path) & set(ENGINE_VARIABLES)
            assert not named, f"{path.relative_to(SRC)} names {sorted(named)}"


def test_the_serve_launcher_leaves_the_environment_alone() -> None:
    tree = ast.parse((SRC / "_serving" / "cli.py").read_text(encoding="utf-8"))
    uses = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "putenv", "getenv"))
    ]
    assert uses == []


# -- available_cores -----------------------------------------------------------------------------


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


def _v2(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(text)
    return root


def _v1(root: Path, quota: str, period: str = "100000", controller: str = "cpu") -> Path:
    folder = root / controller
    folder.mkdir(parents=True)
    (folder / "cpu.cfs_quota_us").write_text(quota + "\n")
    (folder / "cpu.cfs_period_us").write_text(period + "\n")
    return root


@pytest.mark.usefixtures("eight_cpus")
def test_no_cgroup_files_means_the_affinity_mask(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cores(tmp_path) == 8


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v2_max_is_no_quota(tmp_path: Path) -> None:
    root = _v2(tmp_path, "max 100000\n")
    assert cgroup_cpu_quota(root) is None
    assert available_cores(root) == 8


@pytest.mark.usefixtures("eight_cpus")
@pytest.mark.parametrize(
    ("cpu_max", "quota", "cores"),
    [
        ("200000 100000\n", 2.0, 2),  # docker run --cpus 2
        ("150000 100000\n", 1.5, 1),  # a fraction is rounded down: never more threads than quota
        ("50000 100000\n", 0.5, 1),  # but at least one
        ("1600000 100000\n", 16.0, 8),  # a quota above the mask: the mask
    ],
)
def test_cgroup_v2_quota_caps_the_cores(
    tmp_path: Path, cpu_max: str, quota: float, cores: int
) -> None:
    root = _v2(tmp_path, cpu_max)
    assert cgroup_cpu_quota(root) == quota
    assert available_cores(root) == cores


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v1_quota_caps_the_cores(tmp_path: Path) -> None:
    assert available_cores(_v1(tmp_path / "a", "300000")) == 3
    assert available_cores(_v1(tmp_path / "b", "250000", controller="cpu,cpuacct")) == 2
    assert available_cores(_v1(tmp_path / "c", "-1")) == 8  # -1: no quota


@pytest.mark.usefixtures("eight_cpus")
def test_v2_wins_over_v1_and_unreadable_values_are_ignored(tmp_path: Path) -> None:
    root = _v1(_v2(tmp_path, "max 100000"), "100000")
    assert available_cores(root) == 8
    assert available_cores(_v2(tmp_path / "junk", "lots 100000")) == 8
    assert available_cores(_v2(tmp_path / "zero", "100000 0")) == 8


def test_an_affinity_mask_smaller_than_the_quota_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert available_cores(_v2(tmp_path, "400000 100000")) == 2


def test_the_engine_threads_follow_the_cgroup_quota(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same count sizes the engine's threads and the service's slots (one function)."""
    from cpuocr._engine import runtime
    from cpuocr._serving import config as serving_config

    assert serving_config.available_cores is runtime.available_cores
    root = _v2(tmp_path, "200000 100000")
    monkeypatch.setattr(runtime, "CGROUP_ROOT", root)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert RuntimeConfig().intra_op_threads() == 2
    assert RuntimeConfig(threads=5).intra_op_threads() == 5


# -- exit codes ----------------------------------------------------------------------------------


def test_exit_codes_are_one_table() -> None:
    codes = {k: v for k, v in vars(_exit_codes).items() if k.startswith("EXIT_")}
    assert codes == {
        "EXIT_OK": 0,
        "EXIT_SHUTDOWN_FORCED": 1,
        "EXIT_BATCH_STOPPED": 1,
        "EXIT_USAGE": 2,
        "EXIT_BAD_INPUT": 3,
        "EXIT_STARTUP_FAILURE": 3,
        "EXIT_MODELS": 4,
        "EXIT_INTERRUPTED": 130,
        "EXIT_BROKEN_PIPE": 141,
    }
    assert uvicorn.config.STARTUP_FAILURE == _exit_codes.EXIT_STARTUP_FAILURE
    for name in codes:
        assert f"``{name}``" in (_exit_codes.__doc__ or "")
