"""Server-side printing: when kubectl asks for `as=Table`, LIST, GET and WATCH answer Tables.

The Table rows are computed from the objects' stored bytes (decoded on demand): this path serves
humans running kubectl, so it trades the encode-once rule for not keeping decoded objects in the
cache. Watch events of a Table watch each carry the column definitions (kube sends them only on
the first event; kubectl accepts them on every one, and that keeps rendering order-free).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.api.status import bad_request
from watchproxy.api.table import (
    table_api_version,
    table_document,
    table_event_object,
    table_row,
    wants_table,
)
from watchproxy.core.objects import CachedObject
from watchproxy.resources import ResourceType

INCLUDE_OBJECT = ("None", "Metadata", "Object")


@dataclass(frozen=True)
class Printing:
    api_version: str
    include_object: str


def negotiate_printing(accept: str, include_object: str) -> Printing | None:
    """The Table the client asked for, or None for plain JSON."""
    if not accept or not wants_table(accept):
        return None
    if include_object and include_object not in INCLUDE_OBJECT:
        raise bad_request(
            f'includeObject: unsupported value "{include_object}": supported values: '
            '"None", "Metadata", "Object"'
        )
    return Printing(table_api_version(accept), include_object or "Metadata")


def list_table(
    resource: ResourceType, objects: Iterable[CachedObject], meta: dict[str, Any], p: Printing
) -> bytes:
    now = time.time()
    rows = [
        table_row(
            resource,
            orjson.loads(o.raw),
            now=now,
            api_version=p.api_version,
            include_object=p.include_object,
        )
        for o in objects
    ]
    return table_document(resource, rows, meta, p.api_version)


def object_table(resource: ResourceType, obj: CachedObject, p: Printing) -> bytes:
    return list_table(resource, [obj], {"resourceVersion": str(obj.revision)}, p)


def event_renderer(resource: ResourceType, p: Printing) -> Callable[[bytes], bytes]:
    """Turns a watch event's object bytes into a one-row Table."""

    def render(raw: bytes) -> bytes:
        return table_event_object(
            resource,
            orjson.loads(raw),
            now=time.time(),
            api_version=p.api_version,
            include_object=p.include_object,
        )

    return render
