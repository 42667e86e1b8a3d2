"""Structural defaulting and the null pruning before it, as kube's defaulting/algorithm.go and
prunenulls.go."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.schema.structural import CustomResourceSchema

SPEC: dict[str, Any] = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "default": 1},
        "opt": {"type": "string", "nullable": True, "default": "d"},
        "plain": {"type": "string"},
        "nested": {
            "type": "object",
            "properties": {"level": {"type": "string", "default": "info"}},
        },
        "created": {
            "type": "object",
            "default": {},
            "properties": {"inner": {"type": "integer", "default": 7}},
        },
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "default": {"port": 1},
                "properties": {
                    "port": {"type": "integer"},
                    "proto": {"type": "string", "default": "TCP"},
                },
            },
        },
        "limits": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"max": {"type": "integer", "default": 10}},
            },
        },
    },
}
SCHEMA = {"type": "object", "properties": {"spec": SPEC}}


def defaulted(spec: dict[str, Any]) -> dict[str, Any]:
    obj = {"spec": spec}
    schema = CustomResourceSchema(SCHEMA)
    schema.prune(obj)
    schema.default(obj)
    return obj["spec"]


def test_absent_fields_get_their_defaults_and_parents_are_not_created() -> None:
    assert defaulted({}) == {"replicas": 1, "opt": "d", "created": {"inner": 7}}


def test_present_values_stay() -> None:
    spec = defaulted({"replicas": 3, "opt": "x", "nested": {"level": "debug"}})
    assert spec["replicas"] == 3
    assert spec["opt"] == "x"
    assert spec["nested"] == {"level": "debug"}


def test_defaults_apply_inside_objects_that_exist() -> None:
    assert defaulted({"nested": {}})["nested"] == {"level": "info"}


def test_a_non_nullable_null_takes_the_default_a_nullable_null_stays() -> None:
    spec = defaulted({"replicas": None, "opt": None})
    assert spec["replicas"] == 1
    assert spec["opt"] is None


def test_a_non_nullable_null_without_default_is_dropped() -> None:
    assert "plain" not in defaulted({"plain": None})


def test_list_items_get_defaults_and_a_null_item_the_item_default() -> None:
    spec = defaulted({"ports": [{"port": 80}, None]})
    assert spec["ports"] == [{"port": 80, "proto": "TCP"}, {"port": 1, "proto": "TCP"}]


def test_map_values_get_defaults() -> None:
    assert defaulted({"limits": {"cpu": {}, "mem": {"max": 2}}})["limits"] == {
        "cpu": {"max": 10},
        "mem": {"max": 2},
    }


def test_defaults_are_copies() -> None:
    schema = CustomResourceSchema(copy.deepcopy(SCHEMA))
    first: dict[str, Any] = {"spec": {}}
    second: dict[str, Any] = {"spec": {}}
    schema.default(first)
    first["spec"]["created"]["inner"] = 99
    schema.default(second)
    assert second["spec"]["created"] == {"inner": 7}


def test_unknown_subtrees_keep_their_nulls() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            },
        }
    )
    obj: dict[str, Any] = {"free": {"a": None, "b": {"c": None}}}
    assert schema.prune(obj) == []
    assert obj == {"free": {"a": None, "b": {"c": None}}}


def test_pruning_leaves_a_defaultable_null_for_defaulting() -> None:
    obj: dict[str, Any] = {"spec": {"replicas": None, "plain": None}}
    CustomResourceSchema(SCHEMA).prune(obj)
    assert obj == {"spec": {"replicas": None}}
