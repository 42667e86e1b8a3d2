"""Cached objects and cache events, each encoded to JSON exactly once.

An object's bytes are produced once when its etcd value is applied: `metadata.resourceVersion` is
placed first inside `metadata`, and the offsets of its digits are remembered, so any other
resourceVersion (a deletion revision, a composite token) is a byte splice, never a re-encode.
Watch lines are splices of those bytes, memoised on the event and shared by every watcher.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.resources import ResourceType

_RV_MARK = b'"metadata":{"resourceVersion":"'
_intern = sys.intern

ADDED = b"ADDED"
MODIFIED = b"MODIFIED"
DELETED = b"DELETED"


class ObjectDecodeError(ValueError):
    """An etcd value that is not a JSON object (written by someone else)."""


@dataclass(slots=True, eq=False)
class CachedObject:
    """One object version as served. Immutable by convention once built."""

    key: str
    namespace: str
    name: str
    revision: int
    raw: bytes
    rv_start: int
    rv_end: int
    labels: dict[str, str]
    fields: dict[str, str]
    trigger: str | None
    uid: str

    def with_rv(self, rv: str) -> bytes:
        return self.raw[: self.rv_start] + rv.encode() + self.raw[self.rv_end :]


def encode_object(obj: dict[str, Any], resource_version: str) -> tuple[bytes, int, int]:
    """JSON bytes with kind, apiVersion, then metadata starting with resourceVersion (every
    other key in its order), and the offsets of the resourceVersion's digits. `obj` is not
    changed."""
    meta = obj.get("metadata")
    return _encode(obj, meta if isinstance(meta, dict) else {}, resource_version)


def _encode(obj: dict[str, Any], meta: dict[str, Any], rv: str) -> tuple[bytes, int, int]:
    """encode_object of `obj` whose metadata is `meta`. Dict displays and merges only (they run
    in C): a key merged in again keeps its first place and takes the later value, so the
    placeholders put kind, apiVersion, metadata and resourceVersion first whatever the stored
    order (kubectl's is apiVersion, kind), and the real values are set after the merge."""
    served_meta = {"resourceVersion": rv, **meta}
    served_meta["resourceVersion"] = rv  # a stored one (none should be) is replaced, not kept
    ordered = {"kind": None, "apiVersion": None, "metadata": None, **obj}
    ordered["metadata"] = served_meta
    # orjson hands back its output buffer as the bytes object, allocated far larger than the
    # JSON (4 KB on average for a 1.8 KB pod: 2.2x, for as long as the cache keeps it); one
    # copy at the exact size costs a memcpy and frees the rest at once.
    raw = bytes(memoryview(orjson.dumps(ordered)))
    start = raw.index(_RV_MARK) + len(_RV_MARK)
    return raw, start, start + len(rv)


def build_object(resource: ResourceType, key: str, value: bytes, revision: int) -> CachedObject:
    """Decode an etcd value once and derive everything selectors and indexes need."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ObjectDecodeError(f"{key}: value is not JSON") from exc
    if not isinstance(obj, dict):
        raise ObjectDecodeError(f"{key}: value is not a JSON object")
    return build_from_dict(resource, key, obj, revision)


def build_from_dict(
    resource: ResourceType, key: str, obj: dict[str, Any], revision: int
) -> CachedObject:
    """The CachedObject of `obj` (decoded from etcd; taken over: it may be changed) at
    `revision`: served form, bytes encoded once, selectable fields, labels, trigger."""
    if "kind" not in obj:
        obj["kind"] = resource.kind
    if "apiVersion" not in obj:
        obj["apiVersion"] = resource.api_version
    if resource.custom is not None and resource.custom.read_decoder is not None:
        obj = resource.custom.read_decoder(obj)  # kube's CR storage codec: prune, default
    # An object stored at any version is served at the one asked for: a custom resource's
    # apiVersion changes (CRD conversion None), a built-in is converted (autoscaling v1 HPAs).
    obj = resource.served_form(obj)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    labels = meta.get("labels")
    name = str(meta.get("name", ""))
    fields = _shared_fields(resource.selectable_fields(obj), name)
    raw, start, end = _encode(obj, meta, str(revision))
    trigger = resource.trigger_field
    # Positional: this runs once per etcd event (keywords cost a lookup each).
    return CachedObject(
        key,
        fields.get("metadata.namespace") or _intern(str(meta.get("namespace", ""))),
        name,
        revision,
        raw,
        start,
        end,
        _shared_labels(labels) if isinstance(labels, dict) and labels else {},
        fields,
        fields.get(trigger) if trigger else None,
        str(meta.get("uid", "")),
    )


def _shared_labels(labels: dict[str, Any]) -> dict[str, str]:
    """`labels` with its keys and string values interned: most are shared by many objects (a
    ReplicaSet's pods, every object of an app), so the cache keeps one copy of each rather than
    one per object (CPython's interned strings are freed with their last reference)."""
    return {_intern(k): _intern(v) if type(v) is str else v for k, v in labels.items()}


def _shared_fields(fields: dict[str, str], name: str) -> dict[str, str]:
    """The selectable fields with their values interned (a namespace, a node name, a phase are
    shared by many objects), except the object's own name (unique: interning it would only add
    an entry to the interned table), for which the object's `name` string is used."""
    for k, v in fields.items():
        if type(v) is str and k != "metadata.name":
            fields[k] = _intern(v)  # same keys: no resize while iterating
    fields["metadata.name"] = name
    return fields


class CacheEvent:
    """One etcd change as the cache saw it; `vector` is every shard's revision after it."""

    __slots__ = ("_lines", "_token", "key", "obj", "prev", "revision", "seq", "shard", "vector")

    def __init__(
        self,
        *,
        seq: int,
        shard: int,
        revision: int,
        key: str,
        obj: CachedObject | None,
        prev: CachedObject | None,
        vector: tuple[int, ...],
    ) -> None:
        self.seq = seq
        self.shard = shard
        self.revision = revision
        self.key = key
        self.obj = obj  # None for a deletion
        self.prev = prev  # None for a creation
        self.vector = vector
        # Made on the first line: most events of a big history are never asked for one (the
        # lines of older events are dropped anyway), so an empty dict each would be 64 B apiece.
        self._lines: dict[tuple[bytes, str | None], bytes] | None = None
        self._token: str | None = None

    def token(self, encode: Callable[[tuple[int, ...]], str]) -> str:
        """The composite resourceVersion after this event, encoded once."""
        if self._token is None:
            self._token = encode(self.vector)
        return self._token

    def object_bytes(self, etype: bytes, rv: str | None) -> bytes:
        """The object for an event of type `etype`, with `rv` (default: the event revision)."""
        if etype == DELETED:
            assert self.prev is not None
            return self.prev.with_rv(rv or str(self.revision))
        assert self.obj is not None
        return self.obj.raw if rv is None else self.obj.with_rv(rv)

    def drop_lines(self) -> None:
        self._lines = None

    def line(self, etype: bytes, rv: str | None = None) -> bytes:
        """`{"type":..,"object":..}\\n`, memoised per (type, rv) so it is built once per event."""
        memo_key = (etype, rv)
        lines = self._lines
        if lines is None:
            lines = self._lines = {}
        line = lines.get(memo_key)
        if line is None:
            line = b'{"type":"' + etype + b'","object":' + self.object_bytes(etype, rv) + b"}\n"
            lines[memo_key] = line
        return line


def object_line(etype: bytes, raw: bytes) -> bytes:
    return b'{"type":"' + etype + b'","object":' + raw + b"}\n"
