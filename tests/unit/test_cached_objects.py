"""watchproxy/core/objects.py: the bytes an object is served as (kind, apiVersion, metadata with
resourceVersion first, every other key in its stored order) and what build_from_dict derives,
whatever the stored key order (decision 0020, second round: the encode runs on dict merges)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from watchproxy.core.objects import build_from_dict, build_object, encode_object
from watchproxy.resources import Registry

REGISTRY = Registry()
PODS = next(r for r in REGISTRY.resources if r.key == "pods")
CONFIGMAPS = next(r for r in REGISTRY.resources if r.key == "configmaps")


def reference(obj: dict[str, Any], rv: str) -> bytes:
    """The served form spelled out key by key (the encode of 2051d48)."""
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
    out["metadata"] = {"resourceVersion": rv} | {
        k: v for k, v in meta.items() if k != "resourceVersion"
    }
    return orjson.dumps(out | {k: v for k, v in obj.items() if k not in out})


POD_META = {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "a"}}
SHAPES: list[dict[str, Any]] = [
    {"kind": "Pod", "apiVersion": "v1", "metadata": POD_META, "spec": {"nodeName": "n1"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": POD_META, "spec": {"nodeName": "n1"}},
    {"spec": {"nodeName": "n1"}, "status": {}, "metadata": POD_META, "kind": "Pod"},
    {"kind": "Pod", "apiVersion": "v1", "metadata": {**POD_META, "resourceVersion": "3"}},
    {"metadata": {"resourceVersion": "3", **POD_META}, "apiVersion": "v1"},
    {"kind": "Pod", "apiVersion": "v1", "metadata": {}},
    {"kind": "Pod", "apiVersion": "v1"},
]


@pytest.mark.parametrize("obj", SHAPES)
def test_encode_object_puts_the_head_first_and_leaves_the_object_alone(
    obj: dict[str, Any],
) -> None:
    before = orjson.dumps(obj)
    raw, start, end = encode_object(obj, "1234")
    assert raw == reference(obj, "1234")
    assert raw[start:end] == b"1234" and raw.startswith(b'{"kind":')
    assert orjson.dumps(obj) == before  # not changed


@pytest.mark.parametrize("obj", SHAPES)
def test_build_from_dict_serves_any_stored_order(obj: dict[str, Any]) -> None:
    value = orjson.dumps(obj)
    built = build_from_dict(PODS, "ns/p", orjson.loads(value), 42)
    served = {**orjson.loads(value), "kind": "Pod", "apiVersion": "v1"}
    assert built.raw == reference(served, "42")
    assert built.raw[built.rv_start : built.rv_end] == b"42"
    assert built.with_rv("7") == reference(served, "7")
    meta = obj.get("metadata", {})
    assert built.name == meta.get("name", "") and built.uid == meta.get("uid", "")
    assert built.fields["metadata.name"] == built.name
    assert built.fields["metadata.namespace"] == built.namespace == meta.get("namespace", "")
    assert built.trigger == (obj.get("spec") or {}).get("nodeName", "")
    assert built.labels == meta.get("labels", {})
    assert orjson.loads(built.raw)["metadata"]["resourceVersion"] == "42"


def test_the_object_name_is_not_interned_and_field_values_are() -> None:
    a = build_object(CONFIGMAPS, "ns/x", b'{"metadata":{"name":"x","namespace":"ns"}}', 5)
    b = build_object(CONFIGMAPS, "ns/y", b'{"metadata":{"name":"y","namespace":"ns"}}', 6)
    assert a.fields["metadata.namespace"] is b.fields["metadata.namespace"]
    assert a.fields["metadata.name"] is a.name
