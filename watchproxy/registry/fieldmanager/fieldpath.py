"""Field sets: which fields of an object a manager owns, and their FieldsV1 JSON form
(sigs.k8s.io/structured-merge-diff fieldpath/set.go, serialize.go, serialize-pe.go, element.go).

A set is a tree of plain dicts keyed by path elements written exactly as FieldsV1 writes them:
`f:<field>`, `k:<JSON of the key fields, keys sorted>`, `v:<JSON value>`, `i:<index>`. A node
holding `"."` is itself a member of the set; its other keys are its children. So FieldsV1 decodes
to a set with one walk (a leaf `{}` becomes `{".": {}}`), and the empty dict is the empty set.
Sets are never mutated once built: every operation returns a new tree, sharing unchanged
subtrees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import orjson

FieldSet = dict[str, Any]  # path element -> child node; "." marks the node itself a member
SELF = "."
_MEMBER: FieldSet = {SELF: {}}


class FieldsV1Error(ValueError):
    """A managedFields entry's fieldsV1 that is not a valid field set."""


# -- path elements -------------------------------------------------------------------------------


def field_pe(name: str) -> str:
    return "f:" + name


def key_pe(fields: dict[str, Any]) -> str:
    """A map-list item's element: its key fields as JSON, names sorted (FieldList order)."""
    return "k:" + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def value_pe(value: Any) -> str:
    return "v:" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def index_pe(index: int) -> str:
    return "i:" + str(index)


def _scalar_text(value: Any) -> str:
    """value.ToString: strings quoted as JSON, everything else as JSON too."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@lru_cache(maxsize=4096)
def pe_string(pe: str) -> str:
    """PathElement.String: `.name`, `[k=v,k2=v2]`, `[="v"]`, `[3]` (conflict messages)."""
    kind, text = pe[:2], pe[2:]
    if kind == "f:":
        return "." + text
    if kind == "k:":
        fields = orjson.loads(text)
        return "[" + ",".join(f"{k}={_scalar_text(v)}" for k, v in fields.items()) + "]"
    if kind == "v:":
        return "[=" + _scalar_text(orjson.loads(text)) + "]"
    return "[" + text + "]"


def path_string(path: tuple[str, ...]) -> str:
    """fieldpath.Path.String: `.spec.containers[name="nginx"].image`."""
    return "".join(pe_string(pe) for pe in path)


# -- order (PathElement.Compare: fields < keys < values < indexes) -------------------------------

_KIND_RANK = {"f:": 0, "k:": 1, "v:": 2, "i:": 3}


def _value_rank(value: Any) -> tuple[Any, ...]:
    """value.Compare's total order: numbers < strings < bools < lists < maps < null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value.encode())
    if isinstance(value, list):
        return (3, tuple(_value_rank(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k.encode(), _value_rank(v)) for k, v in sorted(value.items())))
    return (5,)


@lru_cache(maxsize=8192)
def pe_sort_key(pe: str) -> tuple[Any, ...]:
    kind, text = pe[:2], pe[2:]
    rank = _KIND_RANK.get(kind, 4)
    if kind == "f:":
        return (rank, text.encode())
    if kind == "i:":
        return (rank, int(text) if text.lstrip("-").isdigit() else 0)
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return (rank, text.encode())
    if kind == "k:" and isinstance(decoded, dict):
        return (rank, tuple((k.encode(), _value_rank(v)) for k, v in decoded.items()))
    return (rank, _value_rank(decoded))


# -- FieldsV1 ------------------------------------------------------------------------------------


def encode(fields: FieldSet) -> bytes:
    """The set as FieldsV1 JSON, byte for byte as kube writes it: elements in PathElement order,
    `".":{}` first in a node that is both a member and has children."""
    return orjson.dumps(to_fields_v1(fields))


def to_fields_v1(node: FieldSet) -> dict[str, Any]:
    """The set as the FieldsV1 JSON object (a dict whose insertion order is kube's order)."""
    out: dict[str, Any] = {}
    children = [k for k in node if k != SELF]
    if SELF in node and children:
        out[SELF] = {}
    # One node's children are all fields (a map) or all items (a list): field names sort as
    # strings (code points order as UTF-8 bytes); keys, values and indexes need their order.
    if children and children[0][:2] == "f:":
        children.sort()
    else:
        children.sort(key=pe_sort_key)
    for key in children:
        child = node[key]
        out[key] = {} if len(child) == 1 and SELF in child else to_fields_v1(child)
    return out


def decode(raw: Any) -> FieldSet:
    """A FieldsV1 JSON object as a set. Raises FieldsV1Error for anything else (kube:
    `error decoding managed fields`)."""
    if not isinstance(raw, dict):
        raise FieldsV1Error("expected an object")
    return _decode_node(raw, top=True)


