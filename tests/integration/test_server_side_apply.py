"""Server-side apply and managedFields with real clients: kubectl, lightkube and the official
Python client, against real etcd and a real `watchproxy serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client as k8s
from lightkube import Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from tests.integration.conftest import ProxyProcess, make_namespace
from tests.integration.test_clients import kubectl

pytestmark = [pytest.mark.etcd, pytest.mark.clients]
APPLY = "application/apply-patch+yaml"
NS = "acme-ssa"


def deployment(replicas: int, name: str = "web") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {NS}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - {{name: nginx, image: nginx, ports: [{{containerPort: 80}}]}}
"""


def get(proxy: ProxyProcess, path: str) -> dict[str, Any]:
    r = httpx.get(proxy.url + path, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (e.get("manager", ""), e["operation"]): e["fieldsV1"]
        for e in obj["metadata"].get("managedFields", [])
    }


def test_kubectl_server_side_apply(proxy: ProxyProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    cache = tmp_path / "cache"
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
    out = kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=deployment(2))
    assert "serverside-applied" in out
    first = get(proxy, path)
    owned = managers(first)[("kubectl", "Apply")]
    container = owned["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert container["f:ports"] == {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
    }
    # The same configuration again changes nothing: no write, the same resourceVersion.
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=deployment(2))
    again = get(proxy, path)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    # Another manager changing replicas conflicts with kubectl's ownership.
    result = kubectl(
        proxy,
        cache,
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        stdin=deployment(5),
        check=False,
    )
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in result
    assert get(proxy, path)["spec"]["replicas"] == 2
    kubectl(
        proxy,
        cache,
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        "-",
        stdin=deployment(5),
    )
    taken = get(proxy, path)
    assert taken["spec"]["replicas"] == 5
    assert "f:replicas" not in managers(taken)[("kubectl", "Apply")]["f:spec"]
    assert "f:replicas" in managers(taken)[("other", "Apply")]["f:spec"]

    shown = yaml.safe_load(
        kubectl(
            proxy, cache, "-n", NS, "get", "deploy", "web", "-o", "yaml", "--show-managed-fields"
        )
    )
    assert {e["manager"] for e in shown["metadata"]["managedFields"]} == {"kubectl", "other"}

    # kubectl scale (no fieldManager): the User-Agent's name, through the scale subresource.
    kubectl(proxy, cache, "-n", NS, "scale", "deploy/web", "--replicas=6")
    result = kubectl(
        proxy,
        cache,
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        stdin=deployment(5),
        check=False,
    )
    assert (
        'conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' in result
    )
    # kubectl diff runs a dry-run apply: the change shows, nothing is written.
    before = get(proxy, path)["metadata"]["resourceVersion"]
    diff = ("diff", "--server-side", "--force-conflicts", "-f", "-")
    out = kubectl(proxy, cache, *diff, stdin=deployment(7), check=False)
    assert "+  replicas: 7" in out
    assert get(proxy, path)["metadata"]["resourceVersion"] == before


