"""Merging an applied configuration into a live object, and removing fields from an object, under
the type's merge rules (structured-merge-diff typed/merge.go, typed/remove.go,
fieldpath/set.go EnsureNamedFieldsAreMembers). Pure functions on JSON values; inputs are never
mutated.
"""

from __future__ import annotations

from typing import Any

from watchproxy.registry.fieldmanager.fieldpath import SELF, FieldSet, field_pe, with_prefix
from watchproxy.registry.fieldmanager.typed import (
    DEDUCED,
    DEDUCED_ATOM,
    LIST,
    MAP,
    Atom,
    item_key,
    kind_of,
)
from watchproxy.registry.fieldmanager.walk import ABSENT


def merge(lhs: Any, rhs: Any, atom: Atom) -> Any:
    """`rhs` (the configuration) over `lhs` (the live object): rhs wins at every leaf, atomic
    lists and maps are replaced whole, map lists merge item by key keeping live items the
    configuration does not name. Raises TypedError."""
    if rhs is ABSENT:
        return lhs
    if lhs is ABSENT:
        lhs_kind = None
    else:
        lhs_kind = kind_of(atom, lhs)
    kind = kind_of(atom, rhs)
    if lhs_kind is not None and lhs_kind != kind:
        return rhs
    if kind == LIST and not atom.atomic and (lhs or rhs):
        return _merge_list(lhs if isinstance(lhs, list) else [], rhs, atom)
    if kind in (MAP, DEDUCED) and not (atom.atomic and kind == MAP) and (lhs or rhs):
        left = lhs if isinstance(lhs, dict) else {}
        out = dict(left)
        deduced = kind == DEDUCED or atom.kind == DEDUCED
        for key, value in rhs.items():
            child = DEDUCED_ATOM if deduced else atom.child(key)
            out[key] = merge(left.get(key, ABSENT), value, child)
        return out
    return rhs


def _merge_list(lhs: list[Any], rhs: list[Any], atom: Atom) -> list[Any]:
    """visitListItems of merge.go: live order, with the configuration's items in its order
    where they are shared, new ones after the shared item that precedes them."""
    elem = atom.elem()
    lhs_pes = [item_key(atom, item) for item in lhs]
    rhs_pes = [item_key(atom, item) for item in rhs]
    observed_lhs: dict[str, Any] = {}
    for pe, item in zip(lhs_pes, lhs, strict=True):
        observed_lhs[pe] = ABSENT if pe in observed_lhs else item  # duplicates are not merged
    observed_rhs = dict(zip(rhs_pes, rhs, strict=True))
    shared = [pe for pe in rhs_pes if pe in observed_lhs]
    next_shared = shared.pop(0) if shared else None
    merged: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lhs_pes) or ri < len(rhs_pes):
        if li < len(lhs_pes) and ri < len(rhs_pes):
            pe = lhs_pes[li]
            if pe == rhs_pes[ri]:
                merged.add(pe)
                out.append(merge(observed_lhs[pe], observed_rhs[pe], elem))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in observed_rhs and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs_pes):
            pe = lhs_pes[li]
            if pe not in observed_rhs:
                out.append(lhs[li])
                li += 1
                continue
            if pe in merged:
                li += 1
        if ri < len(rhs_pes):
            pe = rhs_pes[ri]
            merged.add(pe)
            out.append(merge(observed_lhs.get(pe, ABSENT), observed_rhs[pe], elem))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return [item for item in out if item is not ABSENT]


def remove_items(value: Any, fields: FieldSet, atom: Atom) -> Any:
    """`value` without the members of `fields` (RemoveItems): a member removes the field or
    item with everything under it. A list or map left empty by the removal is ABSENT (Go's
    nil), and its key is dropped."""
    if not fields:
        return value
    kind = kind_of(atom, value)
    if kind == LIST:
        if atom.atomic or not value:
            return ABSENT
        elem = atom.elem()
        items = []
        for item in value:
            pe = item_key(atom, item)
            child = fields.get(pe)
            if child is not None and SELF in child:
                continue
            if child:
                item = remove_items(item, with_prefix(fields, pe), elem)
                if item is ABSENT:
                    continue
            items.append(item)
        return items or ABSENT
    if kind in (MAP, DEDUCED):
        if (atom.atomic and kind == MAP) or not value:
            return ABSENT
        deduced = kind == DEDUCED or atom.kind == DEDUCED
        out = {}
        for key, sub in value.items():
            pe = field_pe(key)
            child = fields.get(pe)
            if child is not None and SELF in child:
                continue
            if child:
                sub = remove_items(
                    sub, with_prefix(fields, pe), DEDUCED_ATOM if deduced else atom.child(key)
                )
                if sub is ABSENT:
                    continue
            out[key] = sub
        return out or ABSENT
    return value


def ensure_named_fields(fields: FieldSet, atom: Atom) -> FieldSet:
    """EnsureNamedFieldsAreMembers: a struct's named field with owned fields under it is itself
    owned (so pruning it removes it whole), map keys and list items are not."""
    out: FieldSet = {}
    for pe, child in fields.items():
        if pe == SELF:
            out[SELF] = {}
            continue
        if pe.startswith("f:"):
            name = pe[2:]
            sub = atom.child(name) if atom.kind == MAP else DEDUCED_ATOM
            fixed = (
                ensure_named_fields(child, sub) if len(child) > 1 or SELF not in child else child
            )
            if atom.kind == MAP and atom.is_struct_field(name) and SELF not in fixed:
                fixed = {**fixed, SELF: {}}
            out[pe] = fixed
        else:
            elem = atom.elem() if atom.kind == LIST else DEDUCED_ATOM
            out[pe] = (
                ensure_named_fields(child, elem) if len(child) > 1 or SELF not in child else child
            )
    return out
