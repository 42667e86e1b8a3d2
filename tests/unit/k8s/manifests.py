"""Loading and checking k8s/: each document against the Kubernetes schemas (kubernetes-validate,
strict: an unknown field is an error), the ServiceMonitor (a CRD kubernetes-validate has no
schema for) against the subset of its CRD schema written below, and the kustomization rendered
by `kubectl kustomize` (kustomize is built into kubectl, part of the machine image).

`problems(directory)` returns every problem found as one line each; the tests call it on k8s/
(expecting none) and on broken copies of it (expecting the break to be named).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

K8S = Path(__file__).resolve().parents[3] / "k8s"

# Every Kubernetes minor kubernetes-validate ships schemas for, from this one on: the manifests
# use nothing newer than the Pod Security labels (1.25), so they must stay valid on all of them.
OLDEST_KUBE = "1.25.0"
# The newest minor the pinned kubernetes-validate (1.37.0) knows; a downgrade of the package
# would silently narrow the check, so it is asserted.
NEWEST_KUBE = "1.37.0"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@functools.cache
def kube_versions() -> tuple[str, ...]:
    versions = tuple(
        v for v in kubernetes_validate.utils.all_versions() if _minor(v) >= _minor(OLDEST_KUBE)
    )
    assert versions and _minor(versions[-1]) >= _minor(NEWEST_KUBE), versions
    return versions


def documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def manifest_files(directory: Path = K8S) -> list[Path]:
    """The Kubernetes objects' files: every YAML file but the kustomization."""
    return sorted(p for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")


def render(directory: Path = K8S) -> list[dict[str, Any]]:
    """`kubectl kustomize DIR`: the objects `kubectl apply -k` would send, generators included."""
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl (with kustomize built in) is part of the machine image"
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d is not None]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


# The ServiceMonitor: kubernetes-validate knows only the built-in kinds. This is the subset of
# prometheus-operator's CRD schema (example/prometheus-operator-crd/
# monitoring.coreos.com_servicemonitors.yaml, monitoring.coreos.com/v1) for the fields a
# ServiceMonitor of watchproxy uses, with the CRD's types, enums, patterns and required fields,
# and closed (additionalProperties false) so a misspelt field fails as the strict schemas do.
# Add a field here, from the CRD, before using it in k8s/servicemonitor.yaml.
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
    r"(([0-9]+)ms)?)$",
}
_KEY_SELECTOR = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string"},
        "name": {"type": "string"},
        "optional": {"type": "boolean"},
    },
}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "namespace": {"type": "string"},
                "labels": _LABELS,
                "annotations": _LABELS,
            },
        },
        "spec": {
            "type": "object",
            "required": ["endpoints", "selector"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": _LABELS,
                        "matchExpressions": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                            "path": {"type": "string"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "honorLabels": {"type": "boolean"},
                            "bearerTokenFile": {"type": "string"},
                            "authorization": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "type": {"type": "string"},
                                    "credentials": _KEY_SELECTOR,
                                },
                            },
                            "tlsConfig": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "serverName": {"type": "string"},
                                    "insecureSkipVerify": {"type": "boolean"},
                                    "ca": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "secret": _KEY_SELECTOR,
                                            "configMap": _KEY_SELECTOR,
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top)"


def check(document: dict[str, Any], version: str) -> list[str]:
    """Problems of one object against `version`'s strict schemas (or the ServiceMonitor's)."""
    return list(_check(json.dumps(document, sort_keys=True), version))


# kubernetes-validate reads its schema files anew on every call (about 10 ms): the broken copies
# of k8s/ in the tests differ from the real one by one object, so each object's answer is kept.
@functools.cache
def _check(text: str, version: str) -> tuple[str, ...]:
    document = json.loads(text)
    name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
    if document.get("apiVersion") == "monitoring.coreos.com/v1":
        validator = jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA)
        return tuple(f"{name}: {_path(e)}: {e.message}" for e in validator.iter_errors(document))
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        return (f"{name} (Kubernetes {e.version}): {_path(e)}: {e.message}",)
    except kubernetes_validate.SchemaNotFoundError as e:
        # A kind nobody checks would pass silently: that is a problem too.
        return (f"{name}: {e.message}",)
    return ()


def check_all(objects: list[dict[str, Any]], where: str) -> Iterator[str]:
    """Each object against every version; the problems of the first version it fails."""
    for document in objects:
        for version in kube_versions():
            found = check(document, version)
            if found:
                yield from (f"{where}: {problem}" for problem in found)
                break


def problems(directory: Path = K8S) -> list[str]:
    """Every problem of the manifests in `directory`: each document of each file, then the
    kustomization's rendering (which adds the generated ConfigMaps)."""
    found: list[str] = []
    for path in manifest_files(directory):
        found.extend(check_all(documents(path), path.name))
    found.extend(check_all(render(directory), "kubectl kustomize"))
    return found
