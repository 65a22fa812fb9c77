"""Render the Helm chart (deploy/helm/cerebro-serve) with Helm's own engine and check what it renders.

No helm binary installs here, so this goes through helm-python-sdk: Helm v4's Go SDK built as a C
library (`helm_python`). `Chart.render` is `helm template`'s rendering, offline (`lookup` finds
nothing, so generated secrets come out fresh); `lint` is `helm lint --strict`. Each value set below is
linted, rendered, and every manifest is validated with kubernetes-validate against the Kubernetes API
schemas of the versions in KUBERNETES_VERSIONS, strictly (an unknown field is an error). Custom resources
(the ServiceMonitor) have no schema there: they are skipped here, and tests/test_deploy.py checks the
ServiceMonitor against the Service it scrapes.

Usage: .venv/bin/python tools/render_chart.py   (exit 1 if any value set fails; `make lint` runs it)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "cerebro-serve"
# The chart's floor (Chart.yaml's kubeVersion) and the newest release kubernetes-validate has schemas for.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
RELEASE = "cerebro-serve"
NAMESPACE = "cerebro"

EXTERNAL_DATABASE = {
    "postgresql": {"enabled": False},
    "externalDatabase": {
        "url": "postgresql://cerebro@db.example.internal:5432/cerebro?sslmode=require",
        "existingSecret": "cerebro-database",
    },
    "adminKey": {"existingSecret": "cerebro-admin-key"},
}
# The deployments an operator would choose between; the defaults: GPU server, worker, bundled PostgreSQL.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cpu": {"gpu": {"enabled": False}},
    "external-postgresql": EXTERNAL_DATABASE,
    "sqlite-without-worker": {"postgresql": {"enabled": False}, "worker": {"enabled": False}},
    "service-monitor": {"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}},
    "vllm-gpu-worker": {
        "worker": {"gpu": True},
        "settings": {"CEREBRO_BACKEND": "vllm", "CEREBRO_MODEL": "/models/embedder"},
        "extraVolumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}}],
        "extraVolumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True}],
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's manifests for `values`, as `helm template` would print them (NOTES.txt left out)."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return [
        document
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document
    ]


def lint(values: dict[str, Any]) -> list[str]:
    """`helm lint --strict` findings above info (Chart.yaml's fields, template syntax, deprecated APIs)."""
    problems = []
    for version in KUBERNETES_VERSIONS:
        report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{version}")
        problems += [f"lint {version}: {m['path']}: {m['error']}" for m in report["messages"] if m["severity"] > 1]
        problems += [f"lint {version}: {error}" for error in report["errors"]]
    return problems


def is_custom_resource(manifest: dict[str, Any]) -> bool:
    """Kinds from CRDs (apiVersion group with a dot and not *.k8s.io), which have no built-in schema."""
    group = manifest["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def schema_errors(manifests: list[dict[str, Any]]) -> list[str]:
    """Every built-in manifest against the strict API schemas of each of KUBERNETES_VERSIONS."""
    errors = []
    for manifest in manifests:
        if is_custom_resource(manifest):
            continue
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(part) for part in error.path)
                errors.append(f"{name} (Kubernetes {version}): {where}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                errors.append(f"{name}: {error.message}")
    return errors


def check(values: dict[str, Any]) -> list[str]:
    """Lint, render and validate one value set; the problems found (a failed render is one)."""
    try:
        manifests = render(values)
    except helm.HelmError as error:
        return [f"render: {error}"]
    return lint(values) + schema_errors(manifests)


def main() -> int:
    helm.disable_logging()  # the library logs each template `fail` it meets while linting
    failed = False
    for name, values in VALUE_SETS.items():
        problems = check(values)
        failed |= bool(problems)
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problems'}")
        for problem in problems:
            print(f"  {problem}")
    versions = " and ".join(KUBERNETES_VERSIONS)
    print(f"chart {CHART.name}: rendered by Helm {helm.helm_sdk_version()}, validated against Kubernetes {versions}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
