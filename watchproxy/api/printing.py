"""What a GET, LIST or WATCH answers, from its Accept header: the objects as stored, a
`meta.k8s.io` Table (server-side printing, `kubectl get`), or metadata only
(PartialObjectMetadata / PartialObjectMetadataList, client-go's metadata informers).

Negotiation follows kube-apiserver (endpoints/handlers/negotiation/negotiate.go
`NegotiateMediaTypeOptions`, handlers/rest.go `AllowsMediaTypeTransform`): Accept clauses in
order of q (then specific before wildcard, then as written); in each, the server's media types
(JSON, YAML, protobuf) the range covers; a clause is taken if its `as`/`g`/`v` name a conversion
the endpoint has -- Table (JSON or YAML only), PartialObjectMetadata, PartialObjectMetadataList,
all in meta.k8s.io v1 or v1beta1 -- or none, and its `stream`/`sv` are served. This proxy encodes
JSON only, so a JSON clause is preferred; when only YAML or protobuf clauses are acceptable the
first one's conversion is answered in JSON (as the proxy always has). No acceptable clause at all
(e.g. only `as=Foo`) is 406 NotAcceptable with kube's message.

Whether a conversion fits the request is checked after the read, as kube's transform does
(handlers/response.go): PartialObjectMetadata of a LIST, or PartialObjectMetadataList of a GET, is
406; on a WATCH, an object that cannot be converted goes out unchanged.

The Table rows are computed from the objects' stored bytes (decoded on demand): this path serves
humans running kubectl, so it trades the encode-once rule for not keeping decoded objects in the
cache. Watch events of a Table watch each carry the column definitions (kube sends them only on
the first event; kubectl accepts them on every one, and that keeps rendering order-free).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy.api.partial import PARTIAL, PARTIAL_LIST, partial_list_head, partial_object
from watchproxy.api.status import bad_request, not_acceptable
from watchproxy.api.table import table_document, table_event_object, table_row
from watchproxy.core.objects import CachedObject
from watchproxy.resources import ResourceType

TABLE = "Table"
INCLUDE_OBJECT = ("None", "Metadata", "Object")
META_GROUP = "meta.k8s.io"
META_VERSIONS = ("v1", "v1beta1")
# kube-apiserver's media types for built-in resources, in its order (MediaTypesForSerializer).
SERVED_MEDIA = (
    ("application", "json"),
    ("application", "yaml"),
    ("application", "vnd.kubernetes.protobuf"),
)
# How every list document this proxy writes ends: its items array (`items`, or a Table's `rows`)
# is its last key.
LIST_TAIL = b"]}"
NOT_ACCEPTABLE = "only the following media types are accepted: " + ", ".join(
    f"{t}/{s}" for t, s in SERVED_MEDIA
)


@dataclass(frozen=True)
class Printing:
    """A conversion of the answer: `kind` Table, PartialObjectMetadata or
    PartialObjectMetadataList, in `api_version` meta.k8s.io/v1 or meta.k8s.io/v1beta1."""

    api_version: str
    include_object: str = "Metadata"  # Tables only
    kind: str = TABLE


@dataclass(frozen=True)
class _Clause:
    q: float
    type: str
    subtype: str
    params: dict[str, str]


def _clauses(accept: str) -> list[_Clause]:
    """Accept clauses, best first (munnerz/goautoneg ParseAccept, as the apiserver uses it:
    clauses without a '/' are skipped, parameters without '=' ignored, q defaults to 1)."""
    out: list[_Clause] = []
    for part in accept.split(","):
        media, *raw_params = part.strip().split(";")
        kind, slash, subtype = media.strip().lower().partition("/")
        if not slash:
            if kind != "*":
                continue
            subtype = "*"
        params: dict[str, str] = {}
        q = 1.0
        for param in raw_params:
            key, eq, value = param.partition("=")
            if not eq:
                continue
            key, value = key.strip(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            else:
                params[key] = value
        out.append(_Clause(q, kind.strip(), subtype.strip(), params))
    out.sort(key=lambda c: (-c.q, c.type == "*", c.subtype == "*"))
    return out


def _covers(clause: _Clause, kind: str, subtype: str) -> bool:
    if clause.type == "*":
        return clause.subtype == "*"
    return clause.type == kind and clause.subtype in (subtype, "*")


def _conversion(params: dict[str, str], kind: str, subtype: str) -> tuple[bool, Printing | None]:
    """(acceptable, conversion) of one clause for one served media type
    (negotiate.go `acceptMediaTypeOptions`, rest.go `AllowsMediaTypeTransform`)."""
    stream = params.get("stream", "")
    if stream and (subtype == "yaml" or stream != "watch"):
        return False, None  # YAML has no stream serializer; only stream=watch exists
    server_version = params.get("sv", "")
    if server_version and server_version != "v1":
        return False, None
    if not {"as", "g", "v"} & params.keys():
        return True, None
    target, group, version = params.get("as", ""), params.get("g", ""), params.get("v", "")
    if group != META_GROUP or version not in META_VERSIONS:
        return False, None
    api_version = f"{group}/{version}"
    if target == TABLE:
        if kind == "application" and subtype in ("json", "yaml"):
            return True, Printing(api_version)
        return False, None
    if target in (PARTIAL, PARTIAL_LIST):
        return True, Printing(api_version, kind=target)
    return False, None


def negotiate(accept: str) -> Printing | None:
    """The conversion the Accept header settles on; None for the objects as stored.

    Raises 406 NotAcceptable when no clause can be answered.
    """
    if not accept.strip():
        return None
    acceptable = False  # a YAML or protobuf clause can be answered (in JSON), as `fallback`
    fallback: Printing | None = None
    for clause in _clauses(accept):
        for kind, subtype in SERVED_MEDIA:
            if not _covers(clause, kind, subtype):
                continue
            ok, conversion = _conversion(clause.params, kind, subtype)
            if not ok:
                continue
            if subtype == "json":
                return conversion
            if not acceptable:
                acceptable, fallback = True, conversion
    if not acceptable:
        raise not_acceptable(NOT_ACCEPTABLE)
    return fallback


def negotiate_printing(accept: str, include_object: str) -> Printing | None:
    """The conversion the client asked for, or None for plain JSON; 406 if none is possible."""
    conversion = negotiate(accept)
    if conversion is None or conversion.kind != TABLE:
        return conversion
    if include_object and include_object not in INCLUDE_OBJECT:
        raise bad_request(
            f'includeObject: unsupported value "{include_object}": supported values: '
            '"None", "Metadata", "Object"'
        )
    return Printing(conversion.api_version, include_object or "Metadata")


def _go_type(resource: ResourceType, as_list: bool) -> str:
    """The apiserver's internal Go type as `%T` prints it (`*core.Pod`, `*apps.DeploymentList`)."""
    package = resource.group.split(".")[0] if resource.group else "core"
    return f"*{package}.{resource.kind}{'List' if as_list else ''}"


