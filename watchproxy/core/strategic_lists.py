"""The list and value helpers of the strategic merge patch (core/strategic_patch.py), ported from
apimachinery strategicpatch/patch.go: Go's `==` on interface values (`_same`), merge-key lookups
(`_index`, `_find_by_key`, `_key_equal`), partitioning and de-duplication of lists, and the
element-type check of `sliceElementType`. Failures are core/patch_common.py PatchErrors (500 for
apimachinery's plain Go errors, 422 for a list of lists). Pure.
"""

from __future__ import annotations

from typing import Any

from watchproxy.core.patch_common import JSONObject, dump, internal, unprocessable
from watchproxy.core.validation import go_json_type


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
            raise internal(f"value for key {n} is not a map.")
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
    kinds = {go_json_type(v) for items in lists for v in items}
    if not kinds:
        raise internal("no elements in any of the given slices")
    first = go_json_type(next(v for items in lists for v in items))
    if first == "array":
        raise unprocessable("lists of lists are not supported")
    if len(kinds) > 1 or _go_number_types(lists):
        raise internal(f"list element types are not identical: {dump(list(lists))}")
    return "map" if first == "object" else first


def _go_number_types(lists: tuple[list[Any], ...]) -> bool:
    # Go decodes integers as int64 and other numbers as float64: mixing them is a type mismatch.
    types = {type(v) for items in lists for v in items if isinstance(v, int | float)}
    return len(types) > 1


def _require_object(item: Any, merge_key: str) -> JSONObject:
    if not isinstance(item, dict):
        raise internal(f"expected a map, but received a {go_json_type(item)}")
    if merge_key not in item:
        raise internal(f"map: {dump(item)} does not contain declared merge key: {merge_key}")
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
        raise internal(f"runtime error: comparing uncomparable type {go_json_type(a)}")
    return bool(a == b)
