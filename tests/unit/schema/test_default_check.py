"""Defaults checked against their schema when a CRD is written (default_check.py; kube:
apiextensions-apiserver pkg/apiserver/schema/defaulting/validation.go), and defaults applied
to stored objects as they are read (structural.read_decoder; kube's CR storage codec)."""

from __future__ import annotations

from typing import Any

import orjson

from tests.unit.registry.test_crd_strategy import strategy
from tests.unit.schema.test_crd_schema import widget_crd
from watchproxy.core.objects import build_from_dict
from watchproxy.schema.crd import served_types
from watchproxy.schema.default_check import default_causes
from watchproxy.schema.structural import read_decoder

AT = "spec.versions[0].schema.openAPIV3Schema"


def spec(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}


def test_defaults_of_the_wrong_type_or_value_are_refused() -> None:
    schema = spec(
        s={"type": "string", "default": 5},
        i={"type": "integer", "default": "x"},
        e={"type": "string", "enum": ["a"], "default": "b"},
        ok={"type": "integer", "default": 1, "minimum": 0},
    )
    at = f"{AT}.properties[spec].properties"
    assert default_causes(schema, AT) == [
        (
            "FieldValueTypeInvalid",
            f"{at}[s].default",
            'Invalid value: "integer":  in body must be of type string: "integer"',
        ),
        (
            "FieldValueTypeInvalid",
            f"{at}[i].default",
            'Invalid value: "string":  in body must be of type integer: "string"',
        ),
        (
            "FieldValueNotSupported",
            f"{at}[e].default",
            'Unsupported value: "b": supported values: "a"',
        ),
    ]


def test_object_defaults_unknown_fields_nested_errors_and_rules() -> None:
    obj = {"type": "object", "properties": {"a": {"type": "string"}}}
    schema = spec(
        unknown={**obj, "default": {"a": "x", "b": 1}},
        nested={**obj, "default": {"a": 1}},
        ruled={"type": "integer", "default": 3, "x-kubernetes-validations": [{"rule": "self < 2"}]},
        items={"type": "array", "items": {"type": "integer", "default": "no"}},
    )
    at = f"{AT}.properties[spec].properties"
    assert default_causes(schema, AT) == [
        (
            "FieldValueInvalid",
            f"{at}[unknown].default",
            'Invalid value: map[string]interface {}{"a":"x", "b":1}: must not have unknown fields',
        ),
        (
            "FieldValueTypeInvalid",
            f"{at}[nested].default.a",
            'Invalid value: "integer": a in body must be of type string: "integer"',
        ),
        (
            "FieldValueInvalid",
            f"{at}[ruled].default",
            'Invalid value: "integer": failed rule: self < 2',
        ),
        (
            "FieldValueTypeInvalid",
            f"{at}[items].items.default",
            'Invalid value: "string":  in body must be of type integer: "string"',
        ),
    ]


def test_the_crd_strategy_refuses_a_bad_default() -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = spec(
        s={"type": "string", "default": 5}
    )
    assert [(r, f) for r, f, _ in strategy().validate(crd)] == [
        ("FieldValueTypeInvalid", f"{AT}.properties[spec].properties[s].default")
    ]


def test_reading_a_stored_object_prunes_and_defaults_it() -> None:
    decode = read_decoder(spec(a={"type": "integer", "default": 7}, b={"type": "string"}))
    stored = {"kind": "W", "spec": {"b": "x", "gone": 1}}
    read = decode(stored)
    assert read == {"kind": "W", "spec": {"a": 7, "b": "x"}}
    assert stored == {"kind": "W", "spec": {"b": "x", "gone": 1}}  # may be shared: not changed
    assert decode(read) is read  # nothing to do: the same object, no copy kept


def test_the_cache_serves_custom_resources_with_the_versions_defaults() -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = spec(
        color={"type": "string", "default": "red"}
    )
    widget = served_types(crd)[0]
    stored = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    built = build_from_dict(widget, "/registry/example.com/widgets/ns/w", {**stored, "spec": {}}, 5)
    assert orjson.loads(built.raw)["spec"] == {"color": "red"}
