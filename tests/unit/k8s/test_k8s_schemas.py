"""k8s/ against the Kubernetes schemas, offline: every document of every file and the rendered
kustomization, strict (unknown fields are errors), for every Kubernetes minor from 1.25 to the
newest kubernetes-validate knows. And the check itself: a broken copy of k8s/ is refused, with
the field named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.k8s.manifests import (
    K8S,
    check,
    documents,
    manifest_files,
    problems,
    render,
)


def test_every_manifest_and_the_rendering_are_valid() -> None:
    assert problems() == []


def test_the_kustomization_lists_every_manifest() -> None:
    """A file left out of kustomization.yaml would be checked here but never applied."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [p.name for p in manifest_files()]
    generated = {f for g in kustomization.get("configMapGenerator", []) for f in g["files"]}
    for name in generated:
        assert (K8S / name).is_file(), name


def test_the_rendering_is_the_files_plus_the_generated_dashboard() -> None:
    listed = sorted(
        (d["kind"], d["metadata"]["name"]) for p in manifest_files() for d in documents(p)
    )
    rendered = sorted((d["kind"], d["metadata"]["name"]) for d in render())
    assert rendered == sorted([*listed, ("ConfigMap", "watchproxy-grafana-dashboard")])


def _edit(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        path = directory / name
        document = yaml.safe_load(path.read_text())
        change(document)
        path.write_text(yaml.safe_dump(document))

    return apply


def _container(document: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = document["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        pytest.param(
            "deployment.yaml",
            lambda d: _container(d).update(imagePullPolice="Always"),
            "'imagePullPolice' was unexpected",
            id="misspelt container field",
        ),
        pytest.param(
            "deployment.yaml",
            lambda d: _container(d)["ports"][0].update(containerPort="6443"),
            "spec.template.spec.containers.0.ports.0.containerPort: '6443' is not of type",
            id="port as a string",
        ),
        pytest.param(
            "deployment.yaml",
            lambda d: d["spec"]["template"]["spec"]["securityContext"].update(
                seccompProfile={"type": "RuntimeDefault", "profile": "x"}
            ),
            "'profile' was unexpected",
            id="unknown field in the seccomp profile",
        ),
        pytest.param(
            "hpa.yaml",
            lambda d: d["spec"].update(minReplicas="3"),
            "spec.minReplicas: '3' is not of type",
            id="HPA replicas as a string",
        ),
        pytest.param(
            "hpa.yaml",
            lambda d: d.update(apiVersion="autoscaling/v2beta1"),
            "Couldn't find schema for kind HorizontalPodAutoscaler",
            id="API version removed from Kubernetes",
        ),
        pytest.param(
            "networkpolicy.yaml",
            lambda d: d["spec"]["egress"][0].update(port=2379),
            "'port' was unexpected",
            id="port outside ports in a NetworkPolicy rule",
        ),
        pytest.param(
            "service.yaml",
            lambda d: d["metadata"].update(label={"a": "b"}),
            "'label' was unexpected",
            id="misspelt metadata field",
        ),
        pytest.param(
            "servicemonitor.yaml",
            lambda d: d["spec"]["endpoints"][0].update(intervall="30s"),
            "'intervall' was unexpected",
            id="misspelt ServiceMonitor endpoint field",
        ),
        pytest.param(
            "servicemonitor.yaml",
            lambda d: d["spec"]["endpoints"][0].update(interval="30 seconds"),
            "spec.endpoints.0.interval: '30 seconds' does not match",
            id="ServiceMonitor interval that is no duration",
        ),
        pytest.param(
            "servicemonitor.yaml",
            lambda d: d["spec"].pop("selector"),
            "'selector' is a required property",
            id="ServiceMonitor without a selector",
        ),
    ],
)
def test_a_broken_manifest_is_refused(
    tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    broken = tmp_path / "k8s"
    shutil.copytree(K8S, broken)
    _edit(name, edit)(broken)
    found = problems(broken)
    # Named in the file and again in the rendering: both paths check.
    assert [p for p in found if p.startswith(f"{name}: ") and expected in p], found
    assert [p for p in found if p.startswith("kubectl kustomize: ") and expected in p], found
    assert all(expected in p for p in found), found


def test_an_unknown_kind_is_a_problem_not_a_pass() -> None:
    document = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert check(document, "1.37.0") == [
        "Widget/w: Couldn't find schema for kind Widget with api version example.com/v1 for"
        " kubernetes version 1.37"
    ]