def test_client_side_then_server_side(proxy: ProxyProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    cache = tmp_path / "cache"
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: csa, namespace: {NS}}}\n"
    kubectl(proxy, cache, "apply", "-f", "-", stdin=manifest + "data: {a: '1'}\n")
    created = get(proxy, f"/api/v1/namespaces/{NS}/configmaps/csa")
    assert ("kubectl-client-side-apply", "Update") in managers(created)
    # kubectl's migration: a value client-side apply set may change without a conflict.
    out = kubectl(
        proxy, cache, "apply", "--server-side", "-f", "-", stdin=manifest + "data: {a: '2'}\n"
    )
    assert "serverside-applied" in out
    cm = get(proxy, f"/api/v1/namespaces/{NS}/configmaps/csa")
    assert cm["data"] == {"a": "2"}
    last = json.loads(
        cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last["data"] == {"a": "2"}


def test_lightkube_apply(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": proxy.url}}],
            "users": [{"name": "u", "user": {}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    client = Client(config=config, field_manager="lightkube")
    cm = ConfigMap(metadata=ObjectMeta(name="lk", namespace=NS), data={"k": "v"})
    applied = client.apply(cm)
    assert applied.data == {"k": "v"}
    again = client.apply(cm)
    assert applied.metadata is not None and again.metadata is not None
    assert again.metadata.resourceVersion == applied.metadata.resourceVersion  # unchanged
    labels = {"app": "lk"}
    dep = Deployment(
        metadata=ObjectMeta(name="lk", namespace=NS),
        spec=DeploymentSpec(
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="c", image="busybox")]),
            ),
        ),
    )
    out = client.apply(dep)
    assert out.metadata is not None and out.metadata.managedFields is not None
    [entry] = out.metadata.managedFields
    assert (entry.manager, entry.operation) == ("lightkube", "Apply")
    assert out.spec is not None and out.spec.replicas == 1  # defaulted, owned by nobody
    # A second applier of the replicas takes them over without a conflict (nobody owned them).
    scaled = client.apply(
        Deployment(
            metadata=ObjectMeta(name="lk", namespace=NS),
            spec=DeploymentSpec(
                replicas=3, selector=LabelSelector(matchLabels=labels), template=PodTemplateSpec()
            ),
        ),
        field_manager="scaler",
    )
    assert scaled.spec is not None and scaled.spec.replicas == 3


def test_official_client_apply(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    with k8s.ApiClient(k8s.Configuration(host=proxy.url)) as api_client:
        core = k8s.CoreV1Api(api_client)
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "py-ssa"},
            "data": {"a": "1", "b": "2"},
        }
        core.patch_namespaced_config_map(
            "py-ssa", NS, body, field_manager="py", _content_type=APPLY
        )
        body["data"] = {"a": "1"}
        out = core.patch_namespaced_config_map(
            "py-ssa", NS, body, field_manager="py", _content_type=APPLY
        )
        assert out.data == {"a": "1"}
        [entry] = out.metadata.managed_fields  # type: ignore[union-attr,misc]
        assert (entry.manager, entry.operation, entry.fields_v1) == (
            "py",
            "Apply",
            {"f:data": {"f:a": {}}},
        )


def test_http_rules(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
        base = f"/api/v1/namespaces/{NS}/configmaps"
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "h"},
            "data": {"a": "1"},
        }
        r = api.patch(base + "/h", content=json.dumps(cm), headers={"content-type": APPLY})
        assert r.status_code == 422, r.text
        assert r.json()["message"] == (
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
            "is required for apply patch"
        )
        r = api.patch(
            base + "/h?fieldManager=a", content=json.dumps(cm), headers={"content-type": APPLY}
        )
        assert r.status_code == 201, r.text
        # Create and update record the User-Agent's first segment as the manager.
        r = api.put(
            base + "/h",
            json={**cm, "data": {"a": "1", "b": "2"}},
            headers={"user-agent": "kubectl-edit/v1.37.0 (linux/amd64)"},
        )
        assert r.status_code == 200, r.text
        assert managers(r.json())[("kubectl-edit", "Update")] == {"f:data": {"f:b": {}}}
        # A conflicting apply: 409 with one cause per field.
        other = {**cm, "data": {"b": "3"}}
        r = api.patch(
            base + "/h?fieldManager=b", content=json.dumps(other), headers={"content-type": APPLY}
        )
        assert r.status_code == 409, r.text
        status = r.json()
        assert status["reason"] == "Conflict"
        assert status["message"] == (
            'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.b'
        )
        assert status["details"]["causes"] == [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-edit" using v1',
                "field": ".data.b",
            }
        ]
        # managedFields: [{}] resets them.
        current = api.get(base + "/h").json()
        current["metadata"]["managedFields"] = [{}]
        r = api.put(base + "/h", json=current)
        assert r.status_code == 200, r.text
        assert "managedFields" not in r.json()["metadata"]
        # Apply to an object without managedFields: before-first-apply owns what was there.
        r = api.patch(
            base + "/h?fieldManager=c",
            content=json.dumps({**cm, "data": {"c": "1"}}),
            headers={"content-type": APPLY},
        )
        assert r.status_code == 200, r.text
        found = managers(r.json())
        assert found[("before-first-apply", "Update")] == {
            "f:data": {".": {}, "f:a": {}, "f:b": {}}
        }
        assert found[("c", "Apply")] == {"f:data": {"f:c": {}}}


