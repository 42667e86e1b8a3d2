"""Validation ratcheting on updates (kube's CRDValidationRatcheting): errors in what the update
left unchanged are not reported; changed parts are validated as on create."""

from __future__ import annotations

from typing import Any

from watchproxy.schema.structural import RULES_NOT_CHECKED, CustomResourceSchema

NAME = {"type": "string", "maxLength": 3}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["must"],
            "properties": {
                "must": {"type": "string"},
                "name": NAME,
                "other": {"type": "string"},
                "plain": {"type": "array", "items": NAME},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["key"],
                    "items": {
                        "type": "object",
                        "properties": {"key": {"type": "string"}, "name": NAME},
                    },
                },
                "tags": {
                    "type": "array",
                    "x-kubernetes-list-type": "set",
                    "items": {"type": "string"},
                },
                "words": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "x-kubernetes-validations": [{"rule": "self != 'bad'"}],
                    },
                },
                "locked": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "oldSelf != 'locked'", "message": "locked"}
                    ],
                },
                "rule": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "self != 'bad'"},
                        {"rule": "self == oldSelf", "message": "immutable"},
                    ],
                },
            },
        }
    },
}
TOO_LONG = ("FieldValueTooLong", "spec.name", "Too long: may not be more than 3 bytes")


def validate(new: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    return CustomResourceSchema(SCHEMA).validate(
        {"spec": new}, None if old is None else {"spec": old}
    )


def test_an_unchanged_invalid_field_is_not_an_error_on_update() -> None:
    stored = {"must": "x", "name": "toolong"}
    # A blocking error (too long, required) stands in for the CEL rules (RULES_NOT_CHECKED).
    assert validate(stored, None) == [TOO_LONG, RULES_NOT_CHECKED]
    assert validate({**stored, "other": "changed"}, stored) == []
    assert validate({**stored, "name": "stilltoolong"}, stored)[0][:2] == TOO_LONG[:2]


def test_a_missing_required_field_ratchets_with_its_unchanged_object() -> None:
    stored = {"name": "ok"}
    assert validate(stored, stored) == []
    assert validate({"name": "new"}, stored) == [
        ("FieldValueRequired", "spec.must", "Required value"),
        RULES_NOT_CHECKED,
    ]


def test_items_of_a_plain_list_ratchet_only_with_the_whole_list() -> None:
    stored = {"must": "x", "plain": ["toolong", "ok"]}
    assert validate({**stored, "other": "y"}, stored) == []
    changed = validate({"must": "x", "plain": ["toolong", "ok", "new"]}, stored)
    assert [f for _, f, _ in changed] == ["spec.plain[0]", "<nil>"]


def test_map_list_items_ratchet_by_key() -> None:
    stored = {"must": "x", "ports": [{"key": "a", "name": "toolong"}]}
    reordered = {
        "must": "x",
        "ports": [{"key": "b", "name": "ok"}, {"key": "a", "name": "toolong"}],
    }
    assert validate(reordered, stored) == []
    renamed = {"must": "x", "ports": [{"key": "a", "name": "longer"}]}
    assert [f for _, f, _ in validate(renamed, stored)] == ["spec.ports[0].name", "<nil>"]


def test_set_duplicates_are_checked_only_if_the_old_object_had_none() -> None:
    dup = ("FieldValueDuplicate", "spec.tags[1]", 'Duplicate value: "a"')
    assert validate({"must": "x", "tags": ["a", "a"]}, {"must": "x"}) == [dup]
    assert validate({"must": "x", "tags": ["a", "a", "b"]}, {"must": "x", "tags": ["c", "c"]}) == []


def test_cel_rules_ratchet_but_transition_rules_do_not() -> None:
    stored = {"must": "x", "rule": "bad"}
    assert validate(stored, None) == [
        ("FieldValueInvalid", "spec.rule", "Invalid value: \"string\": failed rule: self != 'bad'")
    ]
    assert validate({**stored, "other": "y"}, stored) == []
    assert validate({"must": "x", "rule": "good"}, stored) == [
        ("FieldValueInvalid", "spec.rule", 'Invalid value: "string": immutable')
    ]


def test_items_of_a_plain_list_ratchet_cel_with_the_whole_list() -> None:
    stored = {"must": "x", "words": ["bad", "ok"]}
    assert validate({**stored, "other": "y"}, stored) == []
    assert [f for _, f, _ in validate({"must": "x", "words": ["bad", "ok", "new"]}, stored)] == [
        "spec.words[0]"
    ]


def test_a_failing_transition_rule_is_reported_even_when_nothing_changed() -> None:
    stored = {"must": "x", "locked": "locked"}
    assert validate(stored, stored) == [
        ("FieldValueInvalid", "spec.locked", 'Invalid value: "string": locked')
    ]
