"""OpenAPI value validation of custom resources: every keyword with the cause kube-apiserver
gives (apiextensions-apiserver validation.go kubeOpenAPIResultToFieldErrors over kube-openapi's
errors), field paths and messages byte for byte."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.schema.structural import CustomResourceSchema


def causes(spec_props: dict[str, Any], spec: Any, **spec_schema: Any) -> list[tuple[str, str, str]]:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": spec_props, **spec_schema}},
    }
    return CustomResourceSchema(schema).validate({"spec": spec}, None)


def one(spec_props: dict[str, Any], spec: Any, **spec_schema: Any) -> tuple[str, str, str]:
    found = causes(spec_props, spec, **spec_schema)
    assert len(found) == 1, found
    return found[0]


def test_type_mismatch_is_type_invalid_naming_the_json_type() -> None:
    assert one({"replicas": {"type": "integer"}}, {"replicas": "string"}) == (
        "FieldValueTypeInvalid",
        "spec.replicas",
        'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    )


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("string", 5, "integer"),
        ("string", 1.5, "number"),
        ("integer", 1.5, "number"),
        ("boolean", "true", "string"),
        ("object", [], "array"),
        ("array", {}, "object"),
        ("number", True, "boolean"),
    ],
)
def test_every_json_type_is_named_as_kube_names_it(kind: str, value: Any, shown: str) -> None:
    reason, field, message = one({"x": {"type": kind}}, {"x": value})
    assert (reason, field) == ("FieldValueTypeInvalid", "spec.x")
    assert message == f'Invalid value: "{shown}": spec.x in body must be of type {kind}: "{shown}"'


def test_an_integral_float_is_an_integer_and_an_integer_a_number() -> None:
    assert causes({"i": {"type": "integer"}, "n": {"type": "number"}}, {"i": 3.0, "n": 2}) == []


def test_null_is_refused_unless_nullable() -> None:
    schema = {
        "type": "object",
        "properties": {"list": {"type": "array", "items": {"type": "string"}}},
    }
    # A null list item survives pruning (only object fields are pruned), so validation sees it.
    found = CustomResourceSchema(schema).validate({"list": ["a", None]}, None)
    assert found == [
        (
            "FieldValueTypeInvalid",
            "list[1]",
            'Invalid value: "null": list[1] in body must be of type string: "null"',
        )
    ]
    nullable = {
        "type": "object",
        "properties": {"list": {"type": "array", "items": {"type": "string", "nullable": True}}},
    }
    assert CustomResourceSchema(nullable).validate({"list": ["a", None]}, None) == []


def test_int_or_string_takes_both_and_names_both() -> None:
    port = {"port": {"x-kubernetes-int-or-string": True}}
    assert causes(port, {"port": 80}) == causes(port, {"port": "http"}) == []
    assert one(port, {"port": True}) == (
        "FieldValueTypeInvalid",
        "spec.port",
        'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    )


def test_required_names_the_missing_field() -> None:
    assert one({"name": {"type": "string"}}, {}, required=["name"]) == (
        "FieldValueRequired",
        "spec.name",
        "Required value",
    )
    root = {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
    assert CustomResourceSchema(root).validate({}, None) == [
        ("FieldValueRequired", "spec", "Required value")
    ]


def test_enum_lists_the_supported_values_quoted() -> None:
    assert one({"mode": {"type": "string", "enum": ["a", "b"]}}, {"mode": "x"}) == (
        "FieldValueNotSupported",
        "spec.mode",
        'Unsupported value: "x": supported values: "a", "b"',
    )
    # Non-string values are listed as their JSON, then quoted.
    assert one({"n": {"type": "integer", "enum": [1, 2]}}, {"n": 3}) == (
        "FieldValueNotSupported",
        "spec.n",
        'Unsupported value: 3: supported values: "1", "2"',
    )


@pytest.mark.parametrize(
    ("rule", "value", "detail"),
    [
        ({"maximum": 10}, 11, "should be less than or equal to 10"),
        ({"maximum": 10, "exclusiveMaximum": True}, 10, "should be less than 10"),
        ({"minimum": 1}, 0, "should be greater than or equal to 1"),
        ({"minimum": 1, "exclusiveMinimum": True}, 1, "should be greater than 1"),
        ({"multipleOf": 5}, 7, "should be a multiple of 5"),
    ],
)
def test_numeric_bounds(rule: dict[str, Any], value: int, detail: str) -> None:
    assert one({"n": {"type": "integer", **rule}}, {"n": value}) == (
        "FieldValueInvalid",
        "spec.n",
        f"Invalid value: {value}: spec.n in body {detail}",
    )


def test_bounds_hold_at_the_limit_and_floats_print_as_go_prints_them() -> None:
    assert causes({"n": {"type": "integer", "maximum": 10}}, {"n": 10}) == []
    assert one({"x": {"type": "number", "maximum": 1.5}}, {"x": 2.25}) == (
        "FieldValueInvalid",
        "spec.x",
        "Invalid value: 2.25: spec.x in body should be less than or equal to 1.5",
    )


def test_string_lengths_and_pattern() -> None:
    assert one({"s": {"type": "string", "maxLength": 3}}, {"s": "abcd"}) == (
        "FieldValueTooLong",
        "spec.s",
        "Too long: may not be more than 3 bytes",
    )
    assert one({"s": {"type": "string", "minLength": 3}}, {"s": "ab"}) == (
        "FieldValueInvalid",
        "spec.s",
        'Invalid value: "ab": spec.s in body should be at least 3 chars long',
    )
    assert one({"s": {"type": "string", "pattern": "^[a-z]+$"}}, {"s": "A1"}) == (
        "FieldValueInvalid",
        "spec.s",
        "Invalid value: \"A1\": spec.s in body should match '^[a-z]+$'",
    )
    # Lengths count characters, as Go's utf8.RuneCount.
    assert causes({"s": {"type": "string", "maxLength": 2}}, {"s": "éé"}) == []


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    # Python's backtracking engine would take ages here; the regex crate answers at once.
    found = one({"s": {"type": "string", "pattern": "^(a+)+$"}}, {"s": "a" * 5000 + "!"})
    assert found[0] == "FieldValueInvalid"


def test_array_sizes_and_uniqueness() -> None:
    assert one({"l": {"type": "array", "maxItems": 2}}, {"l": [1, 2, 3]}) == (
        "FieldValueTooMany",
        "spec.l",
        "Too many: 3: must have at most 2 items",
    )
    assert one({"l": {"type": "array", "minItems": 2}}, {"l": [1]}) == (
        "FieldValueInvalid",
        "spec.l",
        "Invalid value: 1: spec.l in body should have at least 2 items",
    )
    assert one({"l": {"type": "array", "uniqueItems": True}}, {"l": [1, 1]}) == (
        "FieldValueInvalid",
        "spec.l",
        'Invalid value: "": spec.l in body shouldn\'t contain duplicates',
    )


def test_object_sizes() -> None:
    free = {"type": "object", "additionalProperties": {"type": "string"}}
    assert one({"m": {**free, "maxProperties": 1}}, {"m": {"a": "1", "b": "2"}}) == (
        "FieldValueTooMany",
        "spec.m",
        "Too many: 2: must have at most 1 item",
    )
    assert one({"m": {**free, "minProperties": 2}}, {"m": {"a": "1"}}) == (
        "FieldValueInvalid",
        "spec.m",
        "Invalid value: 1: spec.m in body should have at least 2 properties",
    )


def test_paths_through_lists_and_maps() -> None:
    items = {
        "type": "array",
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    assert one({"items": items}, {"items": [{"name": "a"}, {}, {"name": 1}]}) == (
        "FieldValueTypeInvalid",
        "spec.items[2].name",
        'Invalid value: "integer": spec.items[2].name in body must be of type string: "integer"',
    )
    labels = {"type": "object", "additionalProperties": {"type": "string"}}
    assert one({"labels": labels}, {"labels": {"a": 1}})[1:] == (
        "spec.labels.a",
        'Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    )


def test_an_error_at_the_root_has_no_path() -> None:
    schema = {"type": "object", "maxProperties": 1}
    assert CustomResourceSchema(schema).validate({"a": 1, "b": 2}, None) == [
        ("FieldValueTooMany", "<nil>", "Too many: 2: must have at most 1 item")
    ]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "nope"),
        ("date", "2024-02-29", "2023-02-29"),
        ("date-time", "2024-01-01T10:00:00Z", "2024-01-01 10:00"),
        ("ipv4", "10.0.0.1", "10.0.0"),
        ("ipv6", "fe80::1", "10.0.0.1"),
        ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
        ("duration", "1h30m", "soon"),
        ("byte", "aGVsbG8=", "hello!"),
        ("k8s-short-name", "my-name", "My_Name"),
        ("hostname", "example.com", "-bad-.com"),
        ("mac", "00:1a:2b:3c:4d:5e", "00:1a:2b"),
    ],
)
def test_formats_kube_checks(fmt: str, good: str, bad: str) -> None:
    props = {"v": {"type": "string", "format": fmt}}
    assert causes(props, {"v": good}) == []
    assert one(props, {"v": bad}) == (
        "FieldValueTypeInvalid",
        "spec.v",
        f'Invalid value: "{bad}": spec.v in body must be of type {fmt}: "{bad}"',
    )


def test_formats_kube_strips_are_not_checked() -> None:
    assert causes({"v": {"type": "string", "format": "quantity"}}, {"v": "??"}) == []
    assert causes({"v": {"type": "string", "format": "made-up"}}, {"v": "??"}) == []
    assert causes({"v": {"type": "integer", "format": "uuid"}}, {"v": 5}) == []
    # A format on a non-string type is stripped: a string there is a type error and only that.
    assert [r for r, _, _ in causes({"v": {"type": "integer", "format": "date"}}, {"v": "x"})] == [
        "FieldValueTypeInvalid"
    ]


def test_combinators_report_a_pathless_cause_then_the_closest_branch() -> None:
    any_of = {"v": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 5}]}}
    assert causes(any_of, {"v": "ab"}) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": "spec.v" must validate at least one schema (anyOf)',
        ),
        (
            "FieldValueTypeInvalid",
            "spec.v",
            'Invalid value: "string": spec.v in body must be of type integer: "string"',
        ),
    ]
    assert causes({"v": {"not": {"type": "string"}}}, {"v": "x"}) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": "spec.v" must not validate the schema (not)',
        )
    ]
    all_of = {"v": {"allOf": [{"type": "string"}, {"maxLength": 1}]}}
    assert causes(all_of, {"v": "ab"}) == [
        ("FieldValueTooLong", "spec.v", "Too long: may not be more than 1 byte"),
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": "spec.v" must validate all the schemas (allOf)',
        ),
    ]
    one_of = {"v": {"oneOf": [{"type": "string"}, {"minLength": 1}]}}
    assert causes(one_of, {"v": "ab"})[0][2].endswith(
        '"spec.v" must validate one and only one schema (oneOf). Found 2 valid alternatives'
    )


def test_a_forbidden_property() -> None:
    closed = {
        "o": {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "additionalProperties": False,
        }
    }
    assert one(closed, {"o": {"a": "x", "b": 1}}) == (
        "FieldValueInvalid",
        "spec.o",
        'Invalid value: "b": spec.o.b in body is a forbidden property',
    )


def test_a_fractional_bound_is_truncated_for_an_integer_value() -> None:
    # values.go MaximumNativeType: an int64 value is compared with int64(max).
    assert one({"n": {"type": "integer", "maximum": 10.5}}, {"n": 11}) == (
        "FieldValueInvalid",
        "spec.n",
        "Invalid value: 11: spec.n in body should be less than or equal to 10",
    )


def test_a_pattern_re2_cannot_run_is_refused_when_compiled() -> None:
    # Backreferences need a backtracking engine; Go's RE2 (and the regex crate) have none.
    with pytest.raises(ValueError, match="cannot be compiled"):
        CustomResourceSchema(
            {"type": "object", "properties": {"s": {"type": "string", "pattern": "(a)\\1"}}}
        )


def test_a_date_time_hour_past_23_is_refused() -> None:
    props = {"v": {"type": "string", "format": "date-time"}}
    assert one(props, {"v": "2024-01-01T24:00:00Z"})[0] == "FieldValueTypeInvalid"


def test_int32_and_float_values_must_fit_their_format() -> None:
    props = {
        "i": {"type": "integer", "format": "int32"},
        "f": {"type": "number", "format": "float"},
    }
    assert causes(props, {"i": 2**31 - 1, "f": 1.5}) == []
    assert causes(props, {"i": 2**31, "f": 1e39}) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": Checked value must be of type integer with format int32 in spec.i',
        ),
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "": Checked value must be of type number with format float in spec.f',
        ),
    ]
    assert causes({"i": {"type": "integer", "format": "int64"}}, {"i": 2**40}) == []
