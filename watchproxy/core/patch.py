"""Apply the PATCH bodies kube-apiserver accepts to a stored object (a JSON dict); pure, no I/O.

Owns content-type dispatch (`apply_patch`), RFC 7386 JSON merge patch, RFC 6902 JSON patch and the
server half of apimachinery's strategic merge patch (`StrategicMergeMapPatch`), together with the
HTTP status kube-apiserver answers each failure with (apiserver/pkg/endpoints/handlers/patch.go):

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

import orjson

from watchproxy.core.json_limits import JsonLimitError
from watchproxy.core.json_limits import loads as load_json
from watchproxy.core.patch_schema import (
    EMPTY,
    MERGE,
    REPLACE,
    FieldSchema,
    Schema,
    schema_for_kind,
)

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
SUPPORTED_PATCH_TYPES: Final = frozenset({JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH})
MAX_JSON_PATCH_OPERATIONS: Final = 10000

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


def _unprocessable(message: str) -> PatchError:
    return PatchError(422, message, generic=True)


def _internal(message: str) -> PatchError:
    return PatchError(500, message)


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


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _json_type(value: Any) -> str:
    """Go's encoding/json name for the JSON type of `value` (used in its error messages)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "null"


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


# --- RFC 7386 JSON merge patch (evanphx/json-patch v4 MergePatch, as the apiserver runs it) ---


def json_merge_patch(original: JSONObject, patch: Any) -> JSONObject:
    """Apply an RFC 7386 merge patch, already parsed from JSON."""
    if isinstance(patch, list):
        # MergePatch returns the array itself; decoding it as the object then fails (NewInvalid).
        raise PatchError(422, "patch: Invalid value: a JSON array merge patch replaces the object")
    if not isinstance(patch, dict):
        raise PatchError(
            400, f"Invalid JSON Patch: a merge patch must be an object, not {_json_type(patch)}"
        )
    doc: JSONObject = _copy(original)
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
            f"json: cannot unmarshal {_json_type(operations)} into Go value of type "
            "jsonpatch.Patch",
        )
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise PatchError(
                400, f"JSON patch operation {index} is {_json_type(operation)}, not an object"
            )
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            413,
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    doc: JSONObject = _copy(original)
    for operation in operations:
        op = operation.get("op")
        handler = _OPERATIONS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise _unprocessable(f"Unexpected kind: {op if isinstance(op, str) else 'unknown'}")
        handler(doc, operation)
    return doc


_INDEX = re.compile(r"-?[0-9]+")


def _pointer_field(operation: JSONObject, name: str) -> str:
    value = operation.get(name)
    if not isinstance(value, str):
        raise _unprocessable(
            f"{operation['op']} operation failed to decode {name}: missing or not a string"
        )
    return value


def _value_field(operation: JSONObject) -> Any:
    if "value" not in operation:
        raise _unprocessable(f"{operation['op']} operation is missing its value")
    return operation["value"]


