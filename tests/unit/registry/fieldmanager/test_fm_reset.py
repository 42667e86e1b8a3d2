"""Reset fields: what the strategy sets is owned by nobody, on create, update and apply
(kube's GetResetFields passed to structured-merge-diff as the Updater's IgnoreFilter)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.api.status import ApiError
from watchproxy.registry.fieldmanager import apply, track
from watchproxy.registry.fieldmanager.reset import reset_fields
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import CustomResourceInfo, Registry, ResourceType

REGISTRY = Registry()


def resource(group: str, plural: str) -> ResourceType:
    found = REGISTRY.lookup(group, "v1", plural)
    assert found is not None
    return found


DEPLOYMENTS = resource("apps", "deployments")
PODS = resource("", "pods")
CONFIGMAPS = resource("", "configmaps")
CSRS = resource("certificates.k8s.io", "certificatesigningrequests")
WIDGETS = ResourceType(
    group="example.com",
    version="v1",
    kind="Widget",
    plural="widgets",
    namespaced=True,
    storage_prefix=DEPLOYMENTS.storage_prefix,
    status_subresource=True,
    custom=CustomResourceInfo(
        crd_name="widgets.example.com",
        storage_version="v1",
        schema={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    ),
)


def owned(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    for entry in obj["metadata"].get("managedFields", []):
        if entry["manager"] == manager:
            fields: dict[str, Any] = entry["fieldsV1"]
            return fields
    return {}


def deployment(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n", "labels": {"app": "web"}},
        "spec": {"replicas": 1},
        **extra,
    }


def widget(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {"size": 1},
        **extra,
    }


@pytest.mark.parametrize(
    ("make", "target"), [(deployment, DEPLOYMENTS), (widget, WIDGETS)], ids=["builtin", "custom"]
)
def test_create_with_status_owns_no_status(make: Any, target: ResourceType) -> None:
    obj = make(status={"phase": "Copied"})
    track(target, None, obj, "user")
    assert "f:status" not in owned(obj, "user")
    assert "f:spec" in owned(obj, "user")
    # So a controller's later status apply takes status from nobody: no conflict.
    live = {k: v for k, v in obj.items() if k != "status"}
    config = make(status={"phase": "Running"})
    del config["spec"]
    result = apply(target, live, config, "controller", force=False, subresource="status").obj
    assert result["status"] == {"phase": "Running"}


def test_status_update_owns_no_spec() -> None:
    live = deployment()
    track(DEPLOYMENTS, None, live, "creator")
    new = deployment(spec={"replicas": 5}, status={"replicas": 1})
    new["metadata"]["managedFields"] = live["metadata"]["managedFields"]
    track(DEPLOYMENTS, live, new, "controller", "status")
    assert owned(new, "controller") == {"f:status": {"f:replicas": {}}}
    assert owned(new, "creator") == owned(live, "creator")  # the spec change took nothing


def test_strategies_exceptions() -> None:
    assert reset_fields(CONFIGMAPS) == {}  # no status subresource: nothing is reset
    assert reset_fields(PODS, "status") == {
        "f:spec": {".": {}},
        "f:metadata": {"f:deletionTimestamp": {".": {}}, "f:ownerReferences": {".": {}}},
    }
    assert reset_fields(DEPLOYMENTS, "status") == {
        "f:spec": {".": {}},
        "f:metadata": {"f:labels": {".": {}}},
    }
    assert reset_fields(WIDGETS, "status") == {"f:metadata": {".": {}}, "f:spec": {".": {}}}
    assert reset_fields(CSRS, "approval") == {
        "f:spec": {".": {}},
        "f:status": {"f:certificate": {".": {}}},
    }


def test_status_apply_of_labels_owns_nothing_of_metadata_for_custom_resources() -> None:
    live = widget()
    track(WIDGETS, None, live, "creator")
    config = widget(status={"phase": "Ready"})
    config["metadata"]["labels"] = {"a": "b"}
    del config["spec"]
    result = apply(WIDGETS, live, config, "controller", force=False, subresource="status").obj
    assert owned(result, "controller") == {"f:status": {".": {}, "f:phase": {}}}


def test_apply_on_the_main_resource_owns_no_status() -> None:
    result = apply(DEPLOYMENTS, None, deployment(status={"replicas": 3}), "me", force=False).obj
    assert "f:status" not in owned(result, "me")
    with pytest.raises(ApiError):
        apply(DEPLOYMENTS, result, deployment(spec={"replicas": 2}), "other", force=False)


def test_deployment_status_writes_keep_the_stored_labels() -> None:
    """deploymentStatusStrategy.PrepareForUpdate, matching its reset metadata.labels."""
    old = deployment()
    new = deployment(status={"replicas": 1})
    new["metadata"]["labels"] = {"app": "other"}
    new["metadata"]["annotations"] = {"a": "b"}
    strategy_for(DEPLOYMENTS).prepare_for_update(new, old, "status")
    assert new["metadata"]["labels"] == {"app": "web"}
    assert new["metadata"]["annotations"] == {"a": "b"}
    assert new["status"] == {"replicas": 1}
