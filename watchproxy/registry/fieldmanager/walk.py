"""The field set of an object and the comparison of two objects, under their type's merge rules
(structured-merge-diff typed/tofieldset.go and typed/compare.go).

`ABSENT` stands for a missing value (Go's nil), distinct from JSON null (`None`): kube's empty
"live" object of a create holds nulls for required lists, and a null there is not a new field.
Unlike kube (whose JSON may nest 10000 deep), values below MAX_PATH are owned whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.core.json_limits import MAX_DEPTH
from watchproxy.registry.fieldmanager.fieldpath import SELF, FieldSet, field_pe
from watchproxy.registry.fieldmanager.typed import (
    DEDUCED,
    DEDUCED_ATOM,
    LIST,
    MAP,
    SCALAR,
    Atom,
    TypedError,
    item_key,
    kind_of,
)

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
# Paths deeper than this are owned whole: a managedFields entry nests its set 5 levels below the
# object's top, and a served object (a Table row's inside) must stay within core/json_limits.py.
MAX_PATH = MAX_DEPTH - 12


def to_field_set(value: Any, atom: Atom, *, allow_duplicates: bool = True) -> FieldSet:
    """Every field, map-list item and set value in `value` (ToFieldSet). Raises TypedError for
    list items without their keys, and for duplicates when `allow_duplicates` is False (an
    applied configuration)."""
    node: FieldSet = {}
    _fill(node, value, atom, allow_duplicates, 0)
    return node


def _fill(node: FieldSet, value: Any, atom: Atom, dups: bool, depth: int) -> bool:
    """Fill `node` with value's children; True when the value is itself a leaf member."""
    kind = kind_of(atom, value) if depth < MAX_PATH else SCALAR
    if kind == SCALAR:
        return True
    if kind == LIST:
        if atom.atomic:
            return True
        elem = atom.elem()
        keys = [item_key(atom, item) for item in value]
        duplicates = {pe for i, pe in enumerate(keys) if pe in keys[:i]} if len(keys) > 1 else ()
        if duplicates and not dups:
            raise TypedError(f"duplicate entries for key {sorted(duplicates)[0]}")
        for pe, item in zip(keys, value, strict=True):
            if pe in duplicates:
                node[pe] = {SELF: {}}
                continue
            child: FieldSet = {}
            _fill(child, item, elem, dups, depth + 1)
            child[SELF] = {}
            node[pe] = child
        return False
    if atom.atomic:
        return True
    deduced = kind == DEDUCED or atom.kind == DEDUCED
    for key, sub in value.items():
        child_atom = DEDUCED_ATOM if deduced else atom.child(key)
        child = {}
        leaf = _fill(child, sub, child_atom, dups, depth + 1)
        if leaf or sub is None or sub == {} or deduced or not atom.is_struct_field(key):
            child[SELF] = {}
        if child:
            node[field_pe(key)] = child
    return False


@dataclass
class Comparison:
    """Fields `rhs` added, changed and removed relative to `lhs` (typed.Comparison)."""

    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def same(self) -> bool:
        return not (self.added or self.modified or self.removed)


# One node's part of a comparison: (added, modified, removed) sets rooted at the node, None for
# empty. Built bottom-up (each path element written once), sharing the LEAF constant, which no
# operation mutates (set algebra builds new trees).
_Parts = tuple[FieldSet | None, FieldSet | None, FieldSet | None]
LEAF: FieldSet = {SELF: {}}
_NONE: _Parts = (None, None, None)


def compare(lhs: Any, rhs: Any, atom: Atom) -> Comparison:
    """Compare two objects of one type. Raises TypedError (keys missing from list items)."""
    added, modified, removed = _compare(lhs, rhs, atom, 0)
    strip = _without_self
    return Comparison(strip(added), strip(modified), strip(removed))


def _without_self(node: FieldSet | None) -> FieldSet:
    if not node:
        return {}
    return {k: v for k, v in node.items() if k != SELF} if SELF in node else node


def _same(a: Any, b: Any) -> bool:
    # value.Equals: `true` is not `1`, and 1 equals 1.0 (both numbers).
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _leaf(lhs: Any, rhs: Any) -> _Parts:
    if lhs is ABSENT:
        return (LEAF, None, None)
    if rhs is ABSENT:
        return (None, None, LEAF)
    if not _same(lhs, rhs):
        return (None, LEAF, None)
    return _NONE


def _whole(value: Any, atom: Atom, depth: int) -> FieldSet:
    """A value compared with nothing: every node in it is added (or removed)."""
    kind = kind_of(atom, value) if value is not None and depth < MAX_PATH else SCALAR
    if kind == SCALAR or (atom.atomic and kind != DEDUCED) or not value:
        return LEAF
    node: FieldSet = {SELF: {}}
    if kind == LIST:
        elem = atom.elem()
        seen: set[str] = set()
        for item in value:
            pe = item_key(atom, item)
            if pe in seen:
                node[pe] = LEAF  # duplicates: the item's path alone
            else:
                seen.add(pe)
                node[pe] = _whole(item, elem, depth + 1)
        return node
    deduced = kind == DEDUCED or atom.kind == DEDUCED
    for key, sub in value.items():
        node[field_pe(key)] = _whole(sub, DEDUCED_ATOM if deduced else atom.child(key), depth + 1)
    return node


