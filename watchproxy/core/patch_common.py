"""What the three PATCH algorithms share: PatchError with the HTTP code kube-apiserver answers
each failure with (apiserver/pkg/endpoints/handlers/patch.go) and a deep copy; Go's JSON type
names for their messages come from core/validation.go_json_type. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

JSONObject = dict[str, Any]

_REASONS: Final = {
    400: "BadRequest",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "",  # metav1.StatusReasonUnknown: what the apiserver sends for a non-Status error
}
# errors.NewGenericServerResponse(422, ...) hides the real error in details.causes.
_GENERIC_422_MESSAGE: Final = "the server rejected our request due to an error in our request"


class PatchError(Exception):
    """A patch kube-apiserver would reject; `code` is the HTTP status it would answer with."""

    def __init__(self, code: int, message: str, *, generic: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.reason = _REASONS.get(code, "")
        self.message = message
        self.generic = generic

    def status(self) -> JSONObject:
        """The metav1.Status body kube-apiserver sends for this failure."""
        body: JSONObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.generic:
            body["message"] = _GENERIC_422_MESSAGE
            body["details"] = {
                "causes": [{"reason": "UnexpectedServerResponse", "message": self.message}]
            }
        return body


def unprocessable(message: str) -> PatchError:
    return PatchError(422, message, generic=True)


def internal(message: str) -> PatchError:
    return PatchError(500, message)


def deep_copy(value: Any) -> Any:
    """A copy of a JSON value sharing nothing with it: orjson's encode and decode (a few times
    faster than a walk in Python), or the walk for what orjson cannot encode (an integer beyond
    64 bits)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return _walk_copy(value)


def _walk_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _walk_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_copy(v) for v in value]
    return value


def dump(value: Any) -> str:
    return orjson.dumps(value).decode()
