"""fieldValidation against a real `watchproxy serve` (two etcd shards): raw HTTP, the official
Python client and kubectl 1.32.

Unknown fields of built-in types are never stored (decoding into Go structs drops them); Strict
refuses them with kube's 400 (create, update) or 422 (patch), Warn answers `Warning: 299 - ...`
headers, Ignore says nothing. Duplicate JSON fields likewise (the last one wins).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.integration.conftest import ProxyProcess, make_namespace, pod
from tests.integration.devserver import Kubectl

pytestmark = pytest.mark.etcd

NS = "acme-fieldval"
PODS = f"/api/v1/namespaces/{NS}/pods"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}


@pytest.fixture()
def ns_api(api: httpx.Client) -> Iterator[httpx.Client]:
    make_namespace(api, NS)
    yield api


def typo_pod(name: str) -> dict[str, Any]:
    obj = pod(name)
    obj["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    obj["spec"]["foo"] = 1
    return obj


def stored(api: httpx.Client, path: str) -> dict[str, Any]:
    r = api.get(path)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_strict_create_names_every_unknown_field_and_writes_nothing(ns_api: httpx.Client) -> None:
    r = ns_api.post(PODS, params={"fieldValidation": "Strict"}, json=typo_pod("strict"))
    assert r.status_code == 400, r.text
    status = r.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "BadRequest", 400)
    assert status["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field '
        '"spec.containers[0].imagePullPolicyy", unknown field "spec.foo"'
    )
    assert ns_api.get(f"{PODS}/strict").status_code == 404


def test_warn_is_the_default_and_the_object_is_stored_without_them(ns_api: httpx.Client) -> None:
    r = ns_api.post(PODS, json=typo_pod("warned"))
    assert r.status_code == 201, r.text
    assert r.headers.get_list("warning") == [
        '299 - "unknown field \\"spec.containers[0].imagePullPolicyy\\""',
        '299 - "unknown field \\"spec.foo\\""',
    ]
    for obj in (r.json(), stored(ns_api, f"{PODS}/warned")):
        assert "foo" not in obj["spec"]
        assert "imagePullPolicyy" not in obj["spec"]["containers"][0]


def test_ignore_drops_them_silently(ns_api: httpx.Client) -> None:
    r = ns_api.post(PODS, params={"fieldValidation": "Ignore"}, json=typo_pod("ignored"))
    assert r.status_code == 201, r.text
    assert "warning" not in r.headers
    assert "foo" not in stored(ns_api, f"{PODS}/ignored")["spec"]


def test_duplicate_fields(ns_api: httpx.Client) -> None:
    body = (
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup"},"spec":{"containers":'
        b'[{"name":"c","image":"busybox"}],"nodeName":"","restartPolicy":"Never",'
        b'"restartPolicy":"Always"}}'
    )
    headers = {"content-type": "application/json"}
    r = ns_api.post(PODS, params={"fieldValidation": "Strict"}, content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["message"].endswith(
        'strict decoding error: duplicate field "spec.restartPolicy"'
    )
    r = ns_api.post(PODS, content=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers.get_list("warning") == ['299 - "duplicate field \\"spec.restartPolicy\\""']
    assert stored(ns_api, f"{PODS}/dup")["spec"]["restartPolicy"] == "Always"  # the last wins


YAML_POD = b"""apiVersion: v1
kind: Pod
metadata:
  name: yml
spec:
  restartPolicy: Never
  restartPolicy: Always
  bogus: 1
  containers:
  - name: c
    image: busybox