def _locate(doc: JSONObject, path: str, op: str) -> tuple[JSONObject | list[Any], str]:
    """The container holding the last token of `path`, and that token (unescaped)."""
    missing = _unprocessable(f"{op} operation does not apply: doc is missing path: {path!r}")
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
        raise _unprocessable(
            f"error in {op} for path: {path!r}: value was not a proper array index: {token!r}"
        )
    index, size = int(token), len(array) + extra
    if not -size <= index < size:
        raise _unprocessable(
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
            raise _unprocessable(
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
    value = _copy(_take(container, key, source, "copy", remove=False))
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
        raise _unprocessable(f"testing value {path} failed: test failed")


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


# --- Strategic merge patch: a port of apimachinery's strategicpatch.mergeMap and friends, run with
# the server-side options (MergeParallelList and IgnoreUnmatchedNulls both true). ---

_DIRECTIVE: Final = "$patch"
_RETAIN_KEYS: Final = "$retainKeys"
_DELETE_FROM: Final = "$deleteFromPrimitiveList"
_SET_ORDER: Final = "$setElementOrder"
_BAD_FORMAT: Final = {
    _DELETE_FROM: "invalid patch format of primitive list",
    _SET_ORDER: "invalid patch format of setElementOrder list",
    _RETAIN_KEYS: "invalid patch format of retainKeys",
}


def strategic_merge_patch(original: JSONObject, patch: Any, schema: Schema) -> JSONObject:
    """Apply a parsed strategic merge patch to `original` using `schema`'s merge keys."""
    if patch is None:
        unchanged: JSONObject = _copy(original)  # Go unmarshals `null` into a nil map
        return unchanged
    if not isinstance(patch, dict):
        raise PatchError(
            400,
            f"json: cannot unmarshal {_json_type(patch)} into Go value of type "
            "map[string]interface {}",
        )
    return _merge_map(_copy(original), patch, schema)


def _merge_map(original: JSONObject, patch: JSONObject, schema: Schema) -> JSONObject:
    """mergeMap: merge `patch` into `original`, which is ours to mutate, and return the result."""
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return _merge_map({}, {k: v for k, v in patch.items() if k != _DIRECTIVE}, schema)
        if directive == "delete":
            return {}
        raise _internal(f"unknown patch type: {_dump(directive)} in map: {_dump(patch)}")
    patch = dict(patch)  # directives are consumed from the patch as they are applied
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in patch.items():
        deletion = key.startswith(_DELETE_FROM)
        if deletion:
            key = _directive_target(key, _DELETE_FROM)
        if value is None:
            original.pop(key, None)
        elif deletion:
            _delete_from_list(original, key, value)
        elif key in original:
            original[key] = _merge_field(original[key], value, schema.lookup(key))
        else:
            original[key] = _fresh(value, schema.lookup(key))
    return original


def _directive_target(key: str, prefix: str) -> str:
    head, slash, target = key.partition("/")
    if not slash or head != prefix:
        raise PatchError(400, _BAD_FORMAT[prefix])
    return target


def _merge_field(current: Any, value: Any, field: FieldSchema) -> Any:
    if isinstance(current, dict) and isinstance(value, dict) and REPLACE not in field.strategy:
        return _merge_map(current, value, field.element or EMPTY)
    if isinstance(current, list) and isinstance(value, list) and MERGE in field.strategy:
        return _merge_list(current, value, field)[0]
    return _fresh(value, field)  # scalars, atomic lists, or the JSON type changed: the patch wins


def _fresh(value: Any, field: FieldSchema) -> Any:
    """A patch value with nothing to merge into, with its directives resolved and nulls dropped.

    apimachinery copies such values verbatim and relies on decoding into Go structs to drop nulls
    and unknown `$` keys; we store plain JSON, so we merge them into an empty value instead.
    """
    if isinstance(value, dict):
        return _merge_map({}, value, field.element or EMPTY)
    if isinstance(value, list):
        if MERGE in field.strategy:
            return _merge_list([], value, field)[0]
        item = FieldSchema(element=field.element)
        return [_fresh(v, item) for v in value]
    return value


def _delete_from_list(original: JSONObject, key: str, doomed: Any) -> None:
    if not isinstance(doomed, list):
        raise PatchError(400, _BAD_FORMAT[_DELETE_FROM])
    current = original.get(key)
    # Older apimachinery stored the deletion list itself here (kubernetes#105146): a no-op is meant.
    if isinstance(current, list):
        original[key] = [v for v in current if not any(_same(v, d) for d in doomed)]


def _apply_retain_keys(original: JSONObject, patch: JSONObject) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retained = patch.pop(_RETAIN_KEYS)
    if not isinstance(retained, list) or not all(isinstance(k, str) for k in retained):
        raise PatchError(400, _BAD_FORMAT[_RETAIN_KEYS])
    keep = set(retained)
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM, _SET_ORDER)):
            continue
        if key not in keep:
            raise PatchError(400, _BAD_FORMAT[_RETAIN_KEYS])
    for key in [k for k in original if k not in keep]:
        del original[key]


