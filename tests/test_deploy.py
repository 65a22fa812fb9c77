"""The deployment files (deploy/) against the code: every CEREBRO_* variable they name is a declared
setting with a valid value, and every command they run is one the CLI has. Images are never built here
(deploy/README.md); this keeps what they would run from drifting away from the code. The Helm chart is
rendered by Helm's own engine (tools/render_chart.py) and its manifests are checked the same way."""

from __future__ import annotations

import base64
import dataclasses
import functools
import importlib.util
import math
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cerebro_serve.api.routes.metrics import metrics
from cerebro_serve.cli import main
from cerebro_serve.services.keys import resolve_admin_key
from cerebro_serve.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
DECLARED = {spec.metadata["env"] for spec in dataclasses.fields(Settings)}
SETTING_NAME = re.compile(r"\bCEREBRO_[A-Z0-9_]+")


def load_render_chart() -> ModuleType:
    """tools/ is scripts, not a package: load tools/render_chart.py by its path."""
    spec = importlib.util.spec_from_file_location("render_chart", ROOT / "tools" / "render_chart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


render_chart = load_render_chart()
CHART_FILES = sorted(str(path.relative_to(DEPLOY)) for path in render_chart.CHART.rglob("*") if path.is_file())


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


@pytest.mark.parametrize("name", ["compose.yaml", "env.example", "compose.env.example", *DOCKERFILES, *CHART_FILES])
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


# The Helm chart, rendered: helpers first, since commands_run() below reads the chart too.


@functools.cache
def chart_set(name: str) -> list[dict[str, Any]]:
    """The manifests of one of tools/render_chart.py's value sets (rendered once per test run)."""
    return render_chart.render(render_chart.VALUE_SETS[name])


def chart_values() -> dict[str, Any]:
    return yaml.safe_load((render_chart.CHART / "values.yaml").read_text())


def objects(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def workload(manifests: list[dict[str, Any]], component: str) -> dict[str, Any]:
    """The Deployment or StatefulSet of a component (server, worker, postgresql)."""
    (found,) = [
        m
        for m in manifests
        if m["kind"] in ("Deployment", "StatefulSet")
        and m["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return found


def pod_specs(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in ("Deployment", "StatefulSet")]


def cerebro_containers(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The containers that run a Cerebro Serve image (not PostgreSQL's)."""
    repository = chart_values()["image"]["repository"]
    return [c for spec in pod_specs(manifests) for c in spec["containers"] if c["image"].startswith(f"{repository}:")]


def container(manifests: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [c for c in cerebro_containers(manifests) if c["name"] == name]
    return found


def container_env(manifests: list[dict[str, Any]], found: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees as literal values: its ConfigMaps' data, then its own `env`."""
    config_maps = objects(manifests, "ConfigMap")
    env: dict[str, str] = {}
    for source in found.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]["data"]
    return env | {item["name"]: item["value"] for item in found.get("env", []) if "value" in item}


def secret_refs(found: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Variable -> (Secret, key) for the container's variables read from Secrets."""
    return {
        item["name"]: (item["valueFrom"]["secretKeyRef"]["name"], item["valueFrom"]["secretKeyRef"]["key"])
        for item in found.get("env", [])
        if "valueFrom" in item
    }


def commands_run() -> set[str]:
    commands = {service["command"][0] for service in compose()["services"].values() if "command" in service}
    for name in render_chart.VALUE_SETS:
        commands |= {container["args"][0] for container in cerebro_containers(chart_set(name))}
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


@pytest.mark.parametrize("name", sorted(render_chart.VALUE_SETS))
def test_chart_renders_lints_and_validates(name: str) -> None:
    """helm lint --strict, Helm's rendering, then every built-in manifest against the strict API schemas."""
    assert render_chart.check(render_chart.VALUE_SETS[name]) == []


@pytest.mark.parametrize("name", sorted(render_chart.VALUE_SETS))
def test_chart_settings_are_declared_and_parse(name: str) -> None:
    manifests = chart_set(name)
    for found in cerebro_containers(manifests):
        env = container_env(manifests, found)
        named = set(SETTING_NAME.findall(" ".join([*env, *secret_refs(found)])))
        assert named - DECLARED == set(), f"{found['name']} is given settings that settings.py does not declare"
        settings = Settings.from_env(literal_settings(env))  # raises on a bad type or a value outside the choices
        assert settings.host == "0.0.0.0" and str(settings.data_dir) == "/data"
        assert all(settings.port == port["containerPort"] for port in found.get("ports", []))
        assert "CEREBRO_API_KEY" in secret_refs(found), "the server and the worker need the same admin key"


def test_chart_runs_the_worker_beside_an_external_training_server() -> None:
    manifests = chart_set("defaults")
    server, worker = container(manifests, "server"), container(manifests, "worker")
    assert server["args"] == ["serve"] and worker["args"] == ["worker"]
    server_env, worker_env = container_env(manifests, server), container_env(manifests, worker)
    assert Settings.from_env(literal_settings(server_env)).training_worker == "external"
    assert server_env["CEREBRO_DATABASE_URL"] == worker_env["CEREBRO_DATABASE_URL"]
    assert server_env["CEREBRO_DATABASE_URL"].startswith("postgresql://")
    assert secret_refs(server) == secret_refs(worker) and "PGPASSWORD" in secret_refs(server)
    secret = objects(manifests, "Secret")
    for variable, (name, key) in secret_refs(server).items():
        assert key in secret[name]["data"], f"{variable} reads {name}/{key}, which the chart does not write"


def test_chart_without_worker_trains_on_a_server_thread_over_sqlite() -> None:
    manifests = chart_set("sqlite-without-worker")
    env = container_env(manifests, container(manifests, "server"))
    assert Settings.from_env(literal_settings(env)).training_worker == "thread"
    assert "CEREBRO_DATABASE_URL" not in env and not objects(manifests, "StatefulSet")
    assert [c["name"] for c in cerebro_containers(manifests)] == ["server"]


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"postgresql": {"enabled": False}}, "worker.enabled needs PostgreSQL"),
        ({"externalDatabase": {"url": "postgresql://cerebro@db:5432/cerebro"}}, "are exclusive"),
        (
            {"postgresql": {"enabled": False}, "externalDatabase": {"url": "postgresql://cerebro:secret@db:5432/x"}},
            "without a password",
        ),
        ({"settings": {"CEREBRO_TRAINING_WORKER": "thread"}}, "set by the chart"),
        ({"settings": {"LOG_LEVEL": "debug"}}, "only CEREBRO_* settings"),
        ({"settings": {"CEREBRO_BACKEND": "vllm"}}, "needs a GPU in the worker"),
        ({"gpu": {"enabled": False}, "worker": {"gpu": True}}, "worker.gpu needs gpu.enabled"),
        ({"adminKey": {"value": "ask_NOT-HEX"}}, "adminKey.value must be"),
    ],
)
def test_chart_refuses_what_cannot_work(values: dict[str, Any], refusal: str) -> None:
    with pytest.raises(render_chart.helm.HelmRenderError, match=re.escape(refusal)):
        render_chart.render(values)


def test_chart_generates_an_admin_key_the_server_accepts(tmp_path: Path) -> None:
    (secret,) = objects(chart_set("defaults"), "Secret").values()
    key = base64.b64decode(secret["data"]["api-key"]).decode()
    assert resolve_admin_key(key, tmp_path) == (key, False)  # raises on a key the server would refuse
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_chart_external_database_and_existing_secrets() -> None:
    manifests = chart_set("external-postgresql")
    values = render_chart.VALUE_SETS["external-postgresql"]
    server = container(manifests, "server")
    assert container_env(manifests, server)["CEREBRO_DATABASE_URL"] == values["externalDatabase"]["url"]
    assert secret_refs(server) == {
        "CEREBRO_API_KEY": (values["adminKey"]["existingSecret"], "api-key"),
        "PGPASSWORD": (values["externalDatabase"]["existingSecret"], "password"),
    }
    assert not objects(manifests, "StatefulSet") and not objects(manifests, "Secret")


def test_chart_gpu_switch() -> None:
    gpu, cpu = container(chart_set("defaults"), "server"), container(chart_set("cpu"), "server")
    count = chart_values()["gpu"]["count"]
    assert gpu["image"].endswith(":gpu") and cpu["image"].endswith(":cpu")
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == count == gpu["resources"]["requests"]["nvidia.com/gpu"]
    assert "nvidia.com/gpu" not in {**cpu["resources"]["requests"], **cpu["resources"]["limits"]}
    assert container_env(chart_set("defaults"), gpu)["CEREBRO_DEVICE"] == "cuda"
    assert container_env(chart_set("cpu"), cpu)["CEREBRO_DEVICE"] == "cpu"
    gpu_pod = workload(chart_set("defaults"), "server")["spec"]["template"]["spec"]
    cpu_pod = workload(chart_set("cpu"), "server")["spec"]["template"]["spec"]
    assert gpu_pod["tolerations"] == chart_values()["gpu"]["tolerations"] and "tolerations" not in cpu_pod
    vllm_worker = container(chart_set("vllm-gpu-worker"), "worker")
    assert vllm_worker["image"].endswith(":gpu") and vllm_worker["resources"]["limits"]["nvidia.com/gpu"] == count


def measured_bytes_per_profile() -> float:
    """The largest "KB per profile" bench/RESULTS.md reports for the server at scale, read as KiB."""
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    section = text.split("## Scoring at scale")[1].split("\n## ")[0]
    return max(float(kb) for kb in re.findall(r"(\d+\.\d+) KB per profile", section)) * 1024


@pytest.mark.parametrize("workers", [1, 3])
def test_chart_memory_follows_the_measured_memory_per_profile(workers: int) -> None:
    memory = chart_values()["server"]["memory"]
    assert memory["bytesPerRecord"] >= measured_bytes_per_profile()
    profiles, jobs = 1_000_000, 10_000
    values = {
        "gpu": {"enabled": False},
        "server": {"workers": workers, "memory": {"expectedProfiles": profiles, "expectedJobs": jobs}},
    }
    server = container(render_chart.render(values), "server")
    resources = server["resources"]
    assert {"name": "CEREBRO_WORKERS", "value": str(workers)} in server["env"]
    # The workers map the pools' files: records count once, the base (model, lexicon) once a worker.
    request = memory["baseMiB"]["cpu"] * workers + math.ceil((profiles + jobs) * memory["bytesPerRecord"] / 2**20)
    assert resources["requests"]["memory"] == f"{request}Mi"
    assert resources["limits"]["memory"] == f"{request * (100 + memory['limitHeadroomPercent']) // 100}Mi"


def dockerfile_user() -> int:
    (uid,) = {int(u) for name in DOCKERFILES for u in re.findall(r"^USER (\d+):", (DEPLOY / name).read_text(), re.M)}
    return uid


@pytest.mark.parametrize("name", sorted(render_chart.VALUE_SETS))
def test_chart_pods_run_unprivileged_on_a_read_only_root(name: str) -> None:
    manifests = chart_set(name)
    for spec in pod_specs(manifests):
        assert spec["securityContext"]["runAsNonRoot"] and spec["automountServiceAccountToken"] is False
        for found in spec["containers"]:
            context = found["securityContext"]
            assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
            mounts = {mount["mountPath"]: mount["name"] for mount in found["volumeMounts"]}
            volumes = {volume["name"]: volume for volume in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], "a read-only root needs a writable /tmp"
    for found in cerebro_containers(manifests):
        (spec,) = [s for s in pod_specs(manifests) if found in s["containers"]]
        assert spec["securityContext"]["runAsUser"] == dockerfile_user() == spec["securityContext"]["fsGroup"]
        assert "/data" in {mount["mountPath"] for mount in found["volumeMounts"]}


def test_chart_server_data_volume_and_probes() -> None:
    manifests = chart_set("defaults")
    deployment = workload(manifests, "server")
    spec = deployment["spec"]["template"]["spec"]
    server = spec["containers"][0]
    assert deployment["spec"]["strategy"]["type"] == "Recreate", "a ReadWriteOnce volume holds one pod"
    (data,) = [v for v in spec["volumes"] if v["name"] == "data"]
    assert data["persistentVolumeClaim"]["claimName"] in objects(manifests, "PersistentVolumeClaim")
    assert server["livenessProbe"]["httpGet"]["path"] == server["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    startup = server["startupProbe"]["periodSeconds"] * server["startupProbe"]["failureThreshold"]
    (start_period,) = re.findall(r"--start-period=(\d+)s", (DEPLOY / "Dockerfile.gpu").read_text())
    assert startup >= int(start_period), "the GPU image's own health check allows longer to start"
    assert spec["terminationGracePeriodSeconds"] > server["lifecycle"]["preStop"]["sleep"]["seconds"]


def test_chart_service_monitor_scrapes_the_servers_metrics() -> None:
    """The ServiceMonitor is a custom resource (no schema in kubernetes-validate): checked here against the
    Service it must select and the route the server serves."""
    assert not objects(chart_set("defaults"), "ServiceMonitor")
    manifests = chart_set("service-monitor")
    (monitor,) = objects(manifests, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [
        s for s in objects(manifests, "Service").values() if selector.items() <= s["metadata"]["labels"].items()
    ]
    assert [s["spec"]["selector"]["app.kubernetes.io/component"] for s in selected] == ["server"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in selected[0]["spec"]["ports"]}
    assert endpoint["path"] in metrics.paths
