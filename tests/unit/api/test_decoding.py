"""api/decoding.py and core/json_limits.py: request-body JSON under kube-apiserver's decoding
limits (issue 6)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from watchproxy.api.decoding import decode_json_object, decode_protobuf_object
from watchproxy.api.status import ApiError
from watchproxy.core.json_limits import (
    DEPTH_MESSAGE,
    MAX_DEPTH,
    JsonLimitError,
    int64_message,
    loads,
    object_problems,
)
from watchproxy.kubeproto._generated import k8s_core_v1_pb2 as core_v1
from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime
from watchproxy.kubeproto.decode import MAGIC


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("make", [nested_objects, nested_arrays])
def test_depth_up_to_the_limit_is_accepted(make: Any) -> None:
    assert loads(make(MAX_DEPTH)) is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 254, 255, 500, 1023, 1024, 1025, 100_000])
@pytest.mark.parametrize("make", [nested_objects, nested_arrays])
def test_deeper_is_refused_with_kubes_message(make: Any, depth: int) -> None:
    with pytest.raises(JsonLimitError) as caught:
        loads(make(depth))
    assert str(caught.value) == DEPTH_MESSAGE


def padded(depth: int, make: Any) -> bytes:
    """A value `depth` deep in an object with 300 more containers beside it: too many brackets
    for any shortcut, so the depth itself is measured."""
    return b'{"pad":[' + b",".join([b"[]"] * 300) + b'],"deep":' + make(depth - 1) + b"}"


@pytest.mark.parametrize("make", [nested_objects, nested_arrays])
def test_depth_at_the_limit_with_many_containers(make: Any) -> None:
    assert loads(padded(MAX_DEPTH, make))["pad"] == [[]] * 300
    with pytest.raises(JsonLimitError) as caught:
        loads(padded(MAX_DEPTH + 1, make))
    assert str(caught.value) == DEPTH_MESSAGE


def test_orjson_writes_exactly_254_levels() -> None:
    """The depth check wraps the value so that orjson's own ceiling falls at MAX_DEPTH: if an
    orjson release moves the ceiling, this fails first."""
    orjson.dumps(orjson.loads(nested_arrays(254)))
    with pytest.raises(TypeError):
        orjson.dumps(orjson.loads(nested_arrays(255)))


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
    "body",
    [
        b"99999999999999999999",
        b"  -99999999999999999999",
        b'{"a": -99999999999999999999}',
        b'{"a":[1,\n\t99999999999999999999]}',
        b'{"a":"x, 1", "b":[ 99999999999999999999]}',
    ],
)
def test_big_integers_anywhere_are_found(body: bytes) -> None:
    with pytest.raises(JsonLimitError):
        loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"ts":"1712345678901234567890","h":"sha-99999999999999999999"}',
        b'{"a":"x, 99999999999999999999","b":"[-99999999999999999999"}',
        b'{"a":99999999999999999999.5,"b":-1234567890123456789012e-3}',
    ],
)
def test_long_digit_runs_that_are_not_integers_are_kept(body: bytes) -> None:
    assert loads(body) == orjson.loads(body)


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


def protobuf_configmap(fields_v1: bytes) -> bytes:
    """A ConfigMap as kubectl's typed commands send it, with one managedFields entry."""
    cm = core_v1.ConfigMap()
    cm.metadata.name = "c"
    entry = cm.metadata.managedFields.add(manager="m", operation="Update", apiVersion="v1")
    entry.fieldsType = "FieldsV1"
    entry.fieldsV1.Raw = fields_v1
    unknown = runtime.Unknown()
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = "v1", "ConfigMap"
    unknown.raw = cm.SerializeToString()
    return bytes(MAGIC + unknown.SerializeToString())


def test_protobuf_bodies_obey_the_limits_too() -> None:
    """FieldsV1 holds JSON that kubeproto parses without the limits: the object is checked."""
    # metadata.managedFields[0].fieldsV1 is 4 levels down: 246 more reach MAX_DEPTH.
    ok = decode_protobuf_object(protobuf_configmap(nested_objects(MAX_DEPTH - 4)))
    assert ok["metadata"]["name"] == "c"
    for raw in (nested_objects(MAX_DEPTH - 3), nested_objects(300)):
        with pytest.raises(ApiError) as caught:
            decode_protobuf_object(protobuf_configmap(raw))
        assert caught.value.code == 400 and caught.value.message == (
            "the body of the request could not be decoded as protobuf: metadata: "
            "exceeded max depth of 250"
        )
    with pytest.raises(ApiError) as caught:
        decode_protobuf_object(protobuf_configmap(b'{"f:x":18446744073709551615}'))
    assert caught.value.message == (
        "the body of the request could not be decoded as protobuf: "
        "metadata.managedFields[0].fieldsV1.f:x: " + int64_message("18446744073709551615")
    )
    with pytest.raises(ApiError) as caught:
        decode_protobuf_object(b"k8s\x00garbage")
    assert caught.value.code == 400
    assert caught.value.message.startswith("the body of the request could not be decoded as")