def _merge_ordered_lists(original: JSONObject, patch: JSONObject, schema: Schema) -> None:
    """mergePatchIntoOriginal: merge each list named by `$setElementOrder/<key>` and order it."""
    for directive in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise _internal(f"{directive} must be a list, not {_json_type(order)}")
        key = _directive_target(directive, _SET_ORDER)
        field = schema.lookup(key)
        merge_key = field.merge_key or ""
        has_current, has_patch = key in original, key in patch
        current: Any = original.get(key)
        value: Any = patch.get(key)
        for found, found_value, where in (
            (has_current, current, "object"),
            (has_patch, value, "patch"),
        ):
            if found and not isinstance(found_value, list):
                raise _internal(f"{directive} names {key!r}, which is not a list in the {where}")
        current_list: list[Any] = current if has_current else []
        patch_list: list[Any] = value if has_patch else []
        _check_order_matches(patch_list, order, merge_key)
        merged: list[Any]
        server_order: list[Any]
        if has_current and has_patch:
            if MERGE in field.strategy:
                merged, server_order = _merge_list(current_list, patch_list, field)
            else:
                merged, server_order = _fresh(patch_list, field), current_list
        elif has_current:
            merged, server_order = current_list, current_list
        elif has_patch:
            merged, server_order = _fresh(patch_list, field), []
        else:
            continue
        patch.pop(key, None)
        if not merged:
            original[key] = merged  # apimachinery errors here ("no elements"); nothing to order
            continue
        kind = _element_kind(current_list, patch_list)
        if merge_key:
            in_order, server_only = _partition_maps(merged, order, merge_key)
        else:
            in_order, server_only = _partition_scalars(merged, order)
        original[key] = _normalize_order(
            in_order, server_only, order, server_order, merge_key, kind
        )


