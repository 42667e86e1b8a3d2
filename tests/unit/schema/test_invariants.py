"""x-kubernetes-list-type set/map uniqueness and x-kubernetes-embedded-resource, with kube's
causes (listtype/validation.go, objectmeta/validation.go)."""

from __future__ import annotations

from typing import Any

from watchproxy.schema.structural import CustomResourceSchema


def validate(props: dict[str, Any], spec: Any) -> list[tuple[str, str, str]]:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}
    return CustomResourceSchema(schema).validate({"spec": spec}, None)


SET = {
    "type": "array",
    "x-kubernetes-list-type": "set",
    "items": {"x-kubernetes-int-or-string": True},
}
PORT = {"type": "object", "properties": {"name": {"type": "string"}, "proto": {"type": "string"}}}


def test_a_set_refuses_each_later_repeat_once() -> None:
    assert validate({"s": SET}, {"s": ["a", "b", "a", "a", 1, 1]}) == [
        ("FieldValueDuplicate", "spec.s[2]", 'Duplicate value: "a"'),
        ("FieldValueDuplicate", "spec.s[5]", "Duplicate value: 1"),
    ]


def test_set_items_compare_as_go_interface_values() -> None:
    numbers = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "number"}}
    # int64 1 and float64 1.0 are different values to Go.
    assert validate({"s": numbers}, {"s": [1, 1.0]}) == []
    objects = {
        "type": "array",
        "x-kubernetes-list-type": "set",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    assert validate({"s": objects}, {"s": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]}) == [
        (
            "FieldValueDuplicate",
            "spec.s[1]",
            'Duplicate value: map[string]interface {}{"a":1, "b":2}',
        )
    ]


def test_a_map_list_refuses_repeated_keys() -> None:
    ports = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": PORT,
    }
    assert validate(
        {"p": ports}, {"p": [{"name": "a"}, {"name": "b"}, {"name": "a", "proto": "x"}]}
    ) == [
        ("FieldValueDuplicate", "spec.p[2]", 'Duplicate value: map[string]interface {}{"name":"a"}')
    ]
    # Items without the key are all "unspecified", so equal to each other.
    assert validate({"p": ports}, {"p": [{}, {"proto": "x"}]}) == [
        ("FieldValueDuplicate", "spec.p[1]", "Duplicate value: map[string]interface {}{}")
    ]


def test_a_map_list_with_two_keys_compares_both() -> None:
    ports = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "proto"],
        "items": PORT,
    }
    items = [
        {"name": "a", "proto": "tcp"},
        {"name": "a", "proto": "udp"},
        {"name": "a", "proto": "tcp"},
    ]
    assert validate({"p": ports}, {"p": items}) == [
        (
            "FieldValueDuplicate",
            "spec.p[2]",
            'Duplicate value: map[string]interface {}{"name":"a", "proto":"tcp"}',
        )
    ]


def test_a_map_list_item_must_be_an_object() -> None:
    loose = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"x-kubernetes-preserve-unknown-fields": True},
    }
    assert validate({"p": loose}, {"p": [{"name": "a"}, "x"]}) == [
        (
            "FieldValueInvalid",
            "spec.p[1]",
            'Invalid value: "x": must be an object for an array of list-type map',
        )
    ]


def test_lists_inside_maps_are_found_with_key_paths() -> None:
    groups = {"type": "object", "additionalProperties": SET}
    assert validate({"g": groups}, {"g": {"one": ["x", "x"]}}) == [
        ("FieldValueDuplicate", "spec.g[one][1]", 'Duplicate value: "x"')
    ]


def test_atomic_lists_may_repeat() -> None:
    atomic = {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "string"}}
    assert validate({"a": atomic}, {"a": ["x", "x"]}) == []


EMBEDDED = {
    "type": "object",
    "x-kubernetes-embedded-resource": True,
    "x-kubernetes-preserve-unknown-fields": True,
}


def test_an_embedded_resource_needs_api_version_and_kind() -> None:
    assert validate({"t": EMBEDDED}, {"t": {"metadata": {"name": "x"}}}) == [
        ("FieldValueRequired", "spec.t.apiVersion", "Required value"),
        ("FieldValueRequired", "spec.t.kind", "Required value"),
    ]
    assert validate({"t": EMBEDDED}, {"t": {"apiVersion": "v1", "kind": "Pod"}}) == []


def test_embedded_type_meta_is_checked() -> None:
    found = validate({"t": EMBEDDED}, {"t": {"apiVersion": "a/b/c", "kind": "Bad_Kind"}})
    assert found[0] == (
        "FieldValueInvalid",
        "spec.t.apiVersion",
        'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
    )
    assert found[1][:2] == ("FieldValueInvalid", "spec.t.kind")
    assert found[1][2].startswith(
        'Invalid value: "Bad_Kind": may have mixed case, but should otherwise match: '
        "a DNS-1035 label"
    )
    assert validate({"t": EMBEDDED}, {"t": {"apiVersion": 1, "kind": "Pod"}}) == [
        ("FieldValueInvalid", "spec.t.apiVersion", "Invalid value: 1: must be a string")
    ]


def test_embedded_metadata_is_object_meta() -> None:
    found = validate(
        {"t": EMBEDDED},
        {
            "t": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "a/b", "labels": {"k": "bad value"}},
            }
        },
    )
    assert found[0] == (
        "FieldValueInvalid",
        "spec.t.metadata.name",
        "Invalid value: \"a/b\": may not contain '/'",
    )
    assert found[1][:2] == ("FieldValueInvalid", "spec.t.metadata.labels")
    assert found[1][2].startswith('Invalid value: "bad value": a valid label must be')
    assert len(found) == 2


def test_embedded_resources_in_lists() -> None:
    listed = {"type": "array", "items": EMBEDDED}
    assert validate({"l": listed}, {"l": [{"apiVersion": "v1"}]}) == [
        ("FieldValueRequired", "spec.l[0].kind", "Required value")
    ]


def test_a_null_key_differs_from_a_missing_key() -> None:
    ports = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string", "nullable": True}}},
    }
    assert validate({"p": ports}, {"p": [{"name": None}, {}]}) == []
    assert validate({"p": ports}, {"p": [{"name": None}, {"name": None}]}) == [
        (
            "FieldValueDuplicate",
            "spec.p[1]",
            'Duplicate value: map[string]interface {}{"name":interface {}(nil)}',
        )
    ]
