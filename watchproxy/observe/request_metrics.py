"""Per-request metrics, recorded by the ASGI app once per request: `apiserver_request_total`,
`apiserver_request_duration_seconds` (kube's buckets, in seconds) and
`apiserver_longrunning_requests`, labelled as kube-apiserver labels them
(staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go: verb, dry_run, group, version,
resource, subresource, scope, component, code). Nothing here is touched per watch event.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

from watchproxy.api.requestinfo import RequestInfo
from watchproxy.resources import ResourceType

# kube-apiserver's buckets for apiserver_request_duration_seconds (endpoints/metrics/metrics.go).
REQUEST_DURATION_BUCKETS: Final = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
    4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
)  # fmt: skip

COMPONENT: Final = "apiserver"

# Verbs reported as they are (metrics.go validRequestMethods); anything else is "other".
_VERBS: Final = frozenset(
    {
        "APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH",
        "POST", "PROXY", "PUT", "UPDATE", "WATCH",
    }
)  # fmt: skip

# Non-resource paths reported by name; any other path is "other", so a client sending random
# URLs cannot grow the number of series (kube instruments registered paths only).
_KNOWN_PATHS: Final = frozenset(
    {
        "/", "/api", "/apis", "/version", "/metrics", "/healthz", "/livez", "/readyz",
        "/debug/stats", "/openapi/v2", "/openapi/v3", "/.well-known/openid-configuration",
        "/openid/v1/jwks",
    }
)  # fmt: skip

_REQUEST_LABELS: Final = (
    "verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component",
)  # fmt: skip
_LONGRUNNING_LABELS: Final = (
    "verb", "group", "version", "resource", "subresource", "scope", "component",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RequestLabels:
    """A request as kube-apiserver's metrics name it (metrics.go MonitorRequest, CleanScope)."""

    verb: str
    dry_run: str
    group: str
    version: str
    resource: str
    subresource: str
    scope: str

    @property
    def long_running(self) -> bool:
        return self.verb == "WATCH"

    def request(self) -> tuple[str, ...]:
        return (
            self.verb, self.dry_run, self.group, self.version, self.resource,
            self.subresource, self.scope, COMPONENT,
        )  # fmt: skip

    def longrunning(self) -> tuple[str, ...]:
        return (
            self.verb, self.group, self.version, self.resource, self.subresource, self.scope,
            COMPONENT,
        )  # fmt: skip


def request_labels(
    info: RequestInfo, query: bytes, served: Mapping[tuple[str, str, str], Collection[str]]
) -> RequestLabels:
    """Labels of one request. `served` maps the (group, version, resource) triples the proxy
    serves to the subresources each serves; other resource requests are reported as resource
    "other", and a subresource the resource does not serve as "other" (these names come from
    the client and would otherwise make unbounded series; kube instruments registered routes
    only, so such requests are 404s that never carry their path in a label)."""
    verb = info.verb.upper()
    if verb not in _VERBS:
        verb = "other"
    dry_run = "All" if b"dryRun=All" in query else ""
    if not info.is_resource_request:
        path = info.path if info.path in _KNOWN_PATHS else "other"
        return RequestLabels(verb, dry_run, "", "", "", path, "")
    if info.name or info.verb == "create":
        scope = "resource"
    elif info.namespace:
        scope = "namespace"
    else:
        scope = "cluster"
    subresources = served.get((info.api_group, info.api_version, info.resource))
    if subresources is None:
        return RequestLabels(verb, dry_run, "", "", "other", "", scope)
    subresource = info.subresource
    if subresource and subresource not in subresources:
        subresource = "other"
    return RequestLabels(
        verb, dry_run, info.api_group, info.api_version, info.resource, subresource, scope
    )


class RequestMetrics:
    """The per-request metrics, registered on an injected registry."""

    def __init__(self, registry: CollectorRegistry, served: Iterable[ResourceType]) -> None:
        self.served: dict[tuple[str, str, str], frozenset[str]] = {
            (r.group, r.version, r.plural): frozenset(r.subresources) for r in served
        }
        self.requests = Counter(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group,"
            " version, resource, scope, component, and HTTP response code.",
            (*_REQUEST_LABELS, "code"),
            registry=registry,
        )
        self.duration = Histogram(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group,"
            " version, resource, subresource, scope and component (not for WATCH).",
            _REQUEST_LABELS,
            buckets=REQUEST_DURATION_BUCKETS,
            registry=registry,
        )
        self.longrunning = Gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group,"
            " version, resource, scope and component.",
            _LONGRUNNING_LABELS,
            registry=registry,
        )

    def labels_of(self, info: RequestInfo, query: bytes) -> RequestLabels:
        return request_labels(info, query, self.served)

    def started(self, labels: RequestLabels) -> float:
        if labels.long_running:
            self.longrunning.labels(*labels.longrunning()).inc()
        return time.perf_counter()

    def finished(self, labels: RequestLabels, code: int, started_at: float) -> None:
        self.requests.labels(*labels.request(), str(code)).inc()
        if labels.long_running:
            self.longrunning.labels(*labels.longrunning()).dec()
        else:
            self.duration.labels(*labels.request()).observe(time.perf_counter() - started_at)
