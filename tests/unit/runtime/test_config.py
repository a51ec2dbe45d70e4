"""Command line and environment → RuntimeConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.runtime.config import parse_config

pytestmark = pytest.mark.unit


def test_contract_command_line_and_environment(tmp_path):
    script = tmp_path / "predictor.py"
    env = {"MODEL_FILES_PATH": str(tmp_path), "DEPLOYMENT_NAME": "iris", "MODEL_VERSION": "4"}
    argv = ["--host", "0.0.0.0", "--port", "9000", "--component", "transformer"]
    argv += ["--script", str(script), "--framework", "sklearn"]
    config = parse_config(argv, env)
    assert (config.host, config.port, config.component) == ("0.0.0.0", 9000, "transformer")
    assert (config.script, config.framework, config.model_dir) == (script, "sklearn", tmp_path)
    assert (config.name, config.model_version, config.any_name) == ("iris", "4", False)


def test_name_flag_wins_over_deployment_name_and_any_name_is_opt_in():
    config = parse_config(["--name", "route", "--any-name"], {"DEPLOYMENT_NAME": "iris"})
    assert (config.name, config.any_name) == ("route", True)
    assert parse_config([], {"MODEL_NAME": "m"}).name == "m"


def test_defaults_without_environment():
    config = parse_config([], {})
    assert (config.port, config.component, config.script, config.framework) == (
        8080,
        "predictor",
        None,
        None,
    )
    assert config.model_dir == Path.cwd()


def test_script_path_env_is_used_and_relative_scripts_resolve_in_the_model_dir(tmp_path):
    (tmp_path / "p.py").write_text("")
    env = {"MODEL_FILES_PATH": str(tmp_path), "SCRIPT_PATH": ""}
    assert parse_config(["--script", "p.py"], env).script == tmp_path / "p.py"
    env["SCRIPT_PATH"] = str(tmp_path / "p.py")
    assert parse_config([], env).script == tmp_path / "p.py"
    assert parse_config([], {"SCRIPT_PATH": str(tmp_path / "p.py")}).model_dir == tmp_path


def test_unknown_framework_is_a_usage_error():
    with pytest.raises(SystemExit):
        parse_config(["--framework", "torch"], {})


def test_kserves_transformer_arguments_are_accepted():
    argv = ["--component", "transformer", "--predictor_host", "iris-predictor.ns"]
    config = parse_config([*argv, "--model_name", "iris", "--http_port", "8081"], environ={})
    assert (config.name, config.port, config.component) == ("iris", 8081, "transformer")


def test_the_body_bound_follows_the_memory_limit(tmp_path):
    from shipyard.runtime.server import MAX_BODY, MIN_BODY, body_bound, memory_limit

    root = tmp_path / "cgroup"
    (root / "shipyard" / "r1").mkdir(parents=True)
    (root / "shipyard" / "r1" / "memory.max").write_text("268435456\n")
    proc = tmp_path / "self-cgroup"
    proc.write_text("0::/shipyard/r1\n")
    assert memory_limit(proc, root) == 256 * 1024 * 1024
    (root / "shipyard" / "r1" / "memory.max").write_text("max\n")
    assert memory_limit(proc, root) is None
    (root / "memory" / "v1").mkdir(parents=True)
    (root / "memory" / "v1" / "memory.limit_in_bytes").write_text("104857600\n")
    proc.write_text("12:cpu,cpuacct:/x\n5:memory:/v1\n")
    assert memory_limit(proc, root) == 100 * 1024 * 1024
    assert memory_limit(tmp_path / "missing", root) is None

    config = parse_config([], {})
    assert body_bound(config, None) == MAX_BODY
    assert body_bound(config, 256 * 1024 * 1024) == 64 * 1024 * 1024
    assert body_bound(config, 1024) == MIN_BODY
    assert body_bound(config, 1 << 40) == MAX_BODY
    assert body_bound(parse_config(["--max-body-bytes", "5000"], {}), 1 << 30) == 5000
