"""Request bodies as JSON objects, under kube-apiserver's decoding limits (core/json_limits.py):
any limit broken is a 400 BadRequest Status, never a crash deeper down (issue 6)."""

from __future__ import annotations

from typing import Any

from watchproxy.api.status import bad_request
from watchproxy.core.json_limits import (
    DECODE_PREFIX,
    DEPTH_MESSAGE,
    MAX_DEPTH,
    JsonLimitError,
    int64_message,
    loads,
    object_problems,
)

JsonObject = dict[str, Any]

__all__ = [
    "DECODE_PREFIX",
    "DEPTH_MESSAGE",
    "MAX_DEPTH",
    "JsonLimitError",
    "decode_json_object",
    "int64_message",
    "loads",
    "object_problems",
]


def decode_json_object(body: bytes) -> JsonObject:
    """A JSON request body that must be an object (create, update, DeleteOptions, bindings).

    Raises ApiError 400 BadRequest: `the body of the request could not be decoded as JSON: ...`
    for the rules above, `the body of the request must be a JSON object` otherwise."""
    try:
        obj = loads(body)
    except JsonLimitError as exc:
        raise bad_request(DECODE_PREFIX + str(exc)) from None
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    return obj
