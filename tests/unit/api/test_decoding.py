"""api/decoding.py: request-body JSON under kube-apiserver's decoding limits (issue 6)."""

from __future__ import annotations

from typing import Any

import pytest

from watchproxy.api.decoding import (
    DEPTH_MESSAGE,
    MAX_DEPTH,
    JsonLimitError,
    decode_json_object,
    int64_message,
    loads,
    object_problems,
)
from watchproxy.api.status import ApiError


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_limits() -> None:
    assert MAX_DEPTH == 250  # orjson writes 254 levels; a Table row nests an object 3 deeper
    assert DEPTH_MESSAGE == "exceeded max depth of 250"  # apimachinery util/json's wording


@pytest.mark.parametrize("make", [nested_objects, nested_arrays])
def test_depth_up_to_the_limit_is_accepted(make: Any) -> None:
    assert loads(make(MAX_DEPTH)) is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 254, 255, 500, 1023, 1024, 1025, 100_000])
@pytest.mark.parametrize("make", [nested_objects, nested_arrays])
def test_deeper_is_refused_with_kubes_message(make: Any, depth: int) -> None:
    with pytest.raises(JsonLimitError) as caught:
        loads(make(depth))
    assert str(caught.value) == DEPTH_MESSAGE


def test_brackets_inside_strings_do_not_count() -> None:
    body = b'{"a":"' + b"{[" * 1000 + b'"}'
    assert loads(body) == {"a": "{[" * 1000}


def test_a_wide_object_is_not_deep() -> None:
    body = b"[" + b",".join([b'{"a":[1]}'] * 1000) + b"]"
    assert len(loads(body)) == 1000


@pytest.mark.parametrize(
    "literal",
    [
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "100000000000000000000000000000000",
    ],
)
def test_integers_beyond_int64_are_refused(literal: str) -> None:
    with pytest.raises(JsonLimitError) as caught:
        loads(b'{"spec":{"x":[1,' + literal.encode() + b"]}}")
    assert str(caught.value) == int64_message(literal)
    assert str(caught.value) == (
        f"json: cannot unmarshal number {literal} into Go value of type int64"
    )


def test_int64_extremes_and_floats_are_kept() -> None:
    body = (
        b'{"max":9223372036854775807,"min":-9223372036854775808,"f":1e+32,'
        b'"g":12345678901234567890.5,"h":1.5E300,"s":"123456789012345678901234"}'
    )
    assert loads(body) == {
        "max": 2**63 - 1,
        "min": -(2**63),
        "f": 1e32,
        "g": 12345678901234567890.5,
        "h": 1.5e300,
        "s": "123456789012345678901234",
    }


def test_digits_in_keys_and_escaped_strings_are_not_numbers() -> None:
    body = b'{"99999999999999999999":"\\"99999999999999999999\\\\","n":1}'
    assert loads(body) == {"99999999999999999999": '"99999999999999999999\\', "n": 1}


@pytest.mark.parametrize(
    "raw",
    [b'"\xff"', b'"\xc3"', b'"\xed\xa0\x80"', b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\u0041"'],
    ids=["ff", "truncated", "encoded-surrogate", "lone-high", "lone-low", "high-then-bmp"],
)
def test_invalid_utf8_and_lone_surrogates_are_refused(raw: bytes) -> None:
    with pytest.raises(JsonLimitError):
        loads(b'{"a":' + raw + b"}")


def test_surrogate_pairs_decode() -> None:
    assert loads(b'{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_syntax_errors_are_json_limit_errors() -> None:
    with pytest.raises(JsonLimitError):
        loads(b"{bad")


def test_decode_json_object_answers_400() -> None:
    with pytest.raises(ApiError) as caught:
        decode_json_object(nested_objects(300))
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    assert caught.value.message == (
        "the body of the request could not be decoded as JSON: exceeded max depth of 250"
    )
    with pytest.raises(ApiError) as caught:
        decode_json_object(b"[1]")
    assert caught.value.code == 400
    assert caught.value.message == "the body of the request must be a JSON object"
    with pytest.raises(ApiError) as caught:
        decode_json_object(b'{"a":"\\ud800"}')
    assert caught.value.code == 400
    assert caught.value.message.startswith("the body of the request could not be decoded as JSON")
    assert decode_json_object(b'{"a":1}') == {"a": 1}


def _chain(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_object_problems_of_a_patched_object() -> None:
    assert object_problems({"spec": _chain(MAX_DEPTH - 1)}) == []
    assert object_problems({"spec": _chain(MAX_DEPTH)}) == [("spec", DEPTH_MESSAGE)]
    # Deeper than orjson can write at all: still answered, never a crash.
    assert object_problems({"ok": 1, "status": _chain(400)}) == [("status", DEPTH_MESSAGE)]
    assert object_problems({"spec": {"x": [1, 2**64 - 1]}, "y": -(2**63) - 1}) == [
        ("spec.x[1]", int64_message(str(2**64 - 1))),
        ("y", int64_message(str(-(2**63) - 1))),
    ]
    assert object_problems({"spec": {"x": 2**63 - 1, "f": 1e32, "b": True}}) == []
