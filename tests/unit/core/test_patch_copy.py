"""apply_patch never changes the object it patches (api/writes.py passes the update's old object
itself), whichever patch type, and core/patch_common.deep_copy shares nothing with its input,
also for values orjson cannot encode."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from watchproxy.core.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from watchproxy.core.patch_common import deep_copy

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"a": "1"}},
    "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]},
    "status": {"conditions": [{"type": "Ready", "status": "False"}]},
}
PATCHES = {
    MERGE_PATCH: {"metadata": {"labels": {"a": None, "b": "2"}}, "status": {"phase": "Running"}},
    STRATEGIC_MERGE_PATCH: {
        "spec": {"containers": [{"name": "c", "image": "j", "ports": [{"containerPort": 81}]}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    },
    JSON_PATCH: [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "j"},
        {"op": "add", "path": "/spec/containers/0/ports/-", "value": {"containerPort": 81}},
        {"op": "copy", "from": "/spec/containers/0", "path": "/spec/containers/-"},
        {"op": "remove", "path": "/metadata/labels/a"},
    ],
}


@pytest.mark.parametrize("media", sorted(PATCHES))
def test_the_original_is_never_changed(media: str) -> None:
    original = copy.deepcopy(POD)
    patched = apply_patch(original, orjson.dumps(PATCHES[media]), media, kind="Pod")
    assert original == POD
    patched["spec"]["containers"][0]["ports"].append({"containerPort": 1})
    patched["metadata"].setdefault("labels", {})["z"] = "z"
    assert original == POD  # nothing shared either


def test_deep_copy_shares_nothing_and_keeps_huge_integers() -> None:
    value = {"a": [{"b": 2**70}, "x", 1.5, None, True], "c": {"d": {}}}
    copied = deep_copy(value)
    assert copied == value
    assert copied["a"] is not value["a"] and copied["a"][0] is not value["a"][0]
    assert copied["c"]["d"] is not value["c"]["d"]
    plain = {"a": [{"b": 1}], "c": {"d": {}}}
    copied_plain = deep_copy(plain)
    assert copied_plain == plain and copied_plain["a"][0] is not plain["a"][0]
