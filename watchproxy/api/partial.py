"""Metadata-only answers: `PartialObjectMetadata` and `PartialObjectMetadataList` (meta.k8s.io).

client-go's metadata client (`k8s.io/client-go/metadata`, used by metadata informers and so by
kube-controller-manager's garbage collector and quota controller) asks for them with
`Accept: application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,
application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json` (LIST) and
`as=PartialObjectMetadata` (GET and WATCH); this proxy answers the JSON clause.

Shapes (endpoints/handlers/response.go `asPartialObjectMetadata(List)`; the metadata is the whole
ObjectMeta, `meta.AsPartialObjectMetadata`):

    {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{...}}
    {"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1",
     "metadata":{"resourceVersion":..,"continue"?:..,"remainingItemCount"?:..},
     "items":[<PartialObjectMetadata with kind and apiVersion>, ...]}

`v=v1beta1` answers `meta.k8s.io/v1beta1`. An empty list has `"items":[]` (kube's response path
sets empty lists to [] before transforming; the Python client rejects a null `items`).
The bytes come from each object's stored JSON, decoded on demand: like Table printing, this path
trades the encode-once rule for not keeping decoded objects in the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from watchproxy.core.objects import CachedObject

PARTIAL = "PartialObjectMetadata"
PARTIAL_LIST = "PartialObjectMetadataList"


def partial_object(raw: bytes, api_version: str) -> bytes:
    """An object's stored JSON as a PartialObjectMetadata (its metadata, resourceVersion kept)."""
    meta = orjson.loads(raw).get("metadata") or {}
    return orjson.dumps({"kind": PARTIAL, "apiVersion": api_version, "metadata": meta})


def partial_list(objects: Iterable[CachedObject], meta: dict[str, Any], api_version: str) -> bytes:
    """A LIST page as a PartialObjectMetadataList; `meta` is the list's ListMeta."""
    items = b",".join([partial_object(o.raw, api_version) for o in objects])
    return partial_list_head(meta, api_version) + items + b"]}"


def partial_list_head(meta: dict[str, Any], api_version: str) -> bytes:
    """A PartialObjectMetadataList up to its items: `{..,"metadata":{..},"items":[`."""
    head = orjson.dumps({"kind": PARTIAL_LIST, "apiVersion": api_version, "metadata": meta})
    return head[:-1] + b',"items":['
