"""CustomResourceSchema end to end: prune -> default -> validate, in kube-apiserver's order, on a
realistic custom resource."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.schema.structural import RULES_NOT_CHECKED, CustomResourceSchema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "x-kubernetes-validations": [
                {"rule": "self.replicas <= self.maxReplicas", "message": "too many replicas"}
            ],
            "properties": {
                "image": {"type": "string"},
                "replicas": {"type": "integer", "default": 1, "minimum": 0},
                "maxReplicas": {"type": "integer", "default": 3},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                },
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object"}},
                },
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def cr(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "App",
        "metadata": {"name": "a", **meta},
        "spec": spec,
    }


def test_prune_returns_sorted_kube_paths_and_keeps_type_and_object_meta() -> None:
    schema = CustomResourceSchema(SCHEMA)
    obj = cr(
        {
            "image": "x",
            "zzz": 1,
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "junk": 1},
                "other": 2,
                "spec": {"free": 1},
            },
            "extra": {"anything": {"goes": 1}, "known": {"pruned": 1}},
        },
        bogus=True,
    )
    assert schema.prune(obj) == [
        "metadata.bogus",
        "spec.extra.known.pruned",
        "spec.template.metadata.junk",
        "spec.template.other",
        "spec.zzz",
    ]
    assert obj["apiVersion"] == "example.com/v1"
    assert obj["metadata"] == {"name": "a"}
    assert obj["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"free": 1},
    }
    assert obj["spec"]["extra"] == {"anything": {"goes": 1}, "known": {}}


def test_a_list_item_field_path() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"a": {"type": "string"}}},
                }
            },
        }
    )
    obj = {"items": [{"a": "x"}, {"a": "y", "b": 1}]}
    assert schema.prune(obj) == ["items[1].b"]
    assert obj == {"items": [{"a": "x"}, {"a": "y"}]}


def test_the_write_order_defaults_before_validation() -> None:
    schema = CustomResourceSchema(SCHEMA)
    obj = cr({"image": "x", "replicas": None})
    schema.prune(obj)
    schema.default(obj)
    assert obj["spec"] == {"image": "x", "replicas": 1, "maxReplicas": 3}
    assert schema.validate(obj, None) == []


def test_cel_runs_when_the_schema_errors_do_not_block() -> None:
    schema = CustomResourceSchema(SCHEMA)
    obj = cr({"image": "x", "replicas": 5, "maxReplicas": 3})
    assert schema.validate(obj, None) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": too many replicas')
    ]
    # minimum is not a blocking error: CEL still runs beside it.
    obj = cr({"image": "x", "replicas": -1, "maxReplicas": -2})
    assert schema.validate(obj, None) == [
        (
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
        ),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": too many replicas'),
    ]


@pytest.mark.parametrize(
    "spec",
    [
        {"replicas": 5, "maxReplicas": 3},  # required image missing
        {"image": 1, "replicas": 5, "maxReplicas": 3},  # wrong type
    ],
)
def test_a_blocking_error_replaces_the_cel_rules_with_one_cause(spec: dict[str, Any]) -> None:
    found = CustomResourceSchema(SCHEMA).validate(cr(spec), None)
    assert found[-1] == RULES_NOT_CHECKED
    assert RULES_NOT_CHECKED == (
        "FieldValueInvalid",
        "<nil>",
        'Invalid value: "null": some validation rules were not checked because the object was '
        "invalid; correct the existing errors to complete validation",
    )
    assert len(found) == 2


def test_an_empty_schema_accepts_anything_and_prunes_to_type_and_object_meta() -> None:
    schema = CustomResourceSchema({})
    obj = cr({"a": 1})
    assert schema.prune(obj) == ["spec"]
    assert schema.validate(obj, None) == []


def test_compile_errors_carry_the_crd_path() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.a >"}]}
            },
        }
    )
    found = schema.compile_errors("spec.versions[0].schema.openAPIV3Schema")
    assert [f for _, f, _ in found] == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    ]
    assert CustomResourceSchema(SCHEMA).compile_errors() == []


def test_an_uncompilable_pattern_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="openAPIV3Schema cannot be compiled"):
        CustomResourceSchema(
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}
        )
