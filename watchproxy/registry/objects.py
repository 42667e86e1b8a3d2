"""Objects as the write path stores and serves them (registry/store.py's data).

Stored: without `metadata.resourceVersion` (it is the key's mod_revision), as kube-apiserver stores
JSON; ObjectMeta's empty collections are omitted, as kube's Go types do (`omitempty`). Served:
kind, apiVersion, then metadata with resourceVersion first, so the cache can splice tokens in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from watchproxy.api.status import bad_request
from watchproxy.core.objects import encode_object
from watchproxy.etcd.client import KeyValue
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Located:
    """An object as etcd holds it now: its shard, its key-value and its decoded body
    (with `metadata.resourceVersion` set to the key's mod_revision)."""

    shard: int
    kv: KeyValue
    obj: JsonObject


@dataclass(frozen=True)
class Written:
    """The outcome of a write: the object as stored (or as it would be, for a dry run), and
    its resourceVersion (None: a dry-run create, which has none yet)."""

    obj: JsonObject
    revision: int | None
    deleted: bool = False

    def body(self, resource: ResourceType | None = None) -> bytes:
        """The answer's body; at `resource`'s version when given (a write through a version
        other than the storage one answers at its own, decision 0018)."""
        obj = self.obj if resource is None else resource.served_form(self.obj)
        return served_bytes(obj, self.revision)


def served_bytes(obj: JsonObject, revision: int | None) -> bytes:
    """The object as served: kind, apiVersion, metadata (resourceVersion first) first."""
    if revision is None:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
        head = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"), "metadata": meta}
        return orjson.dumps(head | {k: v for k, v in obj.items() if k not in head})
    return encode_object(obj, str(revision))[0]


def storage_value(obj: JsonObject, resource: ResourceType | None = None) -> bytes:
    """The etcd value of `obj`. A custom resource written through any served version is stored
    at its CRD's storage version: conversion `None` changes apiVersion only
    (apiextensions-apiserver nop_converter.go)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    stored = {**obj, "metadata": meta}
    if resource is not None and resource.custom is not None and resource.group:
        stored["apiVersion"] = f"{resource.group}/{resource.custom.storage_version}"
    return orjson.dumps(stored)


def json_copy(obj: _T) -> _T:
    """A deep copy of a JSON value (dicts, lists, str, int, float, bool, None): orjson's
    encode and decode, several times faster than copy.deepcopy on objects of this shape.
    Values orjson cannot encode (an integer beyond 64 bits) fall back to copy.deepcopy."""
    try:
        copied: _T = orjson.loads(orjson.dumps(obj))
        return copied
    except orjson.JSONEncodeError:
        return copy.deepcopy(obj)


def check_type(resource: ResourceType, obj: JsonObject) -> None:
    """kind/apiVersion in the body must be the resource's (or absent); metadata an object."""
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if api_version not in (None, "", resource.api_version):
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the "
            f"expected API version ({resource.api_version})"
        )
    if kind not in (None, "", resource.kind):
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )
    obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {}


# ObjectMeta's collections are `omitempty` in kube's Go types: an empty one is never stored or
# served (kubectl diff would otherwise show `annotations: {}` as a change).
_OMIT_EMPTY_META = ("labels", "annotations", "finalizers", "ownerReferences", "managedFields")


def omit_empty_meta(obj: JsonObject) -> None:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for field in _OMIT_EMPTY_META:
            if field in meta and meta[field] in ({}, [], None):
                del meta[field]
