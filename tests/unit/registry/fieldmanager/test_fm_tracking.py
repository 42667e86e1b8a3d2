"""managedFields recorded by create, update and patch (kube's FieldManager.UpdateNoErrors)."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from watchproxy.core.json_limits import MAX_DEPTH, object_problems
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.fieldmanager import track
from watchproxy.registry.fieldmanager.tracking import manager_name, user_agent
from watchproxy.resources import CustomResourceInfo, Registry, ResourceType

REGISTRY = Registry()


def resource(group: str, plural: str) -> ResourceType:
    found = REGISTRY.lookup(group, "v1", plural)
    assert found is not None
    return found


PODS = resource("", "pods")


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
    }


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = obj["metadata"].get("managedFields", [])
    return found


def test_create_records_kubes_exact_fields() -> None:
    obj = pod()
    track(PODS, None, obj, "kubectl-create")
    [entry] = entries(obj)
    assert list(entry) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == (
        "kubectl-create",
        "Update",
        "v1",
    )
    assert orjson.dumps(entry["fieldsV1"]) == (
        b'{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":'
        b'{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{}}}}}'
    )


def test_update_owns_what_it_changed_and_takes_it_from_others() -> None:
    live = pod()
    track(PODS, None, live, "creator")
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["app"] = "other"
    new["metadata"]["labels"]["tier"] = "x"
    track(PODS, live, new, "editor")
    by_manager = {e["manager"]: e["fieldsV1"] for e in entries(new)}
    assert by_manager["editor"] == {"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}}
    assert "f:app" not in by_manager["creator"]["f:metadata"]["f:labels"]


def test_unchanged_update_keeps_entries_and_times() -> None:
    live = pod()
    track(PODS, None, live, "creator")
    live["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    new = copy.deepcopy(live)
    track(PODS, live, new, "creator")
    assert new["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_managed_fields_sent_are_taken_and_empty_entry_resets() -> None:
    live = pod()
    track(PODS, None, live, "creator")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    track(PODS, live, new, "editor")
    assert "managedFields" not in new["metadata"]
    # A client that omits managedFields keeps the live ones.
    new = copy.deepcopy(live)
    del new["metadata"]["managedFields"]
    track(PODS, live, new, "editor")
    assert new["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_status_writes_record_the_subresource() -> None:
    live = pod()
    track(PODS, None, live, "creator")
    new = copy.deepcopy(live)
    new["status"] = {"phase": "Running"}
    track(PODS, live, new, "kubelet", "status")
    entry = next(e for e in entries(new) if e["manager"] == "kubelet")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_update_managers_are_capped_into_ancient_changes() -> None:
    obj = pod()
    track(PODS, None, obj, "creator")
    for i in range(12):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"l{i}"] = "x"
        track(PODS, obj, new, f"m{i:02d}")
        for number, entry in enumerate(new["metadata"]["managedFields"]):
            entry.setdefault("time", f"2020-01-01T00:00:{number:02d}Z")
        obj = new
    names = [e["manager"] for e in entries(obj)]
    assert len(names) == mf.MAX_UPDATE_MANAGERS
    assert "ancient-changes" in names and "creator" not in names


def test_manager_name_is_the_user_agents_first_segment() -> None:
    token = user_agent.set("kubectl-client-side-apply/v1.37.0 (linux/amd64) kubernetes/abc")
    try:
        assert manager_name("") == "kubectl-client-side-apply"
        assert manager_name("explicit") == "explicit"
    finally:
        user_agent.reset(token)


@pytest.mark.parametrize("bad", [{"f:x": 1}, "nope"])
def test_undecodable_managed_fields_fall_back_to_live(bad: Any) -> None:
    live = pod()
    track(PODS, None, live, "creator")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{"manager": "x", "fieldsType": "FieldsV1", "fieldsV1": bad}]
    track(PODS, live, new, "editor")
    assert new["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_deep_schemaless_values_are_owned_whole_within_the_depth_limit() -> None:
    revisions = REGISTRY.lookup("apps", "v1", "controllerrevisions")
    assert revisions is not None
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(MAX_DEPTH - 3):  # the deepest object core/json_limits.py accepts
        node["a"] = {}
        node = node["a"]
    obj = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "r", "namespace": "d"},
        "data": deep,
        "revision": 1,
    }
    assert object_problems(obj) == []
    track(revisions, None, obj, "m")
    assert entries(obj)
    assert orjson.dumps({"rows": [{"object": obj}]})  # a Table row serves it 3 levels deeper


def test_custom_resources_start_from_an_empty_object() -> None:
    widgets = ResourceType(
        group="example.com",
        version="v1",
        kind="Widget",
        plural="widgets",
        namespaced=True,
        storage_prefix="example.com/widgets",
        custom=CustomResourceInfo(
            crd_name="widgets.example.com",
            storage_version="v1",
            schema={"type": "object", "properties": {"spec": {"type": "object"}}},
        ),
    )
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    obj["spec"] = {"color": "red"}
    track(widgets, None, obj, "kubectl-create")
    # kube's empty Unstructured has no spec: its creator owns spec itself too.
    assert entries(obj)[0]["fieldsV1"] == {"f:spec": {".": {}, "f:color": {}}}


def test_sets_and_atomic_maps() -> None:
    obj = pod()
    obj["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    obj["spec"]["nodeSelector"] = {"disk": "ssd"}  # x-kubernetes-map-type: atomic
    track(PODS, None, obj, "m")
    fields = entries(obj)[0]["fieldsV1"]
    assert fields["f:metadata"]["f:finalizers"] == {
        ".": {},
        'v:"example.com/a"': {},
        'v:"example.com/b"': {},
    }
    assert fields["f:spec"]["f:nodeSelector"] == {}  # owned whole
