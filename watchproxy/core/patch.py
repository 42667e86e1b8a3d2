"""Apply the PATCH bodies kube-apiserver accepts to a stored object (a JSON dict); pure, no I/O.

Owns content-type dispatch (`apply_patch`), RFC 7386 JSON merge patch and RFC 6902 JSON patch; the
server half of apimachinery's strategic merge patch is core/strategic_patch.py, and PatchError
core/patch_common.py. The HTTP status kube-apiserver answers each failure with
(apiserver/pkg/endpoints/handlers/patch.go):

* body that is not JSON, or of the wrong top-level type ............................. 400 BadRequest
  (except a merge patch that is an array: it replaces the object, whose decoding fails: 422)
* malformed strategic directives ($retainKeys, $setElementOrder/, $deleteFromPrimitiveList/) .. 400
* JSON patch that cannot be applied (bad op, missing path, failed test) ..... 422 (generic response)
* strategic patch with a list of lists ...................................... 422 (generic response)
* JSON patch with more than 10000 operations ............................ 413 RequestEntityTooLarge
* any other strategic-merge failure (missing merge key, unknown `$patch` value, element types that
  differ, `$setElementOrder` contradicting the patch list): apimachinery returns a plain Go error,
  which the apiserver turns into 500 with an empty reason; we keep that code.

Server-side apply is not implemented here: the caller answers 415 for APPLY_PATCH.  Merge-key
tables live in `watchproxy.core.patch_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from watchproxy.core.json_limits import JsonLimitError
from watchproxy.core.json_limits import loads as load_json
from watchproxy.core.patch_common import (
    JSONObject,
    PatchError,
    deep_copy,
    unprocessable,
)
from watchproxy.core.patch_schema import schema_for_kind
from watchproxy.core.strategic_patch import strategic_merge_patch
from watchproxy.core.validation import go_json_type

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
SUPPORTED_PATCH_TYPES: Final = frozenset({JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH})
MAX_JSON_PATCH_OPERATIONS: Final = 10000


def patch_media_type(content_type: str) -> str:
    """The media type of a Content-Type header, without parameters such as `; charset=utf-8`."""
    return content_type.split(";", 1)[0].strip().lower()


def apply_patch(
    original: JSONObject, patch_body: bytes, content_type: str, *, kind: str
) -> JSONObject:
    """Return `original` patched by `patch_body` (never mutates `original`); raises PatchError."""
    patch_type = patch_media_type(content_type)
    if patch_type not in SUPPORTED_PATCH_TYPES:
        accepted = ", ".join((JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH))
        raise PatchError(
            415,
            "the body of the request was in an unknown format - "
            f"accepted media types include: {accepted}",
        )
    try:
        patch = load_json(patch_body)  # kube's decoding limits: core/json_limits.py
    except JsonLimitError as exc:
        raise PatchError(400, f"error decoding patch: {exc}") from None
    if patch_type == JSON_PATCH:
        return json_patch(original, patch)
    if patch_type == MERGE_PATCH:
        return json_merge_patch(original, patch)
    return strategic_merge_patch(original, patch, schema_for_kind(kind))


# --- RFC 7386 JSON merge patch (evanphx/json-patch v4 MergePatch, as the apiserver runs it) ---


def json_merge_patch(original: JSONObject, patch: Any) -> JSONObject:
    """Apply an RFC 7386 merge patch, already parsed from JSON."""
    if isinstance(patch, list):
        # MergePatch returns the array itself; decoding it as the object then fails (NewInvalid).
        raise PatchError(422, "patch: Invalid value: a JSON array merge patch replaces the object")
    if not isinstance(patch, dict):
        raise PatchError(
            400, f"Invalid JSON Patch: a merge patch must be an object, not {go_json_type(patch)}"
        )
    doc: JSONObject = deep_copy(original)
    _merge_docs(doc, patch)
    return doc


def _merge_docs(doc: JSONObject, patch: JSONObject) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif key in doc:
            doc[key] = _merge_patch_value(doc[key], value)
        else:
            doc[key] = _prune_nulls(value)


def _merge_patch_value(current: Any, patch: Any) -> Any:
    if not isinstance(current, dict):
        return _prune_nulls(patch)
    if not isinstance(patch, dict):
        return patch
    _merge_docs(current, patch)
    return current


def _prune_nulls(value: Any) -> Any:
    # evanphx also drops null array items from added values, beyond what RFC 7386 requires.
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value if v is not None]
    return value


# --- RFC 6902 JSON patch (semantics of evanphx/json-patch v4, which kube-apiserver uses) ---


def json_patch(original: JSONObject, operations: Any) -> JSONObject:
    """Apply an RFC 6902 patch (a parsed list of operations)."""
    if not isinstance(operations, list):
        raise PatchError(
            400,
            f"json: cannot unmarshal {go_json_type(operations)} "
            "into Go value of type jsonpatch.Patch",
        )
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise PatchError(
                400, f"JSON patch operation {index} is {go_json_type(operation)}, not an object"
            )
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            413,
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    doc: JSONObject = deep_copy(original)
    for operation in operations:
        op = operation.get("op")
        handler = _OPERATIONS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise unprocessable(f"Unexpected kind: {op if isinstance(op, str) else 'unknown'}")
        handler(doc, operation)
    return doc


_INDEX = re.compile(r"-?[0-9]+")


def _pointer_field(operation: JSONObject, name: str) -> str:
    value = operation.get(name)
    if not isinstance(value, str):
        raise unprocessable(
            f"{operation['op']} operation failed to decode {name}: missing or not a string"
        )
    return value


def _value_field(operation: JSONObject) -> Any:
    if "value" not in operation:
        raise unprocessable(f"{operation['op']} operation is missing its value")
    return operation["value"]


def _locate(doc: JSONObject, path: str, op: str) -> tuple[JSONObject | list[Any], str]:
    """The container holding the last token of `path`, and that token (unescaped)."""
    missing = unprocessable(f"{op} operation does not apply: doc is missing path: {path!r}")
    if not path.startswith("/"):
        raise missing  # also the root: the apiserver never replaces a whole object this way
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
    container: Any = doc
    for token in tokens[:-1]:
        if isinstance(container, dict):
            container = container.get(token)
        elif (
            isinstance(container, list)
            and _INDEX.fullmatch(token)
            and 0 <= int(token) < len(container)
        ):
            container = container[int(token)]
        else:
            raise missing
    if not isinstance(container, dict | list):
        raise missing
    return container, tokens[-1]


def _array_index(array: list[Any], token: str, path: str, op: str, *, extra: int = 0) -> int:
    """Index into `array` (`extra=1` to insert); negative ones count from the end, as in evanphx."""
    if not _INDEX.fullmatch(token):
        raise unprocessable(
            f"error in {op} for path: {path!r}: value was not a proper array index: {token!r}"
        )
    index, size = int(token), len(array) + extra
    if not -size <= index < size:
        raise unprocessable(
            f"error in {op} for path: {path!r}: Unable to access invalid index: {index}"
        )
    return index + size if index < 0 else index


def _insert(container: JSONObject | list[Any], key: str, value: Any, path: str, op: str) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif key == "-":
        container.append(value)
    else:
        container.insert(_array_index(container, key, path, op, extra=1), value)


def _take(container: JSONObject | list[Any], key: str, path: str, op: str, *, remove: bool) -> Any:
    if isinstance(container, dict):
        if key not in container:
            verb = "remove" if remove else "get"
            raise unprocessable(
                f"error in {op} for path: {path!r}: "
                f"Unable to {verb} nonexistent key: {key}: missing value"
            )
        return container.pop(key) if remove else container[key]
    index = _array_index(container, key, path, op)
    return container.pop(index) if remove else container[index]


def _op_add(doc: JSONObject, operation: JSONObject) -> None:
    path = _pointer_field(operation, "path")
    value = _value_field(operation)
    container, key = _locate(doc, path, "add")
    _insert(container, key, value, path, "add")


def _op_remove(doc: JSONObject, operation: JSONObject) -> None:
    path = _pointer_field(operation, "path")
    container, key = _locate(doc, path, "remove")
    _take(container, key, path, "remove", remove=True)


def _op_replace(doc: JSONObject, operation: JSONObject) -> None:
    path = _pointer_field(operation, "path")
    value = _value_field(operation)
    container, key = _locate(doc, path, "replace")
    if isinstance(container, dict):
        container[key] = value  # evanphx v4 replaces a missing member instead of failing
    else:
        container[_array_index(container, key, path, "replace")] = value


def _op_move(doc: JSONObject, operation: JSONObject) -> None:
    source = _pointer_field(operation, "from")
    container, key = _locate(doc, source, "move")
    value = _take(container, key, source, "move", remove=True)
    path = _pointer_field(operation, "path")
    target, target_key = _locate(doc, path, "move")
    _insert(target, target_key, value, path, "move")


def _op_copy(doc: JSONObject, operation: JSONObject) -> None:
    source = _pointer_field(operation, "from")
    container, key = _locate(doc, source, "copy")
    value = deep_copy(_take(container, key, source, "copy", remove=False))
    path = _pointer_field(operation, "path")
    target, target_key = _locate(doc, path, "copy")
    _insert(target, target_key, value, path, "copy")


def _op_test(doc: JSONObject, operation: JSONObject) -> None:
    path = _pointer_field(operation, "path")
    expected = _value_field(operation)
    container, key = _locate(doc, path, "test")
    if isinstance(container, dict):
        actual = container.get(key)  # evanphx: a missing member tests equal to null
    else:
        actual = container[_array_index(container, key, path, "test")]
    if not _json_equal(actual, expected):
        raise unprocessable(f"testing value {path} failed: test failed")


def _json_equal(a: Any, b: Any) -> bool:
    """RFC 6902 equality: numbers compare by value, but booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


_OPERATIONS: Final[dict[str, Callable[[JSONObject, JSONObject], None]]] = {
    "add": _op_add,
    "remove": _op_remove,
    "replace": _op_replace,
    "move": _op_move,
    "copy": _op_copy,
    "test": _op_test,
}


__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MAX_JSON_PATCH_OPERATIONS",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "SUPPORTED_PATCH_TYPES",
    "PatchError",
    "apply_patch",
    "json_merge_patch",
    "json_patch",
    "strategic_merge_patch",
]
