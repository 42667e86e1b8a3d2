"""Request bodies as JSON objects, under kube-apiserver's decoding limits (core/json_limits.py):
any limit broken is a 400 BadRequest Status, never a crash deeper down (issue 6).

A protobuf body obeys them too: the JSON its RawExtension and FieldsV1 fields carry is parsed by
kubeproto without them, so the decoded object is checked as a whole (object_problems)."""

from __future__ import annotations

from typing import Any

from watchproxy.api.status import bad_request
from watchproxy.core.json_limits import JsonLimitError, loads, object_problems
from watchproxy.kubeproto.decode import decode_protobuf

JsonObject = dict[str, Any]

DECODE_PREFIX = "the body of the request could not be decoded as JSON: "
PROTOBUF_DECODE_PREFIX = "the body of the request could not be decoded as protobuf: "


def decode_json_object(body: bytes) -> JsonObject:
    """A JSON request body that must be an object (create, update, DeleteOptions, bindings).

    Raises ApiError 400 BadRequest: `the body of the request could not be decoded as JSON: ...`
    for the rules of core/json_limits.py, `the body of the request must be a JSON object`
    otherwise."""
    try:
        obj = loads(body)
    except JsonLimitError as exc:
        raise bad_request(DECODE_PREFIX + str(exc)) from None
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    return obj


def decode_protobuf_object(body: bytes) -> JsonObject:
    """A Kubernetes protobuf request body as the JSON object kube makes of it (kubeproto).

    Raises ApiError 400 BadRequest `the body of the request could not be decoded as protobuf:
    ...` when it does not decode, or when the object breaks a limit of core/json_limits.py
    (`metadata: exceeded max depth of 250`: embedded JSON nested too deep)."""
    try:
        obj = decode_protobuf(body)
    except ValueError as exc:
        raise bad_request(PROTOBUF_DECODE_PREFIX + str(exc)) from exc
    problems = object_problems(obj)
    if problems:
        field, message = problems[0]
        raise bad_request(f"{PROTOBUF_DECODE_PREFIX}{field}: {message}")
    return obj
