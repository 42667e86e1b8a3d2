"""Validation ratcheting on updates (CRDValidationRatcheting, GA): an error in a part of the
object the update did not change is not an error.

kube (apiextensions-apiserver pkg/apiserver/validation/ratcheting.go, apiserver pkg/cel/common
CorrelatedObject): every schema node's errors become warnings when the node's value is deep-equal
to its correlated old value. A value correlates with the old one at the same property or map
key, and a list-type=map item with the old item of the same keys; items of other lists do not
correlate, so there only an unchanged ancestor (the list itself, or above) ratchets. The
list-type uniqueness checks ratchet as a whole: they run on an update only if the old object
passed them (registry/customresource/strategy.go ValidateUpdate). CEL rules ratchet the same way
unless they use oldSelf (cel.py).
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]
_MISSING = object()


def _old_item(schema: JsonObject | None, old_list: Any, item: Any) -> Any:
    """The old item correlated with `item` in a list-type=map list, else _MISSING."""
    if schema is None or schema.get("x-kubernetes-list-type") != "map":
        return _MISSING
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if not isinstance(old_list, list) or not isinstance(item, dict):
        return _MISSING
    wanted = [item.get(k, _MISSING) for k in keys]
    for old in old_list:
        if isinstance(old, dict) and [old.get(k, _MISSING) for k in keys] == wanted:
            return old
    return _MISSING


def _child_schema(schema: JsonObject | None, part: str | int) -> JsonObject | None:
    if schema is None:
        return None
    if isinstance(part, int):
        items = schema.get("items")
        return items if isinstance(items, dict) else None
    props = schema.get("properties") or {}
    if part in props:
        sub = props[part]
    else:
        sub = schema.get("additionalProperties")
    return sub if isinstance(sub, dict) else None


def unchanged(schema: JsonObject, new: Any, old: Any, path: list[str | int]) -> bool:
    """Whether the value at `path` of `new`, or a correlated ancestor of it, equals its
    correlated old value (the error there is ratcheted)."""
    node: JsonObject | None = schema
    new_cur, old_cur = new, old
    for part in path:
        if new_cur == old_cur:
            return True
        if isinstance(part, int):
            if not isinstance(new_cur, list) or part >= len(new_cur):
                return False
            item = new_cur[part]
            old_cur = _old_item(node, old_cur, item)
            new_cur = item
        else:
            if not isinstance(new_cur, dict) or not isinstance(old_cur, dict):
                return False
            new_cur, old_cur = new_cur.get(part), old_cur.get(part, _MISSING)
        if old_cur is _MISSING:
            return False
        node = _child_schema(node, part)
    return bool(new_cur == old_cur)
