"""CEL cost: run-time charges proportional to data (cel_cost.py), the static estimate at CRD
write (cel_estimate.py), the parser's recursion limit, and interpreter failures as rule errors
(kube: apiserver pkg/cel/library/cost.go, apiextensions validation.go getCostErrorMessage)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.schema import cel_cost, cel_runtime
from watchproxy.schema.cel_cost import Budget, CostExceeded, metered
from watchproxy.schema.structural import CustomResourceSchema

STR = {"type": "string"}
INTS = {"type": "array", "items": {"type": "integer"}}
HOSTILE = "self.s.replace('a', self.s).replace('a', self.s).replace('a', self.s).size() > 0"


def spec_schema(rule: str, **props: Any) -> CustomResourceSchema:
    return CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [{"rule": rule}],
                    "properties": props,
                }
            },
        }
    )


def call_cost_exceeded(rule: str) -> tuple[str, str, str]:
    return (
        "FieldValueInvalid",
        "spec",
        "Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': no further "
        f"validation rules will be run due to call cost exceeds limit for rule: {rule}",
    )


def test_a_growing_replace_stops_at_the_call_limit() -> None:
    schema = spec_schema(HOSTILE, s=STR)
    assert schema.validate({"spec": {"s": "a" * 2}}, None) == []
    assert schema.validate({"spec": {"s": "a" * 200}}, None) == [call_cost_exceeded(HOSTILE)]


def test_string_functions_cost_their_size() -> None:
    rule = "self.s.lowerAscii().upperAscii().lowerAscii().size() > 0"
    schema = spec_schema(rule, s=STR)
    assert schema.validate({"spec": {"s": "a" * 1000}}, None) == []
    # three traversals of 4M characters at 0.1 each: 1.2M, past the 1M of one expression,
    # in a rule of a dozen nodes
    assert schema.validate({"spec": {"s": "a" * 4_000_000}}, None) == [call_cost_exceeded(rule)]


def test_concatenation_is_charged_before_it_is_built() -> None:
    budget = Budget(1000)
    with metered(budget), pytest.raises(CostExceeded):
        cel_runtime.FUNCTIONS["_+_"]("a" * 4000, "b" * 4000)
    assert budget.left < 0


def test_replace_charges_its_result_before_building_it() -> None:
    # traversal: 0.2 * 10 = 2; the result (10 + 10 * 999 characters) 0.1 * 10,000 = 1,000
    budget = Budget(500)
    with metered(budget), pytest.raises(CostExceeded):
        cel_cost.replace("a" * 10, "a", "b" * 1000)
    budget = Budget(2000)
    with metered(budget):
        assert cel_cost.replace("a" * 10, "a", "b" * 1000) == "b" * 10_000
    assert 2000 - budget.left == 2 + 1000


def test_unbounded_growth_is_refused_when_the_crd_is_written() -> None:
    too_costly = (
        "Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try "
        "simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, "
        "maps, and strings are declared)"
    )
    field = "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    assert spec_schema(HOSTILE, s=STR).compile_errors() == [
        ("FieldValueForbidden", field, too_costly)
    ]
    assert spec_schema(HOSTILE, s={"type": "string", "maxLength": 10}).compile_errors() == []
    nested = "self.l.all(x, self.l.all(y, x + y >= 0))"
    assert spec_schema(nested, l=INTS).compile_errors() == [
        ("FieldValueForbidden", field, too_costly)
    ]
    assert spec_schema(nested, l={**INTS, "maxItems": 100}).compile_errors() == []
    # one comprehension with a small body over an unbounded list fits kube's estimate
    assert spec_schema("self.l.all(x, x > 0)", l=INTS).compile_errors() == []


@pytest.mark.parametrize("depth", [300, 600, 1000, 5000])
def test_deep_nesting_is_a_compile_error(depth: int) -> None:
    rule = "(" * depth + "self.a" + ")" * depth + " == 1"
    [(reason, field, message)] = spec_schema(rule, a={"type": "integer"}).compile_errors()
    assert (reason, field) == (
        "FieldValueInvalid",
        "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
    )
    assert message.endswith(
        ": compilation failed: ERROR: <input>:-1:0: expression recursion limit exceeded: 250"
    )


def test_moderate_nesting_compiles_and_runs() -> None:
    rule = "(" * 40 + "self.a" + ")" * 40 + " == 1"
    schema = spec_schema(rule, a={"type": "integer"})
    assert schema.compile_errors() == []
    assert schema.validate({"spec": {"a": 1}}, None) == []


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (RecursionError("deep"), "max recursion depth exceeded"),
        (KeyError("x"), "KeyError: 'x'"),
    ],
)
def test_an_interpreter_failure_is_the_rules_error(
    monkeypatch: pytest.MonkeyPatch, error: Exception, text: str
) -> None:
    schema = spec_schema("self.a == 1", a={"type": "integer"})

    def fail(*_: Any) -> Any:
        raise error

    monkeypatch.setattr(cel_runtime.Program, "evaluate", fail)
    assert schema.validate({"spec": {"a": 1}}, None) == [
        (
            "FieldValueInvalid",
            "spec",
            f'Invalid value: "object": {text} evaluating rule: self.a == 1',
        )
    ]


def test_a_value_nested_past_the_stack_is_a_rule_error() -> None:
    schema = CustomResourceSchema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "x-kubernetes-validations": [{"rule": "has(self.a)"}],
                }
            },
        }
    )
    value: dict[str, Any] = {}
    for _ in range(5000):
        value = {"a": value}
    assert schema.validate({"spec": value}, None) == [
        (
            "FieldValueInvalid",
            "<nil>",
            'Invalid value: "object": max recursion depth exceeded evaluating rules',
        )
    ]
