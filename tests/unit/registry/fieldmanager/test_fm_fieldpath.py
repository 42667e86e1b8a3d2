"""Field sets and their FieldsV1 form (structured-merge-diff fieldpath)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.registry.fieldmanager import fieldpath as fp


def test_encode_orders_elements_as_kube() -> None:
    # Fields before keys before values before indexes; indexes numerically; "." first.
    raw: dict[str, Any] = {
        "i:10": {},
        "i:9": {},
        'v:"b"': {},
        "v:2": {},
        'k:{"name":"x"}': {".": {}, "f:b": {}, "f:a": {}},
        "f:z": {},
        "f:a": {"f:y": {}, ".": {}},
    }
    assert fp.encode(fp.decode(raw)) == (
        b'{"f:a":{".":{},"f:y":{}},"f:z":{},"k:{\\"name\\":\\"x\\"}":{".":{},"f:a":{},"f:b":{}},'
        b'"v:2":{},"v:\\"b\\"":{},"i:9":{},"i:10":{}}'
    )


def test_key_elements_sort_their_fields() -> None:
    assert fp.key_pe({"protocol": "TCP", "containerPort": 80}) == (
        'k:{"containerPort":80,"protocol":"TCP"}'
    )


def test_decode_refuses_what_is_not_a_set() -> None:
    with pytest.raises(fp.FieldsV1Error):
        fp.decode({"f:a": 1})
    with pytest.raises(fp.FieldsV1Error):
        fp.decode({"x:a": {}})
    with pytest.raises(fp.FieldsV1Error):
        fp.decode([])


def test_set_algebra() -> None:
    a = fp.decode({"f:spec": {"f:replicas": {}, "f:paused": {}}, "f:data": {".": {}, "f:x": {}}})
    b = fp.decode({"f:spec": {"f:replicas": {}}, "f:data": {}})
    assert fp.to_fields_v1(fp.intersection(a, b)) == {"f:spec": {"f:replicas": {}}, "f:data": {}}
    # Difference removes only the member itself; RecursiveDifference its subtree too.
    assert fp.to_fields_v1(fp.difference(a, b)) == {
        "f:spec": {"f:paused": {}},
        "f:data": {"f:x": {}},
    }
    assert fp.to_fields_v1(fp.recursive_difference(a, b)) == {"f:spec": {"f:paused": {}}}
    assert fp.union(b, a) == fp.union(a, b)
    assert fp.has(a, ("f:data",)) and not fp.has(a, ("f:spec",))


def test_paths_and_their_strings() -> None:
    fields = fp.decode(
        {
            "f:spec": {
                "f:containers": {'k:{"name":"nginx"}': {"f:image": {}}},
                "f:finalizers": {'v:"x"': {}},
                "f:args": {"i:3": {}},
            }
        }
    )
    assert [fp.path_string(p) for p in fp.paths(fields)] == [
        ".spec.args[3]",
        '.spec.containers[name="nginx"].image',
        '.spec.finalizers[="x"]',
    ]
