"""Server-side apply: merging, ownership, pruning, conflicts (structured-merge-diff
merge/update.go and apimachinery's managedfields/internal)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from watchproxy.api.status import ApiError
from watchproxy.registry.fieldmanager import apply, track
from watchproxy.registry.fieldmanager.apply import LAST_APPLIED, build_last_applied
from watchproxy.resources import CustomResourceInfo, Registry, ResourceType

REGISTRY = Registry()


def resource(group: str, plural: str) -> ResourceType:
    found = REGISTRY.lookup(group, "v1", plural)
    assert found is not None
    return found


DEPLOYMENTS = resource("apps", "deployments")
CONFIGMAPS = resource("", "configmaps")


def deployment(replicas: int | None = 2, image: str | None = "nginx") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "nginx", "ports": [{"containerPort": 80}]}
    if image is not None:
        container["image"] = image
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": spec,
    }


def owned(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    for entry in obj["metadata"]["managedFields"]:
        if entry["manager"] == manager:
            found: dict[str, Any] = entry["fieldsV1"]
            return found
    raise AssertionError(f"no entry for {manager}")


def test_apply_creates_and_reapplying_changes_nothing() -> None:
    created = apply(DEPLOYMENTS, None, deployment(), "kubectl", force=False)
    assert created.changed
    ports = owned(created.obj, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"nginx"}'
    ]["f:ports"]
    assert ports == {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}
    assert owned(created.obj, "kubectl")["f:spec"]["f:selector"] == {}  # an atomic map
    again = apply(DEPLOYMENTS, created.obj, deployment(), "kubectl", force=False)
    assert not again.changed and again.obj == created.obj


def test_conflict_is_kubes_409_and_force_takes_the_field() -> None:
    live = apply(DEPLOYMENTS, None, deployment(), "kubectl", force=False).obj
    scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    scale["spec"] = {"replicas": 5}
    with pytest.raises(ApiError) as caught:
        apply(DEPLOYMENTS, live, scale, "other", force=False)
    error = caught.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert str(error) == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    assert error.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl"',
                "field": ".spec.replicas",
            }
        ]
    }
    forced = apply(DEPLOYMENTS, live, scale, "other", force=True).obj
    assert forced["spec"]["replicas"] == 5
    assert "f:replicas" not in owned(forced, "kubectl")["f:spec"]
    assert owned(forced, "other") == {"f:spec": {"f:replicas": {}}}
    # The same value is no conflict: both own it.
    shared = apply(DEPLOYMENTS, forced, deployment(replicas=5), "kubectl", force=False).obj
    assert "f:replicas" in owned(shared, "kubectl")["f:spec"]


def test_several_conflicts_are_grouped_by_manager() -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}}
    live["data"] = {"a": "1", "b": "1"}
    track(CONFIGMAPS, None, live, "editor")
    config = {**live, "metadata": {"name": "c"}, "data": {"a": "2", "b": "2"}}
    del config["metadata"]
    config["metadata"] = {"name": "c"}
    with pytest.raises(ApiError) as caught:
        apply(CONFIGMAPS, live, config, "applier", force=False)
    assert str(caught.value) == (
        'Apply failed with 2 conflicts: conflicts with "editor" using v1:\n- .data.a\n- .data.b'
    )
    assert [c["field"] for c in (caught.value.details or {})["causes"]] == [".data.a", ".data.b"]


def test_fields_no_longer_applied_are_removed_unless_someone_else_owns_them() -> None:
    live = apply(DEPLOYMENTS, None, deployment(), "kubectl", force=False).obj
    scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    scale["spec"] = {"replicas": 2}
    live = apply(DEPLOYMENTS, live, scale, "scaler", force=False).obj
    dropped = apply(
        DEPLOYMENTS, live, deployment(replicas=None, image=None), "kubectl", force=False
    )
    container = dropped.obj["spec"]["template"]["spec"]["containers"][0]
    assert "image" not in container  # only kubectl owned it
    assert dropped.obj["spec"]["replicas"] == 2  # the scaler still owns it


def test_map_list_items_merge_by_key() -> None:
    live = apply(DEPLOYMENTS, None, deployment(), "a", force=False).obj
    second = deployment()
    second["spec"]["template"]["spec"]["containers"] = [{"name": "sidecar", "image": "envoy"}]
    merged = apply(DEPLOYMENTS, live, second, "b", force=False).obj
    names = [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]]
    assert names == ["nginx", "sidecar"]


def test_first_apply_to_an_untracked_object() -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}}
    live["data"] = {"a": "1"}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    config["data"] = {"a": "2"}
    with pytest.raises(ApiError, match=r'conflict with "before-first-apply" using v1: \.data\.a'):
        apply(CONFIGMAPS, live, config, "applier", force=False)


def test_kubectl_upgrades_client_side_apply() -> None:
    last = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    live = copy.deepcopy(last)
    live["metadata"] = {
        "name": "c",
        "namespace": "d",
        "annotations": {LAST_APPLIED: json.dumps(last)},
    }
    track(CONFIGMAPS, None, live, "kubectl-client-side-apply")
    config = {**last, "data": {"a": "2"}}
    # Another manager conflicts; kubectl may take what its client-side apply set.
    with pytest.raises(ApiError):
        apply(CONFIGMAPS, live, config, "other", force=False)
    result = apply(CONFIGMAPS, live, config, "kubectl", force=False).obj
    assert result["data"] == {"a": "2"}
    assert result["metadata"]["annotations"][LAST_APPLIED] == build_last_applied(config)
    assert build_last_applied(config).endswith(
        '"data":{"a":"2"},"kind":"ConfigMap","metadata":{"name":"c"}}\n'
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"apiVersion": "v1", "kind": "Secret"}, "invalid object type: /v1, Kind=Secret"),
        ({}, "invalid object type: /, Kind="),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"managedFields": []}},
            "metadata.managedFields must be nil",
        ),
    ],
)
def test_configurations_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        apply(CONFIGMAPS, None, config, "m", force=False)
    assert (caught.value.code, str(caught.value)) == (400, message)


def test_custom_resources_follow_their_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "plain": {"type": "array", "items": {"type": "string"}},
                    "byKey": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {"v": {"type": "string"}},
                        },
                    },
                    "byName": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                },
            }
        },
    }
    base = DEPLOYMENTS
    crd = ResourceType(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        namespaced=True,
        storage_prefix=base.storage_prefix,
        custom=CustomResourceInfo(
            crd_name="widgets.example.com", storage_version="v1", schema=schema
        ),
    )

    def widget(plain: list[str], names: list[str]) -> dict[str, Any]:
        spec = {"plain": plain, "byName": [{"name": n} for n in names], "byKey": {"k": {"v": "x"}}}
        return {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": spec,
        }

    live = apply(crd, None, widget(["a"], ["x"]), "one", force=False).obj
    assert owned(live, "one")["f:spec"] == {
        "f:plain": {},  # untyped lists are atomic
        "f:byKey": {"f:k": {".": {}, "f:v": {}}},  # a map's keys are members, struct fields not
        "f:byName": {'k:{"name":"x"}': {".": {}, "f:name": {}}},
    }
    merged = apply(crd, live, widget(["b"], ["y"]), "two", force=True).obj
    assert merged["spec"]["plain"] == ["b"]
    assert [i["name"] for i in merged["spec"]["byName"]] == ["x", "y"]