def _decode_node(raw: dict[str, Any], *, top: bool = False) -> FieldSet:
    if not raw:
        return {} if top else dict(_MEMBER)
    node: FieldSet = {}
    for key, child in raw.items():
        if not isinstance(child, dict):
            raise FieldsV1Error(f"expected an object at {key!r}")
        if key == SELF:
            node[SELF] = {}
            continue
        if not valid_pe(key):
            raise FieldsV1Error(f"invalid path element {key!r}")
        node[key] = _decode_node(child)
    return node


_ATOI = re.compile(r"[+-]?[0-9]+")


@lru_cache(maxsize=4096)
def valid_pe(pe: str) -> bool:
    """DeserializePathElement (serialize-pe.go): `f:` any name, `k:` a JSON object, `v:` one
    JSON value, `i:` a decimal integer (strconv.Atoi)."""
    kind, text = pe[:2], pe[2:]
    if kind == "f:":
        return True
    if kind == "i:":
        return _ATOI.fullmatch(text) is not None
    if kind not in ("k:", "v:"):
        return False
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return kind == "v:" or isinstance(value, dict)


def check(raw: Any) -> None:
    """Validate a FieldsV1 object without building the set. Raises FieldsV1Error."""
    if not isinstance(raw, dict):
        raise FieldsV1Error("expected an object")
    for key, child in raw.items():
        if not isinstance(child, dict):
            raise FieldsV1Error(f"expected an object at {key!r}")
        if key != SELF:
            if not valid_pe(key):
                raise FieldsV1Error(f"invalid path element {key!r}")
            if child:
                check(child)


def intersect_raw(fields: FieldSet, raw: dict[str, Any]) -> FieldSet:
    """intersection(fields, decode(raw)), walking only `fields`' elements."""
    out: FieldSet = {}
    for key, child in fields.items():
        if key == SELF:
            continue
        other = raw.get(key)
        if other is None:
            continue
        node: FieldSet = {}
        if SELF in child and (not other or SELF in other):
            node[SELF] = {}
        if other and (len(child) > 1 or SELF not in child):
            node.update(intersect_raw(child, other))
        if node:
            out[key] = node
    return out


# -- set algebra ---------------------------------------------------------------------------------


def union(a: FieldSet, b: FieldSet) -> FieldSet:
    if not a:
        return b
    if not b or a is b:
        return a
    out = dict(a)
    for key, child in b.items():
        mine = out.get(key)
        out[key] = child if mine is None else (mine if key == SELF else union(mine, child))
    return out


def difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """Members of `a` not in `b` (Set.Difference: a member of b removes only that member)."""
    if not a or not b:
        return a
    out: FieldSet = {}
    for key, child in a.items():
        other = b.get(key)
        if other is None:
            out[key] = child
        elif key != SELF:
            rest = difference(child, other)
            if rest:
                out[key] = rest
    return out


def recursive_difference(a: FieldSet, b: FieldSet) -> FieldSet:
    """Set.RecursiveDifference: a member of `b` removes that path and everything under it."""
    if not a or not b:
        return a
    out: FieldSet = {}
    for key, child in a.items():
        other = b.get(key)
        if other is None:
            out[key] = child
        elif key != SELF:
            if SELF in other:
                continue
            rest = recursive_difference(child, other)
            if rest:
                out[key] = rest
    return out


def intersection(a: FieldSet, b: FieldSet) -> FieldSet:
    if not a or not b:
        return {}
    out: FieldSet = {}
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    for key, child in small.items():
        other = large.get(key)
        if other is None:
            continue
        if key == SELF:
            out[SELF] = {}
            continue
        both = intersection(child, other)
        if both:
            out[key] = both
    return out


def insert(fields: FieldSet, path: tuple[str, ...]) -> None:
    """Add `path` as a member, in place (only for sets being built by one walker)."""
    node = fields
    for pe in path:
        node = node.setdefault(pe, {})
    node[SELF] = {}


def has(fields: FieldSet, path: tuple[str, ...]) -> bool:
    node: FieldSet = fields
    for pe in path:
        found = node.get(pe)
        if found is None:
            return False
        node = found
    return SELF in node


def paths(fields: FieldSet, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every member path, in the set's sorted order (Set.Iterate)."""
    if SELF in fields and prefix:
        yield prefix
    for key in sorted((k for k in fields if k != SELF), key=pe_sort_key):
        yield from paths(fields[key], (*prefix, key))


def with_prefix(fields: FieldSet, pe: str) -> FieldSet:
    """The subtree under one element, without the element itself (Set.WithPrefix)."""
    child = fields.get(pe) or {}
    return {k: v for k, v in child.items() if k != SELF} if SELF in child else child