def _compare(lhs: Any, rhs: Any, atom: Atom, depth: int) -> _Parts:
    if lhs is ABSENT:
        return (_whole(rhs, atom, depth), None, None)
    if rhs is ABSENT:
        return (None, None, _whole(lhs, atom, depth))
    if depth >= MAX_PATH:
        return _leaf(lhs, rhs)
    # A null takes the other side's form (Go's nil list or map).
    lkind = kind_of(atom, lhs) if lhs is not None else None
    rkind = kind_of(atom, rhs) if rhs is not None else None
    kind = rkind or lkind or SCALAR
    if lkind is not None and rkind is not None and lkind != rkind:
        kind = SCALAR  # one side a map, the other not: compared whole
    if kind == SCALAR:
        return _leaf(lhs, rhs)
    if kind == LIST:
        if atom.atomic or (not lhs and not rhs):
            return _leaf(lhs, rhs)
        return _compare_items(lhs or [], rhs or [], atom, depth)
    if (atom.atomic and kind == MAP) or (not lhs and not rhs):
        return _leaf(lhs, rhs)
    deduced = kind == DEDUCED or atom.kind == DEDUCED
    lmap: dict[str, Any] = lhs or {}
    rmap: dict[str, Any] = rhs or {}
    added: FieldSet = {}
    modified: FieldSet = {}
    removed: FieldSet = {}
    for key, left in lmap.items():
        right = rmap.get(key, ABSENT)
        if left is right or _same_json(left, right):
            continue  # shared by the two objects, or equal: unchanged
        child = DEDUCED_ATOM if deduced else atom.child(key)
        _attach(field_pe(key), _compare(left, right, child, depth + 1), added, modified, removed)
    if len(rmap) > len(lmap) or any(k not in lmap for k in rmap):
        for key, right in rmap.items():
            if key not in lmap:
                child = DEDUCED_ATOM if deduced else atom.child(key)
                added[field_pe(key)] = _whole(right, child, depth + 1)
    return (added or None, modified or None, removed or None)


def _same_json(left: Any, right: Any) -> bool:
    """Two maps or lists equal as value.Equals sees them, decided in C: Python's `==` first,
    then the JSON encodings, which tell `true` from `1` where `==` does not (1 and 1.0 encode
    apart and are walked instead, where they compare equal). A write's old and new objects
    are separate copies, so identity alone finds nothing; an update changes a few fields, and
    this skips the walk of everything else (a status update never walks the spec)."""
    if type(left) is not type(right) or not isinstance(left, dict | list) or left != right:
        return False
    try:
        return orjson.dumps(left) == orjson.dumps(right)
    except orjson.JSONEncodeError:
        return False


def _attach(pe: str, parts: _Parts, added: FieldSet, modified: FieldSet, removed: FieldSet) -> None:
    a, m, r = parts
    if a:
        added[pe] = a
    if m:
        modified[pe] = m
    if r:
        removed[pe] = r


def _index(atom: Atom, items: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for item in items:
        grouped.setdefault(item_key(atom, item), []).append(item)
    return grouped


def _compare_items(lhs: list[Any], rhs: list[Any], atom: Atom, depth: int) -> _Parts:
    """visitListItems: items matched by key; duplicated keys compared as one atomic value."""
    elem = atom.elem()
    left, right = _index(atom, lhs), _index(atom, rhs)
    added: FieldSet = {}
    modified: FieldSet = {}
    removed: FieldSet = {}
    for pe in list(left) + [k for k in right if k not in left]:
        llist, rlist = left.get(pe, []), right.get(pe, [])
        if len(llist) <= 1 and len(rlist) <= 1:
            before, after = (llist[0] if llist else ABSENT), (rlist[0] if rlist else ABSENT)
            _attach(pe, _compare(before, after, elem, depth + 1), added, modified, removed)
        elif len(llist) >= 2 and len(rlist) >= 2:
            if len(llist) != len(rlist) or not all(map(_same, llist, rlist)):
                modified[pe] = LEAF
        elif len(llist) >= 2:
            parts = _compare(ABSENT, rlist[0], elem, depth + 1) if rlist else _NONE
            _attach(pe, parts, added, modified, removed)
            removed[pe] = LEAF
        else:
            parts = _compare(llist[0], ABSENT, elem, depth + 1) if llist else _NONE
            _attach(pe, parts, added, modified, removed)
            added[pe] = LEAF
    return (added or None, modified or None, removed or None)


__all__ = ["ABSENT", "Comparison", "TypedError", "compare", "to_field_set"]