"""


def test_a_yaml_body(ns_api: httpx.Client) -> None:
    headers = {"content-type": "application/yaml"}
    r = ns_api.post(PODS, params={"fieldValidation": "Strict"}, content=YAML_POD, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: error converting '
        'YAML to JSON: yaml: unmarshal errors:\n  line 7: key "restartPolicy" already set in '
        'map, unknown field "spec.bogus"'
    )
    r = ns_api.post(PODS, content=YAML_POD, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers.get_list("warning") == [
        '299 - "line 7: key \\"restartPolicy\\" already set in map"',
        '299 - "unknown field \\"spec.bogus\\""',
    ]
    spec = stored(ns_api, f"{PODS}/yml")["spec"]
    assert spec["restartPolicy"] == "Always" and "bogus" not in spec


def test_an_unknown_directive_is_kubes_422(ns_api: httpx.Client) -> None:
    r = ns_api.post(PODS, params={"fieldValidation": "strict"}, json=pod("lower"))
    assert r.status_code == 422, r.text
    assert r.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: '
        '"strict": supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_update(ns_api: httpx.Client) -> None:
    assert ns_api.post(PODS, json=pod("upd")).status_code == 201
    current = stored(ns_api, f"{PODS}/upd")
    current["spec"]["bogus"] = True
    r = ns_api.put(f"{PODS}/upd", params={"fieldValidation": "Strict"}, json=current)
    assert r.status_code == 400 and 'unknown field \\"spec.bogus\\"' in r.text
    r = ns_api.put(f"{PODS}/upd", params={"fieldValidation": "Warn"}, json=current)
    assert r.status_code == 200, r.text
    assert r.headers.get_list("warning") == ['299 - "unknown field \\"spec.bogus\\""']
    assert "bogus" not in stored(ns_api, f"{PODS}/upd")["spec"]


def test_patches_check_the_patched_object(ns_api: httpx.Client) -> None:
    assert ns_api.post(PODS, json=pod("pat")).status_code == 201
    path = f"{PODS}/pat"
    r = ns_api.patch(
        path, params={"fieldValidation": "Strict"}, headers=MERGE, json={"spec": {"zz": 1}}
    )
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert status["message"].startswith(' "" is invalid: patch: Invalid value: "{\\"apiVersion')
    assert status["message"].endswith('strict decoding error: unknown field "spec.zz"')
    assert status["details"]["causes"][0]["field"] == "patch"
    # A strategic merge patch's directives are not fields; the patch result has none left.
    directives = {
        "metadata": {"labels": {"a": "b"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"name": "c", "image": "busybox:2"}],
        },
    }
    r = ns_api.patch(path, params={"fieldValidation": "Strict"}, headers=STRATEGIC, json=directives)
    assert r.status_code == 200, r.text
    assert "warning" not in r.headers
    ops = [{"op": "add", "path": "/spec/containers/0/bogus", "value": 1}]
    r = ns_api.patch(path, headers=JSON_PATCH, json=ops)  # Warn, the default
    assert r.status_code == 200, r.text
    assert r.headers.get_list("warning") == ['299 - "unknown field \\"spec.containers[0].bogus\\""']
    assert "bogus" not in stored(ns_api, path)["spec"]["containers"][0]


WIDGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "fvwidgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {
            "plural": "fvwidgets",
            "singular": "fvwidget",
            "kind": "FvWidget",
            "listKind": "FvWidgetList",
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "free": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def test_custom_resources_are_pruned_by_their_schema(ns_api: httpx.Client) -> None:
    r = ns_api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    assert r.status_code in (201, 409), r.text
    widgets = f"/apis/example.com/v1/namespaces/{NS}/fvwidgets"
    deadline = time.monotonic() + 30
    while ns_api.get(widgets).status_code != 200:  # served once Established
        assert time.monotonic() < deadline, "the CRD was never served"
        time.sleep(0.2)
    body = (
        b'{"apiVersion":"example.com/v1","kind":"FvWidget","metadata":{"name":"w","bad":1},'
        b'"spec":{"size":1,"colour":"red","size":2,"free":{"any":{"thing":1}}}}'
    )
    headers = {"content-type": "application/json"}
    r = ns_api.post(widgets, params={"fieldValidation": "Strict"}, content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == (
        'FvWidget in version "v1" cannot be handled as a FvWidget: strict decoding error: '
        'duplicate field "spec.size", unknown field "metadata.bad", unknown field "spec.colour"'
    )
    r = ns_api.post(widgets, content=body, headers=headers)
    assert r.status_code == 201, r.text
    assert len(r.headers.get_list("warning")) == 3
    assert stored(ns_api, f"{widgets}/w")["spec"] == {"size": 2, "free": {"any": {"thing": 1}}}


def test_python_client(proxy: ProxyProcess, ns_api: httpx.Client) -> None:
    """The client's typed models refuse unknown fields before sending; a patch body is a
    plain dict (a strategic merge patch), so the server decides."""
    assert ns_api.post(PODS, json=pod("py")).status_code == 201
    patch = {"metadata": {"labels": {"py": "1"}}, "spec": {"containers": [{"name": "c", "x": 1}]}}
    with k8s.ApiClient(k8s.Configuration(host=proxy.url)) as api_client:
        core = k8s.CoreV1Api(api_client)
        with pytest.raises(ApiException) as caught:
            core.patch_namespaced_pod("py", NS, patch, field_validation="Strict")
        assert caught.value.status == 422
        message = json.loads(str(caught.value.body))["message"]
        assert message.endswith('strict decoding error: unknown field "spec.containers[0].x"')
        assert "py" not in (stored(ns_api, f"{PODS}/py")["metadata"].get("labels") or {})
        patched = core.patch_namespaced_pod("py", NS, patch, field_validation="Warn")
        assert patched.metadata is not None and (patched.metadata.labels or {})["py"] == "1"
        typed = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name="py-ignore"),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="busybox")]),
        )
        created = core.create_namespaced_pod(NS, typed, field_validation="Ignore")
        assert created.metadata is not None and created.metadata.name == "py-ignore"
    assert "x" not in stored(ns_api, f"{PODS}/py")["spec"]["containers"][0]


DEPLOYMENT_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: c
        image: nginx
        bogusField: 1
"""


