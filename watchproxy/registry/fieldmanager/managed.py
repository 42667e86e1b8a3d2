"""metadata.managedFields: decoding and encoding the entries, and what an Update records
(k8s.io/apimachinery/pkg/util/managedfields/internal: managedfields.go, buildmanagerinfo.go,
managedfieldsupdater.go, stripmeta.go, capmanagers.go; structured-merge-diff merge/update.go
`Updater.Update`).

Managers are keyed by kube's manager identifier: the entry's JSON without time and fields, and
without apiVersion for appliers (`{"manager":"kubectl","operation":"Apply"}`), so one manager's
entries merge per (manager, operation, apiVersion, subresource).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager.fieldpath import FieldSet
from watchproxy.registry.fieldmanager.typed import Atom
from watchproxy.registry.fieldmanager.walk import Comparison, compare

APPLY, UPDATE = "Apply", "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10  # capmanagers.go DefaultMaxUpdateManagers
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"

# stripmeta.go: fields no manager owns (the server sets them).
_STRIP: FieldSet = fp.decode(
    {
        "f:apiVersion": {},
        "f:kind": {},
        ".": {},
        "f:metadata": {
            ".": {},
            **{
                f"f:{name}": {}
                for name in (
                    "name",
                    "namespace",
                    "creationTimestamp",
                    "selfLink",
                    "uid",
                    "clusterName",
                    "generation",
                    "managedFields",
                    "resourceVersion",
                )
            },
        },
    }
)
_STRIP.pop(".", None)


class DecodeError(ValueError):
    """managedFields that cannot be decoded (kube: `error decoding managed fields`)."""


class VersionedSet:
    """One manager's set. Read from an entry it stays in its FieldsV1 form (`raw`) until an
    operation needs the set itself: most writes touch one manager's entry, and the others are
    written back as they were read."""

    __slots__ = ("_fields", "api_version", "applied", "raw")

    def __init__(
        self, fields: FieldSet | None, api_version: str, applied: bool, raw: Any = None
    ) -> None:
        self._fields = fields
        self.api_version = api_version
        self.applied = applied
        self.raw = raw  # the entry's fieldsV1 as read, reused while the set is unchanged

    @property
    def fields(self) -> FieldSet:
        if self._fields is None:
            self._fields = fp.decode(self.raw)
        return self._fields

    def overlaps(self, other: FieldSet) -> FieldSet:
        """The members of `other` this set holds too (without decoding a raw set)."""
        if self._fields is not None:
            return fp.intersection(self._fields, other)
        return fp.intersect_raw(other, self.raw)

    def empty(self) -> bool:
        return not (self._fields if self._fields is not None else self.raw)


@dataclass
class Managed:
    """The decoded managedFields: sets and times by manager identifier."""

    sets: dict[str, VersionedSet] = field(default_factory=dict)
    times: dict[str, str | None] = field(default_factory=dict)

    def copy(self) -> Managed:
        return Managed(dict(self.sets), dict(self.times))


def identifier(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """BuildManagerIdentifier: the entry's JSON (omitempty fields, Go's field order)."""
    entry: dict[str, str] = {}
    if manager:
        entry["manager"] = manager
    if operation:
        entry["operation"] = operation
    if api_version and operation != APPLY:
        entry["apiVersion"] = api_version
    if subresource:
        entry["subresource"] = subresource
    return orjson.dumps(entry).decode()


def decode(entries: Any) -> Managed:
    """DecodeManagedFields (managedfields.go): every entry has operation Apply or Update, an
    apiVersion, fieldsType FieldsV1 and a fieldsV1 that is a field set. Raises DecodeError."""
    managed = Managed()
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise DecodeError("managedFields must be a list")
    for entry in entries:
        if not isinstance(entry, dict):
            raise DecodeError("a managedFields entry must be an object")
        texts = [entry.get(k) or "" for k in ("manager", "operation", "apiVersion", "subresource")]
        if not all(isinstance(t, str) for t in texts):
            raise DecodeError("managedFields entry fields must be strings")
        manager, operation, api_version, subresource = texts
        if operation not in (APPLY, UPDATE):
            raise DecodeError("operation must be `Apply` or `Update`")
        if not api_version:
            raise DecodeError("apiVersion must not be empty")
        fields_type, raw = entry.get("fieldsType") or "", entry.get("fieldsV1")
        if fields_type != FIELDS_V1:
            raise DecodeError(f"invalid fieldsType {fields_type!r} in managed fields entry")
        _check_fields(raw if raw is not None else {})
        key = identifier(manager, operation, api_version, subresource)
        managed.sets[key] = VersionedSet(None, api_version, operation == APPLY, raw or {})
        time = entry.get("time")
        managed.times[key] = time if isinstance(time, str) else None
    return managed


# FieldsV1 objects known to be well formed, by their JSON: the sets a write encoded or a
# decode checked. Every write of an object decodes its stored entries again, and the same
# sets recur across objects (one controller, one kubelet: the same fields), so the recursive
# check runs once per distinct set. Bounded; the oldest known set is forgotten first.
_CHECKED: dict[bytes, None] = {}
CHECKED_MAX = 4096


def _check_fields(raw: Any) -> None:
    """fp.check(raw), skipped for a set of known JSON. Raises DecodeError."""
    try:
        text = orjson.dumps(raw)
    except TypeError:  # not JSON (an integer beyond 64 bits): the check says what is wrong
        text = b""
    if text and text in _CHECKED:
        return
    try:
        fp.check(raw)
    except fp.FieldsV1Error as exc:
        raise DecodeError(str(exc)) from exc
    if text:
        _remember(text)


def _remember(text: bytes) -> None:
    if len(_CHECKED) >= CHECKED_MAX:
        del _CHECKED[next(iter(_CHECKED))]
    _CHECKED[text] = None


def is_reset(entries: Any) -> bool:
    """isResetManagedFields (fieldmanager.go): `[]` or `[{}]` (one entry with nothing set)
    asks to drop every entry."""
    if entries == []:
        return True
    return (
        isinstance(entries, list)
        and len(entries) == 1
        and isinstance(entries[0], dict)
        and all(v in ("", None) for v in entries[0].values())
    )


def encode(managed: Managed) -> list[dict[str, Any]]:
    """encodeManagedFields: one entry per manager, sorted as kube sorts them (operation, time,
    manager, apiVersion, subresource)."""
    entries = []
    for key, vs in managed.sets.items():
        if vs.empty():
            continue  # an empty set is no entry (`managedFields: [{}]` resets them)
        ident = orjson.loads(key)
        entry: dict[str, Any] = {}
        if ident.get("manager"):
            entry["manager"] = ident["manager"]
        entry["operation"] = ident.get("operation", "")
        if vs.api_version:
            entry["apiVersion"] = vs.api_version
        time = managed.times.get(key)
        if time:
            entry["time"] = time
        entry["fieldsType"] = FIELDS_V1
        if vs.raw is not None:
            entry["fieldsV1"] = vs.raw
        else:
            entry["fieldsV1"] = fp.to_fields_v1(vs.fields)
            _remember(orjson.dumps(entry["fieldsV1"]))  # well formed: the next decode trusts it
        if ident.get("subresource"):
            entry["subresource"] = ident["subresource"]
        entries.append(entry)
    entries.sort(
        key=lambda e: (
            e["operation"],
            e.get("time") or "",
            e.get("manager", ""),
            e.get("apiVersion", ""),
            e.get("subresource", ""),
        )
    )
    return entries


def now() -> str:
    """metav1.Time now (second precision, UTC), as an entry's `time`. Formatted once a second:
    every write of a second stamps the same text (strftime was 1 % of a status update)."""
    global _stamp
    second = int(time.time())
    if second != _stamp[0]:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


_stamp = (-1, "")


def set_fields(
    managed: Managed, key: str, fields: FieldSet, api_version: str, applied: bool
) -> None:
    old = managed.sets.get(key)
    raw = old.raw if old is not None and old._fields is fields else None
    managed.sets[key] = VersionedSet(fields, api_version, applied, raw)


class Conflicts(Exception):
    """Fields another manager owns that a request changes: (manager identifier, path) pairs."""

    def __init__(self, conflicts: list[tuple[str, tuple[str, ...]]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def update_sets(
    live: Any,
    new: Any,
    atom: Atom,
    managed: Managed,
    workflow: str,
    *,
    force: bool,
    ignored: FieldSet | None = None,
) -> Comparison:
    """Updater.update: take the fields `new` changes from every other manager (or raise
    Conflicts when not `force`), and drop the fields it removes from all of them."""
    comparison = compare(live, new, atom)
    if ignored:
        comparison.added = fp.recursive_difference(comparison.added, ignored)
        comparison.modified = fp.recursive_difference(comparison.modified, ignored)
        comparison.removed = fp.recursive_difference(comparison.removed, ignored)
    if comparison.same():
        return comparison
    changed = fp.union(comparison.modified, comparison.added)
    conflicts: dict[str, FieldSet] = {}
    for key, vs in managed.sets.items():
        if key == workflow:
            continue
        both = vs.overlaps(changed)
        if both:
            conflicts[key] = both
    if conflicts and not force:
        raise Conflicts([(key, path) for key, s in conflicts.items() for path in fp.paths(s)])
    for key, vs in list(managed.sets.items()):
        if key == workflow:
            continue
        taken = fp.union(conflicts.get(key, {}), vs.overlaps(comparison.removed))
        if not taken:
            continue  # untouched: stays as read
        rest = fp.difference(vs.fields, taken)
        if not rest:
            del managed.sets[key]
            managed.times.pop(key, None)
        elif rest is not vs.fields:
            set_fields(managed, key, rest, vs.api_version, vs.applied)
    return comparison


def record_update(
    live: Any,
    new: Any,
    atom: Atom,
    managed: Managed,
    key: str,
    api_version: str,
    ignored: FieldSet | None = None,
) -> Comparison:
    """An Update by manager `key`: it owns what it changed (Updater.Update, managedFieldsUpdater
    with stripMeta); its time moves only when it owns something afterwards."""
    current = "current-operation"
    before = managed.sets.get(key)
    comparison = update_sets(live, new, atom, managed, current, force=True, ignored=ignored)
    changed = fp.union(comparison.modified, comparison.added)
    mine = fp.difference(changed, _STRIP)
    if ignored:
        mine = fp.recursive_difference(mine, ignored)
    previous = managed.sets.get(key)
    if not mine:
        return comparison
    if before is not None and KEEP_UNCHANGED_SETS and _unchanged(before, changed, mine, comparison):
        # update_sets took what this request changed from every manager, this one too, and
        # the union below would give back exactly the set it had (a kubelet's steady status
        # writes): it keeps that set as read, encoded as read; only its time moves.
        managed.sets[key] = before
        managed.times[key] = now()
        return comparison
    if previous is not None:
        mine = fp.union(previous.fields, mine)
    set_fields(managed, key, mine, api_version, False)
    managed.times[key] = now()
    return comparison


# Whether record_update may keep a manager's set as read when a write gives it nothing new
# (False: the reference path, which rebuilds and re-encodes it; tests compare the two).
KEEP_UNCHANGED_SETS = True


def _unchanged(before: VersionedSet, changed: FieldSet, mine: FieldSet, cmp: Comparison) -> bool:
    """Whether (before - changed - removed) | mine == before: this manager owned everything
    the request changed that it now owns (`mine`), nothing of what it changed that it does
    not (server-set or reset fields), and nothing the request removed."""
    return not before.overlaps(cmp.removed) and before.overlaps(changed) == mine


def strip(managed: Managed) -> None:
    """stripMeta: no manager owns server-set metadata; empty sets go."""
    for key, vs in list(managed.sets.items()):
        if not vs.overlaps(_STRIP) and not vs.empty():
            continue
        rest = fp.difference(vs.fields, _STRIP)
        if not rest:
            del managed.sets[key]
            managed.times.pop(key, None)
        elif rest != vs.fields:
            set_fields(managed, key, rest, vs.api_version, vs.applied)


def cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """capManagersManager: past `limit` Update entries, the oldest merge into one
    `ancient-changes` entry per apiVersion."""
    updaters = [k for k, vs in managed.sets.items() if not vs.applied]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda k: (managed.times.get(k) or "", k))
    first_of_version: dict[str, str] = {}
    length = len(updaters)
    for key in updaters:
        if length <= limit:
            break
        vs = managed.sets[key]
        bucket = identifier(ANCIENT_CHANGES, UPDATE, vs.api_version)
        first = first_of_version.get(vs.api_version)
        if first is None:
            first_of_version[vs.api_version] = key
            continue
        if bucket not in managed.sets:
            managed.sets[bucket] = managed.sets.pop(first)
            managed.times.pop(first, None)
        merged = fp.union(vs.fields, managed.sets[bucket].fields)
        set_fields(managed, bucket, merged, vs.api_version, False)
        managed.times[bucket] = managed.times.get(key)
        del managed.sets[key]
        managed.times.pop(key, None)
        length -= 1