def _check_order_matches(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: patch items must appear in `order`, in the same order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _internal(f"expected a map, but received a {_json_type(item)}")
        items = [i for i in patch_list if i.get(_DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and _DIRECTIVE in items[p]:
            p += 1
            continue
        if _key_equal(items[p], order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise _internal(
            f"The order in patch list:\n{_dump(patch_list)}\n "
            f"doesn't match {_SET_ORDER} list:\n{_dump(order)}\n"
        )


def _merge_list(
    current: list[Any], patch: list[Any], field: FieldSchema
) -> tuple[list[Any], list[Any]]:
    """mergeSlice for a patchStrategy=merge list; returns (merged list, aliased view of `current`).

    The second value reproduces a Go slice-aliasing effect that `$setElementOrder` ordering depends
    on: apimachinery deletes entries by shifting the caller's backing array in place and then
    appends new entries into the freed slots, so the "server order" it later sorts against is
    `current` as seen through that mutated array.  apimachinery's own tests encode the result.
    """
    if not current and not patch:
        return [], []
    kind = _element_kind(current, patch)
    if kind != "map":
        merged = _dedupe_scalars(current + patch)
        in_patch, server_only = _partition_scalars(merged, patch)
        return _normalize_order(in_patch, server_only, patch, current, "", kind), current
    merge_key = field.merge_key
    if not merge_key:
        raise _internal("cannot merge lists without merge key for type struct")
    item_field = FieldSchema(element=field.element)
    view, live = list(current), len(current)
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
        elif item[_DIRECTIVE] == "delete":
            live = _delete_matching(
                view, live, merge_key, _require_object(item, merge_key)[merge_key]
            )
        elif item[_DIRECTIVE] == "replace":
            replace = True  # the list becomes the patch's plain items
        elif item[_DIRECTIVE] == "merge":
            raise _internal("merging lists cannot yet be specified in the patch")
        else:
            raise _internal(f"unknown patch type: {_dump(item[_DIRECTIVE])} in map: {_dump(item)}")
    if replace:
        merged = [_fresh(i, item_field) for i in plain]
        server_order, plain = merged, []
    else:
        merged = view[:live]
        server_order = list(merged)
        for item in plain:
            index = _find_by_key(merged, merge_key, _require_object(item, merge_key)[merge_key])
            if index >= 0:
                merged[index] = _merge_map(merged[index], item, field.element or EMPTY)
            else:
                if len(merged) < len(view):
                    view[len(merged)] = item  # Go's append reuses the slot a deletion freed
                merged.append(_fresh(item, item_field))
    in_patch, server_only = _partition_maps(merged, plain, merge_key)
    return _normalize_order(in_patch, server_only, plain, server_order, merge_key, kind), view


def _delete_matching(view: list[Any], live: int, merge_key: str, value: Any) -> int:
    """deleteMatchingEntries on the Go backing array `view[:live]`; returns the new length."""
    while (index := _find_by_key(view[:live], merge_key, value)) >= 0:
        view[index : live - 1] = view[index + 1 : live]  # the stale last slot stays, as in Go
        live -= 1
    return live


def _normalize_order(
    in_patch: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """normalizeElementOrder: patch items in patch order, interleaved with server-only items.

    Server-only items keep their live order and go before a patch item only when both occur in
    the live list in that order, so items new to the list land ahead of the live ones.
    """
    in_patch = _sort_by(in_patch, patch_order, merge_key, kind)
    left = _sort_by(server_only, server_order, merge_key, kind)
    merged: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(in_patch):
        if j >= len(in_patch):
            take_left = True
        elif i >= len(left):
            take_left = False
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, in_patch[j], merge_key, kind)
            take_left = li >= 0 and ri >= 0 and li < ri
        if take_left:
            merged.append(left[i])
            i += 1
        else:
            merged.append(in_patch[j])
            j += 1
    return merged


def _sort_by(items: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """normalizeSliceOrder: stable sort of `items` by position in `order`."""
    deleted: list[Any] = []
    if kind == "map":
        for item in (*items, *order):
            _require_object(item, merge_key)
        deleted = [i for i in items if i.get(_DIRECTIVE) == "delete"]
        items = [i for i in items if i.get(_DIRECTIVE) != "delete"]
    return sorted(items, key=lambda item: _index(order, item, merge_key, kind)) + deleted


def _index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    if kind == "map":
        wanted = value.get(merge_key) if isinstance(value, dict) else None
        return next(
            (
                n
                for n, i in enumerate(items)
                if _same(i.get(merge_key) if isinstance(i, dict) else None, wanted)
            ),
            -1,
        )
    return next((n for n, i in enumerate(items) if _same(i, value)), -1)


def _find_by_key(items: list[Any], merge_key: str, value: Any) -> int:
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise _internal(f"value for key {n} is not a map.")
        if merge_key in item and _same(item[merge_key], value):
            return n
    return -1


def _partition_maps(items: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for item in items:
        value = _require_object(item, merge_key)[merge_key]
        (inside if _find_by_key(by, merge_key, value) >= 0 else outside).append(item)
    return inside, outside


def _partition_scalars(items: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for item in items:
        (inside if any(_same(item, b) for b in by) else outside).append(item)
    return inside, outside


def _dedupe_scalars(items: list[Any]) -> list[Any]:
    """deduplicateScalars, keeping Go's swap-with-last order (the caller re-sorts anyway)."""
    s, last, i = list(items), len(items) - 1, 0
    while i < last:
        j = i + 1
        while j <= last:
            if _same(s[i], s[j]):
                s[j] = s[last]
                del s[last]
                last -= 1
            else:
                j += 1
        i += 1
    return s


def _element_kind(*lists: list[Any]) -> str:
    """sliceElementType: every element must have the same JSON type; lists of lists are refused."""
    kinds = {_json_type(v) for items in lists for v in items}
    if not kinds:
        raise _internal("no elements in any of the given slices")
    first = _json_type(next(v for items in lists for v in items))
    if first == "array":
        raise _unprocessable("lists of lists are not supported")
    if len(kinds) > 1 or _go_number_types(lists):
        raise _internal(f"list element types are not identical: {_dump(list(lists))}")
    return "map" if first == "object" else first


def _go_number_types(lists: tuple[list[Any], ...]) -> bool:
    # Go decodes integers as int64 and other numbers as float64: mixing them is a type mismatch.
    types = {type(v) for items in lists for v in items if isinstance(v, int | float)}
    return len(types) > 1


def _require_object(item: Any, merge_key: str) -> JSONObject:
    if not isinstance(item, dict):
        raise _internal(f"expected a map, but received a {_json_type(item)}")
    if merge_key not in item:
        raise _internal(f"map: {_dump(item)} does not contain declared merge key: {merge_key}")
    return item


def _key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    return _same(
        _require_object(left, merge_key)[merge_key], _require_object(right, merge_key)[merge_key]
    )


def _same(a: Any, b: Any) -> bool:
    """Go `==` on interface values: same dynamic type and value; objects/arrays cannot compare."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        raise _internal(f"runtime error: comparing uncomparable type {_json_type(a)}")
    return bool(a == b)