def test_kubectl(proxy: ProxyProcess, ns_api: httpx.Client, tmp_path: Path) -> None:
    kubectl = Kubectl(proxy.url, tmp_path / "cache")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(json.dumps({**typo_pod("kc"), "metadata": {"name": "kc"}}))
    done = kubectl.run("-n", NS, "create", "-f", str(manifest), "--validate=strict")
    assert done.returncode != 0
    assert (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field '
        '"spec.containers[0].imagePullPolicyy", unknown field "spec.foo"'
    ) in done.stderr
    done = kubectl.run("-n", NS, "create", "-f", str(manifest), "--validate=warn")
    assert done.returncode == 0, done.stderr
    assert 'Warning: unknown field "spec.foo"' in done.stderr
    assert "foo" not in kubectl.json("-n", NS, "get", "pod", "kc")["spec"]

    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(DEPLOYMENT_YAML.format(ns=NS, replicas=1))
    done = kubectl.run("apply", "-f", str(deployment), "--validate=warn")
    assert done.returncode == 0, done.stderr
    assert 'Warning: unknown field "spec.template.spec.containers[0].bogusField"' in done.stderr
    container = kubectl.json("-n", NS, "get", "deployment", "web")["spec"]["template"]["spec"]
    assert "bogusField" not in container["containers"][0]
    # kubectl apply's default is --validate=strict: the patch it sends is refused as kube does.
    deployment.write_text(DEPLOYMENT_YAML.format(ns=NS, replicas=2))
    done = kubectl.run("apply", "-f", str(deployment))
    assert done.returncode != 0
    assert 'The request is invalid: patch: Invalid value: "map[' in done.stderr
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].bogusField"' in (
        done.stderr
    )
    assert kubectl.json("-n", NS, "get", "deployment", "web")["spec"]["replicas"] == 1


def test_a_malformed_time_in_a_status_patch_is_refused(ns_api: httpx.Client) -> None:
    """metav1.Time decodes with time.Parse(RFC3339): kube refuses "garbage" and stores nothing;
    a well-formed time goes through."""
    assert ns_api.post(PODS, json=pod("when")).status_code == 201
    path = f"{PODS}/when/status"
    condition = {"type": "Ready", "status": "True", "lastTransitionTime": "garbage"}
    r = ns_api.patch(path, headers=MERGE, json={"status": {"conditions": [condition]}})
    assert r.status_code == 422, r.text
    assert 'parsing time "garbage"' in r.json()["message"]
    assert "conditions" not in stored(ns_api, f"{PODS}/when").get("status", {})
    condition["lastTransitionTime"] = "2026-01-01T00:00:00Z"
    r = ns_api.patch(path, headers=MERGE, json={"status": {"conditions": [condition]}})
    assert r.status_code == 200, r.text