def render_list(
    resource: ResourceType, objects: Iterable[CachedObject], meta: dict[str, Any], p: Printing
) -> bytes:
    """A LIST page converted as negotiated, whole; 406 for PartialObjectMetadata (not a list
    kind). The same bytes as joining `list_encoding`'s parts."""
    head, items = list_encoding(resource, objects, meta, p)
    return head + b",".join(items) + LIST_TAIL


def list_encoding(
    resource: ResourceType, objects: Iterable[CachedObject], meta: dict[str, Any], p: Printing
) -> tuple[bytes, Iterator[bytes]]:
    """A LIST page converted as negotiated, for streaming (api/streaming.py): `(head, items)`,
    where the document is `head + b",".join(items) + LIST_TAIL` and each item is rendered only
    when the iterator reaches it. 406 for PartialObjectMetadata (not a list kind), raised here,
    before anything is sent.

    The Table is `table_document`'s bytes (orjson writes a nested row the same whether alone or
    inside the document, and `rows` is the document's last key), so streamed and whole answers
    are byte-identical.
    """
    if p.kind == TABLE:
        now = time.time()
        empty = table_document(resource, [], meta, p.api_version)
        assert empty.endswith(b"[]}"), "rows must be the Table's last key"
        rows = (
            orjson.dumps(
                table_row(
                    resource,
                    orjson.loads(o.raw),
                    now=now,
                    api_version=p.api_version,
                    include_object=p.include_object,
                )
            )
            for o in objects
        )
        return empty[: -len(LIST_TAIL)], rows
    if p.kind == PARTIAL_LIST:
        head = partial_list_head(meta, p.api_version)
        return head, (partial_object(o.raw, p.api_version) for o in objects)
    raise not_acceptable(
        f"you requested {PARTIAL}, but the requested object is a list ({_go_type(resource, True)})"
    )


def render_object(resource: ResourceType, obj: CachedObject, p: Printing) -> bytes:
    """A GET answer converted as negotiated; 406 for PartialObjectMetadataList."""
    if p.kind == TABLE:
        return object_table(resource, obj, p)
    if p.kind == PARTIAL:
        return partial_object(obj.raw, p.api_version)
    raise not_acceptable(
        f"you requested {PARTIAL_LIST}, but the requested object is not a list "
        f"({_go_type(resource, False)})"
    )


def bookmark_type(resource: ResourceType, p: Printing | None) -> tuple[str, str]:
    """(kind, apiVersion) of a watch's BOOKMARK objects: the watched kind, or
    PartialObjectMetadata on a metadata-only watch (the apiserver converts bookmarks too)."""
    if p is not None and p.kind == PARTIAL:
        return PARTIAL, p.api_version
    return resource.kind, resource.api_version


def object_table(resource: ResourceType, obj: CachedObject, p: Printing) -> bytes:
    row = table_row(
        resource,
        orjson.loads(obj.raw),
        now=time.time(),
        api_version=p.api_version,
        include_object=p.include_object,
    )
    return table_document(resource, [row], {"resourceVersion": str(obj.revision)}, p.api_version)


def event_renderer(resource: ResourceType, p: Printing) -> Callable[[bytes], bytes] | None:
    """Turns a watch event's object bytes into the negotiated form (a one-row Table, or a
    PartialObjectMetadata); None when events go out unchanged (PartialObjectMetadataList: the
    apiserver's transform fails for each object and sends it as it is)."""
    if p.kind == PARTIAL:
        api_version = p.api_version
        return lambda raw: partial_object(raw, api_version)
    if p.kind != TABLE:
        return None

    def render(raw: bytes) -> bytes:
        return table_event_object(
            resource,
            orjson.loads(raw),
            now=time.time(),
            api_version=p.api_version,
            include_object=p.include_object,
        )

    return render
