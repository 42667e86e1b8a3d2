"""Apply through the scale subresource: kube's ScaleHandler moves the parent's replicas managers
to the Scale and back (apimachinery managedfields/scalehandler.go)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.api.status import ApiError
from watchproxy.registry.fieldmanager import apply
from watchproxy.registry.fieldmanager.scale import apply_to_scale, replicas_path, to_subresource
from watchproxy.registry.scale import BUILTIN
from watchproxy.resources import Registry, ResourceType

FOUND = Registry().lookup("apps", "v1", "deployments")
assert FOUND is not None
DEPLOYMENTS: ResourceType = FOUND
PATH = replicas_path(".spec.replicas")


def deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "paused": False},
    }


def scale(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": replicas}}


def scale_apply(parent: dict[str, Any], config: dict[str, Any], manager: str, force: bool) -> Any:
    return apply_to_scale(DEPLOYMENTS, parent, config, manager, force=force, paths=BUILTIN)


def by_manager(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"]["managedFields"]}


def test_scale_apply_conflicts_with_the_replicas_owner_then_takes_them_with_force() -> None:
    parent = apply(DEPLOYMENTS, None, deployment(2), "owner", force=False).obj
    with pytest.raises(ApiError) as caught:
        scale_apply(parent, scale(5), "hpa", force=False)
    assert caught.value.code == 409
    assert (
        str(caught.value) == 'Apply failed with 1 conflict: conflict with "owner": .spec.replicas'
    )
    scaled = scale_apply(parent, scale(5), "hpa", force=True)
    assert scaled["spec"]["replicas"] == 5
    entries = by_manager(scaled)
    assert entries["hpa"] == {
        "manager": "hpa",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
        "subresource": "scale",
    }
    owner = entries["owner"]["fieldsV1"]
    assert "f:replicas" not in owner["f:spec"] and "f:paused" in owner["f:spec"]


def test_same_value_shares_the_field_and_managers_keep_one_entry() -> None:
    parent = apply(DEPLOYMENTS, None, deployment(2), "owner", force=False).obj
    scaled = scale_apply(parent, scale(2), "hpa", force=False)
    entries = by_manager(scaled)
    assert len(scaled["metadata"]["managedFields"]) == 2
    assert "f:replicas" in entries["owner"]["fieldsV1"]["f:spec"]
    assert entries["hpa"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_scale_configuration_is_a_scale() -> None:
    parent = apply(DEPLOYMENTS, None, deployment(2), "owner", force=False).obj
    with pytest.raises(ApiError, match="invalid object type: apps/v1, Kind=Deployment"):
        scale_apply(parent, deployment(3), "hpa", force=True)


def test_to_subresource_keeps_only_replicas_owners() -> None:
    parent = apply(DEPLOYMENTS, None, deployment(2), "owner", force=False).obj
    labels = {**deployment(2), "spec": {}}
    parent = apply(DEPLOYMENTS, parent, labels, "labeler", force=False).obj
    [entry] = to_subresource(parent["metadata"]["managedFields"], "apps/v1", PATH)
    assert (entry["manager"], entry["apiVersion"]) == ("owner", "autoscaling/v1")
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_invalid_scale_is_422() -> None:
    parent = apply(DEPLOYMENTS, None, deployment(2), "owner", force=False).obj
    with pytest.raises(ApiError) as caught:
        scale_apply(parent, scale(-1), "hpa", force=True)
    assert caught.value.code == 422
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in str(
        caught.value
    )
