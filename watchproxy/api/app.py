"""The ASGI application: a path router in front of everything.

Discovery, list, watch, get and the write verbs are plain ASGI handlers, so the watch path never
passes through framework middleware (measured: FastAPI's stack cost 21 us per delivered event
against 16 us for plain ASGI). FastAPI serves the operational endpoints (/healthz, /readyz,
/livez, /debug/stats), where validation and docs earn their keep and speed does not matter.

One module, over 400 lines: it is the handler chain in one place (routing, the filters' order,
audit and metrics around each request), which house-style 5.1a asks to be readable top to bottom;
each filter's logic lives in its own module (guard, health, reviews, tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

from watchproxy.api.discovery import Discovery
from watchproxy.api.flow import FlowFilter, FlowRejected, pf_headers
from watchproxy.api.freshness import namespace_fresh
from watchproxy.api.guard import OPEN_ADMIN, Guard, Refused, attributes_of
from watchproxy.api.health import ShutdownState, add_health_routes, proxy_checks
from watchproxy.api.http import (
    Receive,
    Scope,
    Send,
    header,
    read_body,
    respond_error,
)
from watchproxy.api.metrics_endpoint import serve_metrics
from watchproxy.api.openapi import OpenAPIService
from watchproxy.api.params import parse_bool, parse_list_options
from watchproxy.api.printing import negotiate_printing
from watchproxy.api.reads import serve_get, serve_list
from watchproxy.api.requestinfo import RequestInfo, request_info
from watchproxy.api.reviews import ReviewContext, serve_review
from watchproxy.api.status import ApiError, status_body, status_bytes
from watchproxy.api.streaming import SendTimeout
from watchproxy.api.subresources import serve_eviction, serve_scale
from watchproxy.api.target import Target
from watchproxy.api.tokens import serve_token_request
from watchproxy.api.warnings import with_warning
from watchproxy.api.watches import serve_watch
from watchproxy.api.writes import (
    serve_binding,
    serve_create,
    serve_delete,
    serve_delete_collection,
    serve_patch,
    serve_update,
)
from watchproxy.auth.context import RequestAuth, current_request
from watchproxy.config import Settings
from watchproxy.controllers import running_controllers, running_crd_controller
from watchproxy.controllers.cached import wait_for_caches
from watchproxy.controllers.rbac_bootstrap import ensure_bootstrap_policy
from watchproxy.core.errors import ProxyError
from watchproxy.core.flush import WATCH_SINK
from watchproxy.flowcontrol import Admission, FlowController
from watchproxy.flowcontrol.controller import ClientGone
from watchproxy.observe.audit import (
    AuditLog,
    AuditRecord,
    ObjectRef,
    audit_id_from_headers,
    audit_id_response_header,
    source_ips,
)
from watchproxy.observe.logs import AccessLog
from watchproxy.observe.metrics import Metrics, build_registry
from watchproxy.proxy import Proxy
from watchproxy.registry.fieldmanager import user_agent
from watchproxy.registry.store import Store
from watchproxy.resources import Registry

log = logging.getLogger("watchproxy.api")


def parse_target(proxy: Proxy, path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    force_watch = bool(rest) and rest[0] == "watch"
    if force_watch:
        rest = rest[1:]
    registry = proxy.registry
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        resource = registry.lookup(group, version, rest[2])
        if resource is not None and resource.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    resource = registry.lookup(group, version, rest[0])
    if resource is None or (resource.namespaced and not namespace and len(rest) > 1):
        return None
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in resource.subresources:
        return None
    for segment, what in ((namespace, "namespace"), (name, "name")):
        if segment in (".", ".."):
            # A path segment that would walk the URL space (apimachinery IsValidPathSegmentName).
            raise ApiError(400, "BadRequest", f'{what} may not be "{segment}"')
    return Target(resource, namespace, name, sub, force_watch)


def _ops_app(proxy: Proxy, shutdown: ShutdownState, flow: FlowController | None = None) -> FastAPI:
    ops = FastAPI(
        # No Swagger UI or schema: the UI loads scripts from a CDN, and these few endpoints are
        # documented in docs/ (the schema of /debug/stats is the Proxy's statistics()).
        title="watchproxy operations",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    from fastapi.responses import Response
    from starlette.exceptions import HTTPException

    @ops.exception_handler(HTTPException)
    async def kube_status(_request: Any, exc: HTTPException) -> Response:
        """Unknown paths and methods answer a Status, as kube-apiserver's mux does."""
        reason, message = {
            404: ("NotFound", "the server could not find the requested resource"),
            405: (
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
        }.get(exc.status_code, ("InternalError", str(exc.detail)))
        body = status_bytes(ApiError(exc.status_code, reason, message))
        return Response(body, exc.status_code, media_type="application/json")

    add_health_routes(ops, proxy_checks(proxy, shutdown))

    @ops.get("/debug/stats")
    async def stats() -> dict[str, Any]:
        from watchproxy.serving import serving_statistics

        return {
            **proxy.statistics(),
            "tenancy": tenancy_stats(proxy),
            "serving": serving_statistics(),
            # kube's /debug/api_priority_and_fairness/dump_priority_levels and dump_queues.
            "flow_control": flow.statistics() if flow is not None else {"enabled": False},
        }

    return ops


def tenancy_stats(proxy: Proxy) -> dict[str, Any]:
    """Which tenant and shard each cached namespace belongs to; namespaces that match no tenant
    live on the default shard, and are listed so an operator sees them (docs/configuration.md)."""
    tenancy = proxy.tenancy
    namespaces = proxy.registry.lookup("", "v1", "namespaces")
    assert namespaces is not None
    untenanted: list[str] = []
    per_tenant: dict[str, int] = dict.fromkeys(sorted(tenancy.tenant_names), 0)
    for state in proxy.cache_of(namespaces).shards:
        for name in state.objects:
            tenant = tenancy.tenant_of_namespace(name)
            if tenant is None:
                untenanted.append(name)
            else:
                per_tenant[tenant] += 1
    return {
        "default_shard": tenancy.shard_names[tenancy.default_shard],
        "namespaces_per_tenant": per_tenant,
        # Capped: the list is for eyes, the count for alerts.
        "namespaces_without_tenant": len(untenanted),
        "namespaces_without_tenant_sample": sorted(untenanted)[:100],
    }


def create_app(settings: Settings) -> Any:
    """The ASGI app. The Proxy (and its gRPC channels, bound to the running loop) is built at
    lifespan start-up, inside the server's event loop."""
    registry = Registry()
    discovery = Discovery(registry)  # rebuilt when the registry changes
    openapi = OpenAPIService(registry)  # /openapi/v2, /openapi/v3: built lazily, cached
    max_body = settings.max_body_bytes
    stack = contextlib.AsyncExitStack()
    proxy: Proxy = None  # type: ignore[assignment]  # set at lifespan start-up
    store: Store = None  # type: ignore[assignment]
    ops: FastAPI = None  # type: ignore[assignment]
    guard: Guard = None  # type: ignore[assignment]
    audit: AuditLog | None = None
    metrics: Metrics | None = None
    flow: FlowFilter | None = None
    security = settings.security
    shutdown = ShutdownState()
    access_log = AccessLog()

    async def bootstrap_rbac() -> None:
        await wait_for_caches(proxy)
        await ensure_bootstrap_policy(proxy, store)

    async def lifespan(receive: Receive, send: Send) -> None:
        nonlocal proxy, ops, store, guard, audit, metrics, flow
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    proxy = Proxy(settings, registry)
                    store = Store(proxy)
                    controller = None
                    if settings.flow_control.enabled:
                        controller = FlowController(settings.flow_control)
                        flow = FlowFilter(controller, proxy)
                    metrics = build_registry(proxy, controller)
                    ops = _ops_app(proxy, shutdown, controller)
                    await stack.enter_async_context(proxy.running())
                    # After proxy.running(): stopped first, so Leases are released while
                    # the etcd clients are still open.
                    await stack.enter_async_context(running_controllers(proxy, store))
                    await stack.enter_async_context(running_crd_controller(proxy, store))
                    guard = Guard(settings, proxy)
                    if security.open_admin:
                        log.warning(
                            "no `authentication` in the config: every caller on %s is an"
                            " anonymous admin (allowed on a loopback address only;"
                            " docs/security.md)",
                            settings.listen,
                        )
                    stack.push_async_callback(guard.aclose)
                    if security.audit.log_path:
                        audit = AuditLog(security.audit)
                        stack.callback(audit.close)
                    if not security.open_admin and "RBAC" in security.authorization.modes:
                        task = asyncio.create_task(bootstrap_rbac(), name="rbac-bootstrap")
                        stack.callback(task.cancel)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def route(scope: Scope, receive: Receive, send: Send, auth: RequestAuth) -> None:
        method, path = scope["method"], scope["path"]
        query: bytes = scope.get("query_string", b"")
        target = parse_target(proxy, path)
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if auth.tenant is not None:
            target = dataclasses.replace(target, tenant=auth.tenant, namespaces=auth.namespaces)
        custom = target.resource.custom
        if custom is not None and custom.deprecation_warning:  # a deprecated CRD version
            send = with_warning(send, custom.deprecation_warning)
        if target.resource.virtual:
            if method != "POST" or target.name:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            body = await read_body(receive, max_body)
            review = ReviewContext(
                user=auth.user,
                decide=guard.decide,
                rules_for=guard.rules_for,
                review_token=guard.review_token,
            )
            await serve_review(review, target, body, header(scope, b"content-type"), send)
            return
        is_collection = not target.name
        user_agent.set(header(scope, b"user-agent"))  # the default field manager's name
        sub = target.resource.subresources.get(target.subresource) if target.subresource else None
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")
        if sub is not None and verb not in sub[1]:
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        if target.subresource == "scale" and method in ("GET", "PUT", "PATCH"):
            body = b"" if method == "GET" else await read_body(receive, max_body)
            ctype = header(scope, b"content-type")
            await serve_scale(store, target, method, query, body, ctype, send)
            return
        if method == "GET":
            params = _query_params(query)
            printing = negotiate_printing(header(scope, b"accept"), params.get("includeObject", ""))
            accept_encoding = header(scope, b"accept-encoding")  # gzip for LIST and GET bodies
            if target.force_watch or parse_bool(params.get("watch")):
                opts = parse_list_options(
                    query, target.resource, name=target.name or None, force_watch=True
                )
                extensions = scope.get("extensions")
                del params  # a watch lives long: its frame need not keep the parsed query
                await serve_watch(proxy, target, opts, receive, send, printing, extensions)
            elif is_collection:
                opts = parse_list_options(query, target.resource)
                await serve_list(
                    proxy, target, opts, send, printing, accept_encoding=accept_encoding
                )
            else:
                await serve_get(
                    proxy, target, query, send, printing, accept_encoding=accept_encoding
                )
            return
        content_type = header(scope, b"content-type")
        body = await read_body(receive, max_body)
        if (
            method == "POST"
            and is_collection
            and (target.namespace or not target.resource.namespaced)
        ):
            await serve_create(store, target, query, body, content_type, send)
        elif method == "POST" and target.subresource == "token":
            await namespace_fresh(proxy, target.resource, target.namespace)
            await serve_token_request(
                guard.issuer, guard.source, auth, target, body, content_type, send
            )
        elif method == "POST" and target.subresource == "binding":
            await serve_binding(store, target, query, body, content_type, send)
        elif method == "POST" and target.subresource == "eviction":
            await serve_eviction(store, target, query, body, content_type, send)
        elif method == "PUT" and not is_collection:
            await serve_update(store, target, query, body, content_type, send)
        elif method == "PATCH" and not is_collection:
            await serve_patch(store, target, query, body, content_type, send)
        elif method == "DELETE" and not is_collection and not target.subresource:
            await serve_delete(store, target, query, body, content_type, send)
        elif method == "DELETE" and is_collection and "deletecollection" in target.resource.verbs:
            await serve_delete_collection(store, target, query, body, content_type, send)
        else:
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        query: bytes = scope.get("query_string", b"")
        info = request_info(scope["method"], path, query)
        record = _audit_record(scope, info) if audit is not None else None
        started = False
        # Per request, never per watch event: labels once, one count and one duration at the end.
        labels = metrics.requests.labels_of(info, query) if metrics is not None else None
        began = metrics.requests.started(labels) if metrics is not None and labels else 0.0
        code = 0
        received = time.perf_counter()
        user_name = ""
        sent = 0

        # Set by flow control: its response headers, and a WATCH's seats, released as its
        # response starts. Kept here rather than in another `send` wrapper, so a watch's
        # chunks pass through one wrapper only.
        flow_headers: list[tuple[bytes, bytes]] = []
        release_at_start: Admission | None = None

        async def tracked_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started, code, sent, release_at_start
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                started = True
                code = message["status"]
                if flow_headers:
                    message["headers"] = [*message.get("headers", ()), *flow_headers]
                if release_at_start is not None:
                    release_at_start.release()
                    release_at_start = None
                if record is not None:
                    record.code = message["status"]
                    headers = list(message.get("headers", ()))
                    headers.append(audit_id_response_header(record.audit_id))
                    message["headers"] = headers
                    if audit is not None and record.is_long_running:
                        audit.response_started(record)
            await send(message)

        token = None
        admission: Admission | None = None
        try:
            try:
                if "/." in path and any(seg in (".", "..") for seg in path.split("/")):
                    # A dot segment walks the URL space: after authentication (401 first, as
                    # for every request) it is the router's 400 (apimachinery
                    # IsValidPathSegmentName), before authorization could misread the path.
                    await guard.authenticate(scope, info)
                    parse_target(proxy, path)
                    raise ApiError(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                auth = await guard.admit(scope, info)
            except ProxyError as exc:
                if isinstance(exc, Refused):
                    user_name = (exc.authenticated or exc.user).name
                if record is not None:
                    _refused(record, exc)
                if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                    await _drain_small_body(receive)
                raise
            user_name = (auth.authenticated or auth.user).name
            if record is not None:
                record.user = auth.authenticated or auth.user
                record.impersonated_user = auth.user if auth.authenticated else None
                record.decision = "allow" if auth.enforced else ""
                record.reason = auth.reason
                if audit is not None:
                    audit.request_received(record)
            token = current_request.set(auth)
            if flow is not None:
                try:
                    watching = scope["method"] in ("GET", "HEAD")
                    admission, replay = await flow.admit(
                        info, auth, query, receive if watching else None
                    )
                    receive = replay or receive
                except FlowRejected as exc:
                    flow_headers = pf_headers(exc.classification)
                    if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                        await _drain_small_body(receive)
                    raise
                flow_headers = pf_headers(admission.classification)
                if info.verb == "watch":
                    release_at_start = admission
            if scope["method"] == "GET" and discovery.handles(path):
                await discovery.serve(scope, tracked_send)
            elif openapi.handles(path):
                await openapi.serve(scope, tracked_send)
            elif path == "/metrics" and metrics is not None:
                await serve_metrics(metrics, scope["method"], tracked_send)
            elif not path.startswith(("/api/", "/apis/")):
                await ops(scope, receive, tracked_send)
            else:
                await route(scope, receive, tracked_send, auth)
        except ClientGone:
            pass  # it left while queued (counted `cancelled`): nobody to answer
        except SendTimeout as exc:
            # A LIST body its client did not take in time; the response is cut off here.
            log.info("%s %s: %s; response abandoned", scope["method"], path, exc)
        except ProxyError as exc:
            if record is not None and record.status is None:
                record.status = status_body(exc)
            if not started:
                await respond_error(tracked_send, exc)
        except Exception:
            log.exception("internal error serving %s %s", scope["method"], path)
            if not started:
                await respond_error(
                    tracked_send,
                    ApiError(500, "InternalError", "an internal error occurred; see the proxy log"),
                )
        finally:
            if admission is not None:
                admission.release()
            if token is not None:
                current_request.reset(token)
            if metrics is not None and labels is not None:
                # No response started: the client went away first (kube reports such as 499
                # only in its own filters; a code of 0 keeps them apart here).
                metrics.requests.finished(labels, code, began)
            if record is not None and audit is not None:
                audit.log(record)
            # One line per request at info, when it ends (a watch: once, with its bytes, also
            # those its watch sink wrote past tracked_send).
            sink = scope.get("extensions", {}).get(WATCH_SINK)
            if sink is not None:
                sent += sink.direct_bytes
            access_log.log_asgi(
                scope,
                code=code,
                seconds=time.perf_counter() - received,
                user=user_name,
                audit_id=record.audit_id if record is not None else "",
                verb=info.verb,
                bytes_sent=sent,
            )

    def end_watches() -> None:
        """Server shutdown begins: end every watch now (after a last bookmark where asked),
        so clients re-watch elsewhere instead of being cut off at the grace deadline."""
        if proxy is not None:
            proxy.end_watches()

    def begin_shutdown() -> None:
        """A stop signal arrived: /readyz fails from now on (its `shutdown` check), while the
        listener still accepts for `shutdown_delay_seconds` (serving/server.py)."""
        shutdown.requested = True

    app.end_watches = end_watches  # type: ignore[attr-defined]
    app.begin_shutdown = begin_shutdown  # type: ignore[attr-defined]
    return app


def _audit_record(scope: Scope, info: RequestInfo) -> AuditRecord:
    headers = scope.get("headers", ())
    client = scope.get("client")
    query: bytes = scope.get("query_string", b"")
    uri = scope.get("raw_path", scope["path"].encode())
    if isinstance(uri, bytes):
        uri = uri.decode("latin-1")
    if query:
        uri = f"{uri}?{query.decode('latin-1')}"
    agent = next((v.decode("latin-1") for k, v in headers if k == b"user-agent"), "")
    return AuditRecord(
        request_uri=uri,
        verb=info.verb,
        user=None,
        audit_id=audit_id_from_headers(headers),
        source_ips=source_ips(headers, client[0] if client else None),
        user_agent=agent,
        object_ref=ObjectRef.from_attributes(attributes_of(OPEN_ADMIN, info)),
    )


# A refused request's body is read (and dropped) up to this much before the answer, so an HTTP/2
# client gets its 401/403 with its request complete rather than a stream reset mid-upload (curl
# 7.88 reports such a reset as an error and never shows the Status).
_DRAIN_LIMIT = 64 * 1024


async def _drain_small_body(receive: Receive) -> None:
    read = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            while read <= _DRAIN_LIMIT:
                message = await receive()
                if message["type"] != "http.request":
                    return
                read += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return


def _refused(record: AuditRecord, exc: ProxyError) -> None:
    """A request the chain refused: 401 (no user) or 403/400 (forbidden, bad impersonation)."""
    record.status = status_body(exc)
    record.code = getattr(exc, "code", 0)
    if isinstance(exc, Refused):
        record.user = exc.authenticated or exc.user
        record.impersonated_user = exc.user if exc.authenticated else None
        record.decision = "forbid"
        record.reason = str(exc)


def _query_params(query: bytes) -> dict[str, str]:
    """First value of each query parameter (as the apiserver's decoder takes them)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, value)
    return params
