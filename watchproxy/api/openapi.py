"""Serving the OpenAPI documents: `/openapi/v2` and `/openapi/v3`, `/openapi/v3/<api/v1|apis/G/V>`.

As kube-openapi's handlers (`pkg/handler/handler.go` for v2, `pkg/handler3/handler.go` for v3):

- ETag: `"` + the upper-case hex SHA-512 of the JSON body + `"`; `If-None-Match` naming it (or
  `*`) answers 304 (Go's `http.ServeContent`).
- v2 is offered as `application/json` only. kube also answers the gnostic protobuf types
  (`application/com.github.proto-openapi.spec.v2[@.]v1.0+protobuf`); they are not implemented
  here, so a request that accepts nothing else gets 406 NotAcceptable -- what kube answers for
  any type it does not serve. kubectl 1.32 asks v2 for the protobuf type only, and uses v2 only
  for `kubectl explain --output plaintext-openapiv2` and as a fallback when the v3 documents
  cannot answer (apply's patch computation, the fieldValidation probe); with v3 served and
  naming `fieldValidation` on PATCH it never needs v2. v2 is gzip-compressed when the client
  accepts gzip (kube wraps the v2 handler in gziphandler).
- `/openapi/v3` lists every served group version with `serverRelativeURL`
  `/openapi/v3/<gv>?hash=<etag>`. A group version fetched with the current hash is
  `Cache-Control: public, immutable` with `Expires` a year ahead; with another hash it is a 301
  to the current URL; without one it is `Cache-Control: no-cache, private` (kube's
  WithCacheControl filter). An unknown group version is a 404 NotFound Status.

Documents follow the Registry at run time: v2 and the index are rebuilt on the first request
after `registry.generation` changes, a group version's document when its resources changed.
A rebuild is synchronous, on the request that finds the cache stale: measured (72 built-in
types) 16 ms to build and serialize v2 (2.4 MB; its gzip form, 210 KB, 31 ms more, once), 41 ms
for the index with all 21 group versions (api/v1, the largest, 7 ms); cached answers take
microseconds. Short enough not to warrant a worker thread (which would hold the GIL anyway).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

import orjson

from watchproxy.api.http import Scope, Send, header
from watchproxy.api.status import ApiError
from watchproxy.api.streaming import accepts_gzip
from watchproxy.resources import Registry, ResourceType
from watchproxy.schema import openapi

_JSON = ("application", "json")
NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")


@dataclass
class Document:
    """One serialized document: JSON body, its ETag value (unquoted), build time."""

    body: bytes
    etag: str
    last_modified: str
    _gzipped: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, doc: object) -> Document:
        body = orjson.dumps(doc)
        modified = email.utils.formatdate(time.time(), usegmt=True)
        return cls(body, hashlib.sha512(body).hexdigest().upper(), modified)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def accepts_json(accept: str) -> bool:
    """Whether an Accept header admits application/json (munnerz/goautoneg ParseAccept: a
    missing header is */*; q=0 excludes a clause)."""
    for part in (accept or "*/*").split(","):
        media, *params = part.strip().split(";")
        kind, _, subtype = media.strip().lower().partition("/")
        q = next((p.split("=", 1)[1].strip() for p in params if p.strip().startswith("q=")), "1")
        try:
            if float(q) <= 0:
                continue
        except ValueError:
            continue
        if kind == "*" or (kind == _JSON[0] and subtype in (_JSON[1], "*")):
            return True
    return False


class OpenAPIService:
    """The /openapi/* endpoints over one Registry; cached documents, rebuilt lazily."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._v2: tuple[int, Document] | None = None
        self._index: tuple[int, Document] | None = None
        self._gv: dict[str, tuple[tuple[ResourceType, ...], Document]] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path == "/openapi/v2" or path == "/openapi/v3" or path.startswith("/openapi/v3/")

    def v2(self) -> Document:
        generation = self.registry.generation
        if self._v2 is None or self._v2[0] != generation:
            self._v2 = (generation, Document.of(openapi.build_v2(self.registry.all)))
        return self._v2[1]

    def group_version(self, gv: str) -> Document | None:
        """The document of `api/v1` / `apis/G/V`, or None when nothing is served there."""
        group_version = openapi.group_versions(self.registry.all).get(gv)
        if group_version is None:
            self._gv.pop(gv, None)
            return None
        group, version = group_version
        served = tuple(r for r in self.registry.all if (r.group, r.version) == group_version)
        cached = self._gv.get(gv)
        if cached is not None and len(cached[0]) == len(served):
            if all(a is b for a, b in zip(cached[0], served, strict=True)):
                return cached[1]
        doc = Document.of(openapi.build_v3(group, version, served))
        self._gv[gv] = (served, doc)
        return doc

    def index(self) -> Document:
        generation = self.registry.generation
        if self._index is None or self._index[0] != generation:
            paths = {}
            for gv in openapi.group_versions(self.registry.all):
                doc = self.group_version(gv)
                assert doc is not None
                paths[gv] = {"serverRelativeURL": _relative_url(gv, doc.etag)}
            for gone in set(self._gv) - set(paths):
                del self._gv[gone]
            self._index = (generation, Document.of({"paths": paths}))
        return self._index[1]

    async def serve(self, scope: Scope, send: Send) -> None:
        """Answer one request for a path `handles` accepts.

        Raises ApiError (the caller sends it as a Status): 405 for a method other than GET or
        HEAD, 406 when the Accept header admits no JSON, 404 for an unknown group version."""
        method, path = scope["method"], scope["path"]
        if method not in ("GET", "HEAD"):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        head = method == "HEAD"
        if path == "/openapi/v2":
            if not accepts_json(header(scope, b"accept")):
                raise _not_acceptable()
            gz = accepts_gzip(header(scope, b"accept-encoding"))
            vary = b"Accept-Encoding, Accept"
            await _send_document(scope, send, self.v2(), [(b"vary", vary)], gzipped=gz, head=head)
            return
        if path == "/openapi/v3":
            await _send_document(scope, send, self.index(), [], head=head)
            return
        if not accepts_json(header(scope, b"accept")):
            raise _not_acceptable()
        gv = path.removeprefix("/openapi/v3/")
        doc = self.group_version(gv)
        if doc is None:
            raise NOT_FOUND
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        extra = [(b"vary", b"Accept")]
        wanted = query.get("hash", "")
        if wanted and wanted != doc.etag:
            location = _relative_url(gv, doc.etag).encode()
            body = b'<a href="' + location + b'">Moved Permanently</a>.\n\n'
            headers = [(b"content-type", b"text/html; charset=utf-8"), (b"location", location)]
            await _start(send, 301, [*headers, *extra], b"" if head else body, len(body))
            return
        if wanted:
            expires = email.utils.formatdate(time.time() + 365 * 86400, usegmt=True)
            extra += [(b"cache-control", b"public, immutable"), (b"expires", expires.encode())]
        await _send_document(scope, send, doc, extra, head=head)


def _relative_url(gv: str, etag: str) -> str:
    """handler3.go constructServerRelativeURL: `/openapi/v3/<gv>?hash=<etag>`."""
    return f"/openapi/v3/{quote(gv)}?hash={etag}"


def _not_acceptable() -> ApiError:
    return ApiError(
        406, "NotAcceptable", "only the following media types are accepted: application/json"
    )


def _none_match(scope: Scope, etag: str) -> bool:
    """If-None-Match names this ETag or `*` (net/http checkIfNoneMatch, weak comparison)."""
    value = header(scope, b"if-none-match")
    if not value:
        return False
    for candidate in value.split(","):
        candidate = candidate.strip().removeprefix("W/")
        if candidate == "*" or candidate == f'"{etag}"':
            return True
    return False


async def _send_document(
    scope: Scope,
    send: Send,
    doc: Document,
    extra: list[tuple[bytes, bytes]],
    *,
    gzipped: bool = False,
    head: bool = False,
) -> None:
    headers = [(b"etag", f'"{doc.etag}"'.encode()), (b"last-modified", doc.last_modified.encode())]
    headers += extra
    if not any(name == b"cache-control" for name, _ in extra):
        headers.append((b"cache-control", b"no-cache, private"))
    if _none_match(scope, doc.etag):
        await _start(send, 304, headers, b"", None)
        return
    headers.append((b"content-type", b"application/json"))
    body = doc.body
    if gzipped:
        body = doc.gzipped()
        headers.append((b"content-encoding", b"gzip"))
    await _start(send, 200, headers, b"" if head else body, len(body))


async def _start(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, length: int | None
) -> None:
    if length is not None:
        headers = [*headers, (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
