"""x-kubernetes-validations: rules, messages, reasons, field paths, transition rules, budgets
and compile errors, with kube's causes (apiextensions-apiserver schema/cel/validation.go)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.schema import cel_cost
from watchproxy.schema.structural import CustomResourceSchema


def spec_schema(rules: list[dict[str, Any]], **props: Any) -> CustomResourceSchema:
    return CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "x-kubernetes-validations": rules, "properties": props}
            },
        }
    )


INT = {"type": "integer"}
STR = {"type": "string"}


def test_a_false_rule_fails_with_the_default_message() -> None:
    schema = spec_schema([{"rule": "self.a < 3"}], a=INT)
    assert schema.validate({"spec": {"a": 1}}, None) == []
    assert schema.validate({"spec": {"a": 5}}, None) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": failed rule: self.a < 3')
    ]


def test_message_and_message_expression() -> None:
    schema = spec_schema(
        [
            {"rule": "self.a < 3", "message": " a is too big "},
            {
                "rule": "self.a < 4",
                "message": "unused",
                "messageExpression": "'a is ' + string(self.a)",
            },
            {"rule": "self.a < 5", "message": "fallback", "messageExpression": "''"},
        ],
        a=INT,
    )
    assert schema.validate({"spec": {"a": 9}}, None) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": a is too big'),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": a is 9'),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": fallback'),
    ]


@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        ("FieldValueForbidden", ("FieldValueForbidden", "spec", "Forbidden: no")),
        ("FieldValueRequired", ("FieldValueRequired", "spec", "Required value: no")),
        ("FieldValueDuplicate", ("FieldValueDuplicate", "spec", 'Duplicate value: "object"')),
        ("FieldValueInvalid", ("FieldValueInvalid", "spec", 'Invalid value: "object": no')),
    ],
)
def test_reason(reason: str, cause: tuple[str, str, str]) -> None:
    schema = spec_schema([{"rule": "false", "message": "no", "reason": reason}])
    assert schema.validate({"spec": {}}, None) == [cause]


def test_field_path_moves_the_cause() -> None:
    schema = spec_schema(
        [
            {"rule": "self.a > 0", "fieldPath": ".a"},
            {"rule": "false", "fieldPath": ".m['k.x']"},
        ],
        a=INT,
        m={"type": "object", "additionalProperties": STR},
    )
    assert schema.validate({"spec": {"a": 0, "m": {}}}, None) == [
        ("FieldValueInvalid", "spec.a", 'Invalid value: "object": failed rule: self.a > 0'),
        ("FieldValueInvalid", "spec.m[k.x]", 'Invalid value: "object": failed rule: false'),
    ]


def test_a_root_rule_has_no_path_and_sees_type_and_object_meta() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.metadata.name.startsWith('ok') && self.kind == 'App'"}
            ],
        }
    )
    obj: dict[str, Any] = {
        "apiVersion": "x/v1",
        "kind": "App",
        "metadata": {"name": "bad", "uid": "1"},
    }
    assert schema.validate(obj, None) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "object": failed rule: '
            "self.metadata.name.startsWith('ok') && self.kind == 'App'",
        )
    ]
    obj["metadata"]["name"] = "okay"
    assert schema.validate(obj, None) == []


def test_rules_on_scalars_lists_and_map_values() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "x-kubernetes-validations": [{"rule": "self.size() <= 3"}],
                },
                "list": {
                    "type": "array",
                    "items": {
                        "type": "integer",
                        "x-kubernetes-validations": [{"rule": "self >= 0"}],
                    },
                },
                "map": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "string",
                        "x-kubernetes-validations": [{"rule": "self != ''"}],
                    },
                },
            },
        }
    )
    assert schema.validate({"name": "long", "list": [1, -1], "map": {"k": ""}}, None) == [
        ("FieldValueInvalid", "name", 'Invalid value: "string": failed rule: self.size() <= 3'),
        ("FieldValueInvalid", "list[1]", 'Invalid value: "integer": failed rule: self >= 0'),
        ("FieldValueInvalid", "map[k]", "Invalid value: \"string\": failed rule: self != ''"),
    ]


def test_null_values_are_not_validated() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "s": {
                    "type": "string",
                    "nullable": True,
                    "x-kubernetes-validations": [{"rule": "false"}],
                }
            },
        }
    )
    assert schema.validate({"s": None}, None) == []


def test_transition_rules_run_on_updates_only() -> None:
    schema = spec_schema([{"rule": "self.a == oldSelf.a", "message": "immutable"}], a=STR)
    assert schema.validate({"spec": {"a": "x"}}, None) == []
    assert schema.validate({"spec": {"a": "x"}}, {"spec": {"a": "x"}}) == []
    assert schema.validate({"spec": {"a": "x"}}, {"spec": {"a": "y"}}) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": immutable')
    ]
    # No old value at this node (spec was absent): the rule does not run.
    assert schema.validate({"spec": {"a": "x"}}, {}) == []


def test_optional_old_self_runs_on_create_too() -> None:
    schema = spec_schema(
        [{"rule": "oldSelf.hasValue() || self.a == 'new'", "optionalOldSelf": True}], a=STR
    )
    assert schema.validate({"spec": {"a": "other"}}, None)[0][2] == (
        "Invalid value: \"object\": failed rule: oldSelf.hasValue() || self.a == 'new'"
    )
    assert schema.validate({"spec": {"a": "other"}}, {"spec": {"a": "x"}}) == []


def test_map_list_items_correlate_by_key() -> None:
    item = {
        "type": "object",
        "properties": {"name": STR, "port": INT},
        "x-kubernetes-validations": [
            {"rule": "self.port == oldSelf.port", "message": "port is immutable"}
        ],
    }
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": item,
                }
            },
        }
    )
    old = {"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}
    new = {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 9}, {"name": "c", "port": 3}]}
    assert schema.validate(new, old) == [
        ("FieldValueInvalid", "ports[1]", 'Invalid value: "object": port is immutable')
    ]


def test_an_evaluation_error_names_the_error_and_the_rule() -> None:
    schema = spec_schema(
        [{"rule": "self.missing == 1"}, {"rule": "1 / self.zero == 1"}], missing=INT, zero=INT
    )
    assert schema.validate({"spec": {"zero": 0}}, None) == [
        (
            "FieldValueInvalid",
            "spec",
            'Invalid value: "object": no such key: missing evaluating rule: self.missing == 1',
        ),
        (
            "FieldValueInvalid",
            "spec",
            'Invalid value: "object": division by zero evaluating rule: 1 / self.zero == 1',
        ),
    ]


def test_values_are_typed_by_the_schema() -> None:
    schema = spec_schema(
        [
            {"rule": "self.ratio == 2.0"},
            {"rule": "self.timeout > duration('1s')"},
            {"rule": "self.since < timestamp('2030-01-01T00:00:00Z')"},
            {"rule": "self.dash__dash__name == 'x' && self.__namespace__ == 'ns'"},
        ],
        ratio={"type": "number"},
        timeout={"type": "string", "format": "duration"},
        since={"type": "string", "format": "date-time"},
        **{"dash-name": STR, "namespace": STR},
    )
    spec = {
        "ratio": 2,
        "timeout": "5s",
        "since": "2024-01-01T00:00:00Z",
        "dash-name": "x",
        "namespace": "ns",
    }
    assert schema.validate({"spec": spec}, None) == []


def test_kube_library_functions() -> None:
    schema = spec_schema(
        [
            {
                "rule": "self.l.isSorted() && self.l.sum() == 6 && self.l.max() == 3"
                " && self.l.indexOf(2) == 1"
            },
            {
                "rule": "self.s.lowerAscii() == 'abc' && self.s.split('B') == ['A', 'C']"
                " && self.s.charAt(1) == 'B'"
            },
            {"rule": "self.s.matches('^[A-Z]+$') && !self.s.matches('(a+)+$')"},
        ],
        l={"type": "array", "items": INT},
        s=STR,
    )
    assert schema.validate({"spec": {"l": [1, 2, 3], "s": "ABC"}}, None) == []
    assert len(schema.validate({"spec": {"l": [3, 2, 1], "s": "ABC"}}, None)) == 1


def test_an_expensive_rule_stops_all_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = spec_schema(
        [
            {"rule": "false", "message": "first"},
            {"rule": "self.l.all(x, self.l.all(y, x + y >= 0))", "message": "heavy"},
            {"rule": "false", "message": "never reached"},
        ],
        l={"type": "array", "items": INT},
    )
    assert schema.validate({"spec": {"l": [1, 2]}}, None) == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": first'),
        ("FieldValueInvalid", "spec", 'Invalid value: "object": never reached'),
    ]
    found = schema.validate({"spec": {"l": list(range(200))}}, None)
    assert found == [
        ("FieldValueInvalid", "spec", 'Invalid value: "object": first'),
        (
            "FieldValueInvalid",
            "spec",
            "Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': "
            "no further validation rules will be run due to call cost exceeds limit for rule: "
            "heavy",
        ),
    ]


def test_the_object_budget_is_shared_by_all_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    import watchproxy.schema.cel as cel

    schema = spec_schema([{"rule": "self.a == 2", "message": "no"}] * 5, a=INT)
    failed = ("FieldValueInvalid", "spec", 'Invalid value: "object": no')
    assert schema.validate({"spec": {"a": 1}}, None) == [failed] * 5
    # room for two or three of the five (each visits a handful of nodes)
    monkeypatch.setattr(cel, "RUNTIME_BUDGET", 20 * cel_cost.NODE_COST)
    found = schema.validate({"spec": {"a": 1}}, None)
    assert found[-1] == (
        "FieldValueInvalid",
        "spec",
        'Invalid value: "object": validation failed due to running out of cost budget, '
        "no further validation rules will be run",
    )
    assert 1 <= len(found) - 1 < 5
    assert found[:-1] == [failed] * (len(found) - 1)
    assert cel_cost.PER_CALL_LIMIT > 20 * cel_cost.NODE_COST


@pytest.mark.parametrize(
    ("rule", "where", "detail"),
    [
        (
            {"rule": "self.a >"},
            "rule",
            "compilation failed: ERROR: <input>:1:8: Syntax error: unexpected input\n"
            " | self.a >\n | .......^",
        ),
        (
            {"rule": "other.a == 1"},
            "rule",
            "compilation failed: ERROR: <input>:1:1: "
            "undeclared reference to 'other' (in container '')",
        ),
        (
            {"rule": "self.a.frobnicate()"},
            "rule",
            "compilation failed: ERROR: <input>:1:8: "
            "undeclared reference to 'frobnicate' (in container '')",
        ),
        (
            {"rule": "true", "messageExpression": "'a' +"},
            "messageExpression",
            "messageExpression compilation failed: ERROR: <input>:1:5: "
            "Syntax error: unexpected input\n | 'a' +\n | ....^",
        ),
        (
            {"rule": "true", "fieldPath": ".nope"},
            "fieldPath",
            "fieldPath must be a valid path: does not refer to a valid field",
        ),
    ],
)
def test_compile_errors(rule: dict[str, Any], where: str, detail: str) -> None:
    schema = spec_schema([{"rule": "self.a == 1"}, rule], a=INT)
    found = schema.compile_errors()
    assert len(found) == 1
    reason, field, message = found[0]
    assert (reason, field) == (
        "FieldValueInvalid",
        f"openAPIV3Schema.properties[spec].x-kubernetes-validations[1].{where}",
    )
    assert message.startswith("Invalid value: apiextensions.ValidationRule{Rule:")
    assert message.endswith(f"}}: {detail}")


def test_a_rule_that_does_not_compile_fails_every_object() -> None:
    schema = spec_schema([{"rule": "self.a >"}], a=INT)
    assert schema.validate({"spec": {"a": 1}}, None) == [
        (
            "FieldValueInvalid",
            "spec",
            'Invalid value: "object": rule compile error: compilation failed: ERROR: <input>:1:8: '
            "Syntax error: unexpected input\n | self.a >\n | .......^",
        )
    ]


def test_macro_variables_are_declared() -> None:
    schema = spec_schema(
        [
            {
                "rule": "self.l.all(x, x > 0) && self.l.exists(y, y == 1)"
                " && self.l.map(z, z * 2).filter(w, w > 2).size() == 1"
            }
        ],
        # bounded: over an unbounded list the four comprehensions exceed kube's cost estimate
        l={"type": "array", "items": INT, "maxItems": 100},
    )
    assert schema.compile_errors() == []
    assert schema.validate({"spec": {"l": [1, 2]}}, None) == []


def test_an_integer_beyond_int64_does_not_break_evaluation() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}
            },
        }
    )
    assert schema.validate({"a": 2**70}, None) == []
    assert schema.validate({"a": -(2**70)}, None) == [
        ("FieldValueInvalid", "a", 'Invalid value: "integer": failed rule: self > 0')
    ]
