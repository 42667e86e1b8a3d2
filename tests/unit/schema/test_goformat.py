"""Go's printing of decoded JSON values in kube's field errors (strconv 'g' -1, %#v, %q)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.schema.goformat import enum_values, go_bad_value, go_float, go_sharp_v


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (-2.25, "-2.25"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (1e21, "1e+21"),
        (-0.0, "-0"),
        (float("inf"), "+Inf"),
    ],
)
def test_go_float(value: float, shown: str) -> None:
    assert go_float(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"b": 1, "a": "x"}, 'map[string]interface {}{"a":"x", "b":1}'),
        (["a", 1, True, None], '[]interface {}{"a", 1, true, interface {}(nil)}'),
        (
            {"n": {"m": []}},
            'map[string]interface {}{"n":map[string]interface {}{"m":[]interface {}{}}}',
        ),
    ],
)
def test_go_sharp_v(value: Any, shown: str) -> None:
    assert go_sharp_v(value) == shown


def test_bad_values() -> None:
    assert go_bad_value(None) == '"null"'
    assert go_bad_value("a\n") == '"a\\n"'
    assert go_bad_value(False) == "false"
    assert go_bad_value(7) == "7"
    assert go_bad_value(2.5) == "2.5"


def test_enum_values_are_strings_or_json() -> None:
    assert enum_values(["a", 1, 2.0, 2.5, True, None, {"b": 1, "a": 2}]) == [
        "a", "1", "2", "2.5", "true", "null", '{"a":2,"b":1}',
    ]  # fmt: skip