def test_apply_unknown_fields_dry_run_and_status(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
        base = f"/apis/apps/v1/namespaces/{NS}/deployments"
        config = yaml.safe_load(deployment(1, name="u"))
        config["spec"]["bogus"] = 1
        body = json.dumps(config)
        headers = {"content-type": APPLY}
        r = api.patch(
            base + "/u?fieldManager=m&fieldValidation=Strict", content=body, headers=headers
        )
        assert r.status_code == 400, r.text
        assert 'unknown field "spec.bogus"' in r.json()["message"]
        r = api.patch(base + "/u?fieldManager=m&dryRun=All", content=body, headers=headers)
        assert r.status_code == 201, r.text
        assert r.headers["warning"] == '299 - "unknown field \\"spec.bogus\\""'
        assert "bogus" not in r.json()["spec"]
        assert api.get(base + "/u").status_code == 404  # a dry run stores nothing
        r = api.patch(base + "/u?fieldManager=m", content=body, headers=headers)
        assert r.status_code == 201, r.text
        # Through /status the applier owns status only, recorded with the subresource.
        status = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "u"},
            "status": {"observedGeneration": 1},
        }
        r = api.patch(
            base + "/u/status?fieldManager=ctl", content=json.dumps(status), headers=headers
        )
        assert r.status_code == 200, r.text
        entry = next(e for e in r.json()["metadata"]["managedFields"] if e["manager"] == "ctl")
        assert (entry["operation"], entry["subresource"]) == ("Apply", "status")
        assert entry["fieldsV1"] == {"f:status": {"f:observedGeneration": {}}}
        assert r.json()["status"]["observedGeneration"] == 1


