"""watchproxy/schema/pruning.py: unknown fields against built-in definitions and CRD schemas,
with kube's paths (sigs.k8s.io/json strict decoding; apiextensions pruning/algorithm.go)."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.schema.builtin import load
from watchproxy.schema.pruning import unknown_fields

DEFS = load().definitions
POD = DEFS["io.k8s.api.core.v1.Pod"]
DEPLOYMENT = {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"any-key": "v"}, "annotations": {"x/y": "z"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
    }


def test_a_valid_pod_has_no_unknown_fields_and_is_untouched() -> None:
    obj = pod(
        nodeSelector={"kubernetes.io/os": "linux"},
        overhead={"cpu": "1"},
        volumes=[{"name": "d", "emptyDir": {"sizeLimit": "1Gi"}}],
    )
    obj["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "name": "http"}]
    obj["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"port": "http", "path": "/"}}
    obj["status"] = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "True"}]}
    before = copy.deepcopy(obj)
    assert unknown_fields(obj, POD, DEFS, remove=True) == []
    assert obj == before


def test_kube_paths_in_document_order_and_removal() -> None:
    obj = pod(foo=1)
    obj["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    obj["spec"]["containers"].append(
        {"name": "d", "image": "x", "ports": [{"containerPort": 1, "zz": 2}]}
    )
    obj["metadata"]["bogus"] = True
    obj["top"] = {}
    assert unknown_fields(obj, POD, DEFS, remove=False) == [
        "metadata.bogus",
        "spec.containers[0].imagePullPolicyy",
        "spec.containers[1].ports[0].zz",
        "spec.foo",
        "top",
    ]
    assert "foo" in obj["spec"]  # remove=False leaves the object alone
    unknown_fields(obj, POD, DEFS, remove=True)
    assert "foo" not in obj["spec"] and "top" not in obj and "bogus" not in obj["metadata"]
    assert obj["spec"]["containers"][0] == {"name": "c", "image": "nginx"}
    assert obj["spec"]["containers"][1]["ports"] == [{"containerPort": 1}]


def test_ref_root_maps_raw_extensions_and_int_or_string() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "ownerReferences": [{"uid": "u", "typo": 1}]},
        "spec": {
            "replicas": 1,
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}, "nope": 1},
                "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]},
            },
        },
    }
    assert unknown_fields(deployment, DEPLOYMENT, DEFS, remove=True) == [
        "metadata.ownerReferences[0].typo",
        "spec.template.metadata.nope",
    ]
    # ControllerRevision.data is a RawExtension and managedFields' fieldsV1 a FieldsV1: anything.
    revision = {
        "metadata": {"managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {"f:x": {}}}}]},
        "data": {"spec": {"anything": [1, {"goes": True}]}},
        "revision": 1,
    }
    schema = DEFS["io.k8s.api.apps.v1.ControllerRevision"]
    assert unknown_fields(revision, schema, DEFS, remove=True) == []


def test_an_empty_go_struct_knows_no_field() -> None:
    crd = {
        "spec": {
            "group": "g",
            "names": {"plural": "xs", "kind": "X"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {"x": 1}},
                    "schema": {"openAPIV3Schema": {"type": "object", "default": {"z": 1}}},
                }
            ],
        }
    }
    schema = DEFS[
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
    ]
    assert unknown_fields(crd, schema, DEFS, remove=False) == [
        "spec.versions[0].subresources.status.x"
    ]


CR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "nested": {"type": "object", "properties": {"keep": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "map": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"x": {"type": "integer"}},
                    },
                },
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "string"}}},
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {}}},
                },
            },
        },
    },
}


def test_custom_resource_pruning() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "extra": 1},
        "spec": {
            "size": 1,
            "nested": {"keep": "k", "drop": 1},
            "free": {"anything": {"deep": 1}},
            "map": {"a": {"x": 1, "y": 2}},
            "items": [{"n": "1", "m": 2}],
            "template": {"apiVersion": "v1", "kind": "K", "metadata": {"zz": 1}, "spec": {"q": 1}},
            "gone": True,
        },
        "status": {"anything": 1},
    }
    found = unknown_fields(obj, CR_SCHEMA, DEFS, remove=True)
    assert sorted(found) == [
        "metadata.extra",
        "spec.gone",
        "spec.items[0].m",
        "spec.map.a.y",
        "spec.nested.drop",
        "spec.template.metadata.zz",
        "spec.template.spec.q",
        "status",
    ]
    assert obj == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {
            "size": 1,
            "nested": {"keep": "k"},
            "free": {"anything": {"deep": 1}},
            "map": {"a": {"x": 1}},
            "items": [{"n": "1"}],
            "template": {"apiVersion": "v1", "kind": "K", "metadata": {}, "spec": {}},
        },
    }


def test_preserve_unknown_fields_still_prunes_below_known_properties() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    obj = {"apiVersion": "a/v1", "kind": "K", "other": {"x": 1}, "spec": {"a": "1", "b": 2}}
    assert unknown_fields(obj, schema, {}, remove=True) == ["spec.b"]
    assert obj["other"] == {"x": 1}


def test_without_object_meta_definition_metadata_is_left_alone() -> None:
    obj = {"metadata": {"whatever": 1}, "spec": {}}
    assert (
        unknown_fields(obj, {"type": "object", "properties": {"spec": {}}}, {}, remove=True) == []
    )
    assert obj["metadata"] == {"whatever": 1}


def test_any_json_never_raises() -> None:
    for value in (None, 1, "s", [], [1, [2]], {"spec": "not an object"}, {"spec": [{"a": 1}]}):
        unknown_fields(value, POD, DEFS, remove=True)
        unknown_fields(value, CR_SCHEMA, DEFS, remove=True)
