"""The server half of apimachinery's strategic merge patch (`StrategicMergeMapPatch`): a port of
strategicpatch.mergeMap and friends, run with the server-side options (MergeParallelList and
IgnoreUnmatchedNulls both true). Failures carry kube-apiserver's HTTP codes (core/patch_common.py):
malformed directives 400, a list of lists 422, anything else apimachinery's plain Go error, 500.
Merge-key tables live in core/patch_schema.py, the list and value helpers (Go comparison, merge-key
lookups, partitions) in core/strategic_lists.py. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from watchproxy.core.patch_common import (
    JSONObject,
    PatchError,
    deep_copy,
    dump,
    internal,
)
from watchproxy.core.patch_schema import EMPTY, MERGE, REPLACE, FieldSchema, Schema
from watchproxy.core.strategic_lists import (
    _dedupe_scalars,
    _element_kind,
    _find_by_key,
    _index,
    _key_equal,
    _partition_maps,
    _partition_scalars,
    _require_object,
    _same,
)
from watchproxy.core.validation import go_json_type

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
        unchanged: JSONObject = deep_copy(original)  # Go unmarshals `null` into a nil map
        return unchanged
    if not isinstance(patch, dict):
        raise PatchError(
            400,
            f"json: cannot unmarshal {go_json_type(patch)} into Go value of type "
            "map[string]interface {}",
        )
    return _merge_map(deep_copy(original), patch, schema)


def _merge_map(original: JSONObject, patch: JSONObject, schema: Schema) -> JSONObject:
    """mergeMap: merge `patch` into `original`, which is ours to mutate, and return the result."""
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return _merge_map({}, {k: v for k, v in patch.items() if k != _DIRECTIVE}, schema)
        if directive == "delete":
            return {}
        raise internal(f"unknown patch type: {dump(directive)} in map: {dump(patch)}")
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
            raise internal(f"{directive} must be a list, not {go_json_type(order)}")
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
                raise internal(f"{directive} names {key!r}, which is not a list in the {where}")
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
                raise internal(f"expected a map, but received a {go_json_type(item)}")
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
        raise internal(
            f"The order in patch list:\n{dump(patch_list)}\n "
            f"doesn't match {_SET_ORDER} list:\n{dump(order)}\n"
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
        raise internal("cannot merge lists without merge key for type struct")
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
            raise internal("merging lists cannot yet be specified in the patch")
        else:
            raise internal(f"unknown patch type: {dump(item[_DIRECTIVE])} in map: {dump(item)}")
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