THINGS_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.ssa.example.com}
spec:
  group: ssa.example.com
  scope: Namespaced
  names: {plural: things, singular: thing, kind: Thing, listKind: ThingList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              tags: {type: array, items: {type: string}}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  properties: {name: {type: string}, port: {type: integer}}
"""


def thing(tags: list[str], ports: dict[str, int]) -> str:
    items = ", ".join(f"{{name: {n}, port: {p}}}" for n, p in ports.items())
    return (
        f"apiVersion: ssa.example.com/v1\nkind: Thing\nmetadata: {{name: t, namespace: {NS}}}\n"
        f"spec: {{tags: [{', '.join(tags)}], ports: [{items}]}}\n"
    )


def test_custom_resource_apply(proxy: ProxyProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    cache = tmp_path / "cache"
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=THINGS_CRD)
    try:
        _custom_resource_apply(proxy, cache)
    finally:
        kubectl(proxy, cache, "delete", "crd", "things.ssa.example.com", "--wait=false")


def _custom_resource_apply(proxy: ProxyProcess, cache: Path) -> None:
    kubectl(proxy, cache, "wait", "--for", "condition=established", "crd/things.ssa.example.com")
    path = f"/apis/ssa.example.com/v1/namespaces/{NS}/things/t"
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=thing(["a"], {"p1": 1}))
    first = get(proxy, path)
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=thing(["a"], {"p1": 1}))
    assert get(proxy, path)["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert managers(first)[("kubectl", "Apply")]["f:spec"] == {
        "f:ports": {'k:{"name":"p1"}': {".": {}, "f:name": {}, "f:port": {}}},
        "f:tags": {},
    }
    # Another manager adds a port (a map list merges by key) and replaces the atomic tags.
    out = kubectl(
        proxy,
        cache,
        "apply",
        "--server-side",
        "--field-manager=two",
        "--force-conflicts",
        "-f",
        "-",
        stdin=thing(["b"], {"p2": 2}),
    )
    assert "serverside-applied" in out
    spec = get(proxy, path)["spec"]
    assert spec["tags"] == ["b"]
    assert [p["name"] for p in spec["ports"]] == ["p1", "p2"]


STATEFULSET = f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: st, namespace: {NS}}}
spec:
  serviceName: st
  selector: {{matchLabels: {{app: st}}}}
  template:
    metadata: {{labels: {{app: st}}}}
    spec:
      containers: [{{name: c, image: busybox, volumeMounts: [{{name: d, mountPath: /d}}]}}]
  volumeClaimTemplates:
  - metadata: {{name: d}}
    spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
"""


def test_reapplying_an_atomic_list_the_server_defaults_writes_nothing(
    proxy: ProxyProcess, tmp_path: Path
) -> None:
    # volumeClaimTemplates is atomic: the configuration replaces the defaulted list, and only
    # defaulting makes it equal again -- still no write (IgnoreManagedFieldsTimestamps).
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
    cache = tmp_path / "cache"
    path = f"/apis/apps/v1/namespaces/{NS}/statefulsets/st"
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=STATEFULSET)
    first = get(proxy, path)
    kubectl(proxy, cache, "apply", "--server-side", "-f", "-", stdin=STATEFULSET)
    assert get(proxy, path)["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_reset_fields_scale_apply_and_sent_managed_fields(proxy: ProxyProcess) -> None:
    with httpx.Client(base_url=proxy.url, timeout=30) as api:
        make_namespace(api, NS)
        base = f"/apis/apps/v1/namespaces/{NS}/deployments"
        body = yaml.safe_load(deployment(2, name="r"))
        body["status"] = {"replicas": 7}
        # The strategy resets status: the creator owns none of it (GetResetFields).
        r = api.post(base + "?fieldManager=user", json=body)
        assert r.status_code == 201, r.text
        assert "f:status" not in managers(r.json())[("user", "Update")]
        status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "r"}}
        r = api.patch(
            base + "/r/status?fieldManager=controller",
            content=json.dumps({**status, "status": {"replicas": 1}}),
            headers={"content-type": APPLY},
        )
        assert r.status_code == 200, r.text  # no conflict with "user"
        # Apply of a Scale: the replicas' owner conflicts, force takes them (force=maybe is
        # true, as kube converts the parameter).
        scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 4}}
        r = api.patch(
            base + "/r/scale?fieldManager=hpa",
            content=json.dumps(scale),
            headers={"content-type": APPLY},
        )
        assert r.status_code == 409, r.text
        # The Scale's managers are at its own version (ScaleHandler.ToSubresource).
        assert r.json()["message"] == (
            'Apply failed with 1 conflict: conflict with "user" using autoscaling/v1: '
            ".spec.replicas"
        )
        r = api.patch(
            base + "/r/scale?fieldManager=hpa&force=maybe",
            content=json.dumps(scale),
            headers={"content-type": APPLY},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["kind"], r.json()["spec"]) == ("Scale", {"replicas": 4})
        current = get(proxy, base + "/r")
        assert current["spec"]["replicas"] == 4
        entry = next(e for e in current["metadata"]["managedFields"] if e["manager"] == "hpa")
        assert (entry["operation"], entry["subresource"]) == ("Apply", "scale")
        assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
        assert "f:replicas" not in managers(current)[("user", "Update")]["f:spec"]
        # managedFields that do not decode leave the live ones (decodeLiveOrNew).
        before = current["metadata"]["managedFields"]
        for sent in ([{"operation": "Update"}], [*before, {**before[0], "operation": "Bogus"}]):
            current["metadata"]["managedFields"] = sent
            current["metadata"].pop("resourceVersion", None)
            r = api.put(base + "/r", json=current)
            assert r.status_code == 200, r.text
            assert r.json()["metadata"]["managedFields"] == before
