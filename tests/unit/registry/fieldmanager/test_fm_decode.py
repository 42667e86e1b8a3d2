"""managedFields sent by a client: kube's decodeLiveOrNew and DecodeManagedFields. Entries that
do not decode leave the live ones; `[]` and `[{}]` reset them; valid ones are taken."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.fieldmanager import track
from watchproxy.resources import Registry, ResourceType

FOUND = Registry().lookup("", "v1", "pods")
assert FOUND is not None
PODS: ResourceType = FOUND

VALID = {
    "manager": "m",
    "operation": "Update",
    "apiVersion": "v1",
    "fieldsType": "FieldsV1",
    "fieldsV1": {"f:spec": {"f:nodeName": {}}},
}


def live_pod() -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
    }
    track(PODS, None, obj, "creator")
    return obj


@pytest.mark.parametrize(
    "entry",
    [
        {**VALID, "operation": "Bogus"},
        {"operation": "Update"},  # no apiVersion, no fieldsType: kube would drop every entry
        {"operation": "Update", "fieldsV1": {"f:spec": {}}},
        {**VALID, "apiVersion": ""},
        {**VALID, "fieldsType": ""},
        {**VALID, "fieldsType": "FieldsV2"},
        {**VALID, "fieldsV1": {"f:metadata": {"k:notjson": {}}}},
        {**VALID, "fieldsV1": {"f:spec": {"k:[1]": {}}}},  # a key is a JSON object
        {**VALID, "fieldsV1": {"f:spec": {"i:x": {}}}},
        {**VALID, "fieldsV1": {"f:spec": {"v:{": {}}}},
        {**VALID, "fieldsV1": {"x:spec": {}}},
    ],
    ids=lambda e: str(e)[:60],
)
def test_invalid_entries_keep_the_live_ones(entry: dict[str, Any]) -> None:
    live = live_pod()
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["tier"] = "front"
    new["metadata"]["managedFields"] = [*live["metadata"]["managedFields"], entry]
    track(PODS, live, new, "editor")
    managers = [e["manager"] for e in new["metadata"]["managedFields"]]
    assert managers == ["creator", "editor"]  # the live entries, plus this update's
    assert all(e["operation"] in ("Apply", "Update") for e in new["metadata"]["managedFields"])


@pytest.mark.parametrize("sent", [[], [{}], [{"manager": "", "time": None}]])
def test_empty_list_or_one_empty_entry_resets(sent: list[dict[str, Any]]) -> None:
    live = live_pod()
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = sent
    track(PODS, live, new, "editor")
    assert "managedFields" not in new["metadata"]


def test_valid_entries_are_taken_as_sent() -> None:
    live = live_pod()
    new = copy.deepcopy(live)
    mine = {**VALID, "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {}}}}}
    new["metadata"]["managedFields"] = [mine]
    track(PODS, live, new, "editor")
    assert [e["manager"] for e in new["metadata"]["managedFields"]] == ["m"]


def test_a_subresource_never_sets_managed_fields() -> None:
    live = live_pod()
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    new["status"] = {"phase": "Running"}
    track(PODS, live, new, "kubelet", "status")
    managers = [e["manager"] for e in new["metadata"]["managedFields"]]
    assert managers == ["creator", "kubelet"]


def test_path_elements_are_checked_as_kube_deserializes_them() -> None:
    good = ["f:a", 'k:{"name":"x"}', 'v:"x"', "v:1", "i:0", "i:-3"]
    assert all(fp.valid_pe(pe) for pe in good)
    bad = ["k:notjson", "k:1", "v:", "i:", "i:1.5", "x:y", "f"]
    assert not any(fp.valid_pe(pe) for pe in bad)
    with pytest.raises(mf.DecodeError):
        mf.decode([{**VALID, "fieldsV1": {"k:notjson": {}}}])
