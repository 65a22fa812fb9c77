"""The deployment files (deploy/) against the code: every CEREBRO_* variable they name is a declared
setting with a valid value, and every command they run is one the CLI has. Images are never built here
(deploy/README.md); this keeps what they would run from drifting away from the code."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from cerebro_serve.cli import main
from cerebro_serve.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
DECLARED = {spec.metadata["env"] for spec in dataclasses.fields(Settings)}
SETTING_NAME = re.compile(r"\bCEREBRO_[A-Z0-9_]+")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def dockerfile_env(name: str) -> dict[str, str]:
    """The KEY=VALUE pairs of a Dockerfile's ENV instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", (DEPLOY / name).read_text())
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            pairs.update(re.findall(r"(\w+)=(\S+)", line))
    return pairs


@pytest.mark.parametrize("name", ["compose.yaml", "env.example", "compose.env.example", *DOCKERFILES])
def test_deployment_files_name_only_declared_settings(name: str) -> None:
    named = set(SETTING_NAME.findall((DEPLOY / name).read_text()))
    assert named - DECLARED == set(), f"{name} names settings that cerebro_serve/settings.py does not declare"


def literal_settings(env: dict[str, str]) -> dict[str, str]:
    """The CEREBRO_* values given as they are (not `${...}` interpolated from the operator's env file)."""
    return {key: value for key, value in env.items() if key.startswith("CEREBRO_") and "${" not in value}


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_settings_parse(name: str) -> None:
    env = literal_settings(dockerfile_env(name))
    settings = Settings.from_env(env)  # raises on a bad type or a value outside the choices
    assert settings.host == "0.0.0.0" and str(settings.data_dir) == "/data"


@pytest.mark.parametrize("service", ["server", "worker"])
def test_compose_settings_parse(service: str) -> None:
    Settings.from_env(literal_settings(environment(compose()["services"][service])))


def test_compose_runs_the_worker_beside_an_external_training_server() -> None:
    services = compose()["services"]
    assert environment(services["server"])["CEREBRO_TRAINING_WORKER"] == "external"
    assert services["worker"]["command"] == ["worker"]
    for name in ("server", "worker"):
        env = environment(services[name])
        assert env["CEREBRO_DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["CEREBRO_DATABASE_URL"]
        assert "CEREBRO_API_KEY" in env, "the worker and the server must share the admin key"
        assert services[name]["depends_on"]


def commands_run() -> set[str]:
    commands = {service["command"][0] for service in compose()["services"].values() if "command" in service}
    for name in DOCKERFILES:
        (cmd,) = re.findall(r'^CMD \["(\w[\w-]*)"\]', (DEPLOY / name).read_text(), re.MULTILINE)
        commands.add(cmd)
    return commands


@pytest.mark.parametrize("command", sorted(commands_run()))
def test_commands_are_cli_subcommands(command: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([command, "--help"])
    assert stopped.value.code == 0


@pytest.mark.parametrize("name", DOCKERFILES)
def test_entrypoint_is_the_packages_script(name: str) -> None:
    scripts = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]["scripts"]
    (entrypoint,) = re.findall(r'^ENTRYPOINT \["([\w-]+)"\]', (DEPLOY / name).read_text(), re.MULTILINE)
    assert entrypoint in scripts
