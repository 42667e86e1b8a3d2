"""Defaulting of a custom resource by its structural schema, and the null pruning before it.

kube-apiserver (apiextensions-apiserver pkg/apiserver/schema/defaulting/algorithm.go `Default`
and prunenulls.go `PruneNonNullableNullsWithoutDefaults`, called by the CR codec after pruning):

* a property with a `default` that is absent, or `null` while the property is not `nullable`,
  gets a deep copy of the default; defaults apply inside objects that exist, at any depth:
  properties, `additionalProperties` values and list items (an item or map value that is a
  non-nullable `null` gets the item/value schema's default). A parent object is never created
  unless it has a default of its own (`default: {}` on the parent, whose own properties then
  get their defaults, as the walk descends into the value it just set);
* before that, a `null` whose schema is not nullable and has no default is dropped from its
  object (list items are left for validation to refuse).

Both walk a tree compiled once from the schema; the defaulting walk only descends where a
default exists below.
"""

from __future__ import annotations

import copy
from typing import Any

JsonObject = dict[str, Any]
_NONE = object()


class _Node:
    """One structural schema node: what defaulting and null pruning need of it."""

    __slots__ = ("additional", "default", "has_defaults", "items", "nullable", "properties")

    def __init__(self, schema: JsonObject) -> None:
        self.nullable = bool(schema.get("nullable"))
        self.default: Any = schema["default"] if "default" in schema else _NONE
        props = schema.get("properties")
        self.properties: dict[str, _Node] = (
            {k: _Node(v) for k, v in props.items() if isinstance(v, dict)}
            if isinstance(props, dict)
            else {}
        )
        extra = schema.get("additionalProperties")
        self.additional = _Node(extra) if isinstance(extra, dict) else None
        items = schema.get("items")
        self.items = _Node(items) if isinstance(items, dict) else None
        below = [*self.properties.values(), self.additional, self.items]
        self.has_defaults: bool = any(
            n is not None and (n.default is not _NONE or n.has_defaults) for n in below
        )


def compile_defaults(schema: JsonObject) -> _Node:
    """The compiled tree of an openAPIV3Schema."""
    return _Node(schema)


def _non_nullable_null(value: Any, node: _Node | None) -> bool:
    return value is None and node is not None and not node.nullable


def apply_defaults(value: Any, node: _Node | None) -> None:
    """kube's Default(x, s): in place; defaults are deep-copied."""
    if node is None or not node.has_defaults:
        return
    if isinstance(value, dict):
        for key, prop in node.properties.items():
            if prop.default is _NONE:
                continue
            if key not in value or _non_nullable_null(value[key], prop):
                value[key] = copy.deepcopy(prop.default)
        for key in value:
            prop_node = node.properties.get(key)
            if prop_node is not None:
                apply_defaults(value[key], prop_node)
            elif node.additional is not None:
                extra = node.additional
                if _non_nullable_null(value[key], extra) and extra.default is not _NONE:
                    value[key] = copy.deepcopy(extra.default)
                apply_defaults(value[key], extra)
    elif isinstance(value, list) and node.items is not None:
        items = node.items
        for i, item in enumerate(value):
            if _non_nullable_null(item, items) and items.default is not _NONE:
                value[i] = copy.deepcopy(items.default)
            apply_defaults(value[i], items)


def prune_nulls(value: Any, node: _Node | None) -> None:
    """kube's PruneNonNullableNullsWithoutDefaults: in place. Below an unknown field (no schema)
    nothing is pruned."""
    if node is None:
        return
    if isinstance(value, dict):
        drop = []
        for key, item in value.items():
            sub = node.properties.get(key, node.additional)
            if item is None and sub is not None and not sub.nullable and sub.default is _NONE:
                drop.append(key)
            elif isinstance(item, dict | list):
                prune_nulls(item, sub)
        for key in drop:
            del value[key]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                prune_nulls(item, node.items)
