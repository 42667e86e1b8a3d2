"""Prometheus metrics: kube-apiserver's names and labels where one exists, `watchproxy_*` for the
rest (docs/observability.md lists them).

Two kinds, so the watch fan-out gains nothing:
- Per request (`RequestMetrics`): `apiserver_request_total`, `apiserver_request_duration_seconds`
  and `apiserver_longrunning_requests`, recorded by the ASGI app once per request.
- Per scrape (`ProxyCollector`): everything about caches, watchers and shards, built from the
  snapshots the core already keeps (`ResourceCache.statistics()`, the reflectors' and shards'
  counters) when /metrics is read. No metric object is touched per event or per delivery.

The registry is built per app (`build_registry`) and injected; nothing registers at import time.

One module, just over 400 lines: the registry, the per-request metrics and the scrape-time
collector share the label rules; each part is small.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from watchproxy.api.http import Send, respond
from watchproxy.api.requestinfo import RequestInfo
from watchproxy.api.status import ApiError
from watchproxy.etcd.client import REQUEST_DURATION_BUCKETS as ETCD_BUCKETS
from watchproxy.etcd.client import EtcdError
from watchproxy.flowcontrol.controller import FlowController
from watchproxy.observe.flowcontrol_metrics import FlowControlCollector
from watchproxy.proxy import Proxy
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


def storage_resource(resource: ResourceType) -> str:
    """kube's `resource` label of apiserver_storage_objects: "pods", "deployments.apps"."""
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


@dataclass(eq=False)  # registered by identity: must stay hashable
class ProxyCollector(Collector):
    """Builds the cache, watcher and shard metrics from the proxy's snapshots at scrape time.

    `etcd_revisions` (shard name -> etcd's current revision) is set by the /metrics handler
    right before a scrape (one coalesced read per shard); shards missing from it get no lag.
    """

    proxy: Proxy
    etcd_revisions: dict[str, int] = field(default_factory=dict)

    def describe(self) -> Iterable[Metric]:
        return ()  # built per scrape: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._caches()
        yield from self._shards()
        yield from self._etcd_requests()

    def _caches(self) -> Iterator[Metric]:
        gvk = ("group", "version", "kind")
        gr = ("group", "resource")
        objects = GaugeMetricFamily(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind.",
            labels=("resource",),
        )
        watchers = GaugeMetricFamily(
            "apiserver_registered_watchers",
            "Number of currently registered watchers for a given resources.",
            labels=gvk,
        )
        events_sent = CounterMetricFamily(
            "apiserver_watch_events",
            "Number of events sent in watch clients (bookmarks included; counted per chunk).",
            labels=gvk,
        )
        bytes_sent = CounterMetricFamily(
            "watchproxy_watch_sent_bytes",
            "Bytes of watch events written to watch clients.",
            labels=gvk,
        )
        dispatched = CounterMetricFamily(
            "apiserver_watch_cache_events_dispatched",
            "Counter of events dispatched in watch cache broken by resource type.",
            labels=gr,
        )
        initializations = CounterMetricFamily(
            "apiserver_watch_cache_initializations",
            "Counter of watch cache initializations broken by resource type (shard relists).",
            labels=gr,
        )
        capacity = GaugeMetricFamily(
            "apiserver_watch_cache_capacity",
            "Total capacity of watch cache broken by resource type.",
            labels=gr,
        )
        resource_version = GaugeMetricFamily(
            "apiserver_watch_cache_resource_version",
            "Current resource version of watch cache broken by resource type and shard.",
            labels=(*gr, "shard"),
        )
        lagging = GaugeMetricFamily(
            "watchproxy_lagging_watchers",
            "Watchers whose queue filled up and that replay from the history ring.",
            labels=gr,
        )
        queue_hwm = GaugeMetricFamily(
            "watchproxy_watcher_queue_high_water",
            "The deepest queue any open watcher has had.",
            labels=gr,
        )
        history = GaugeMetricFamily(
            "watchproxy_watch_cache_history_events",
            "Events held in the history ring.",
            labels=gr,
        )
        history_bytes = GaugeMetricFamily(
            "watchproxy_watch_cache_history_bytes",
            "Bytes of the objects the history ring's events hold.",
            labels=gr,
        )
        history_hwm = GaugeMetricFamily(
            "watchproxy_watch_cache_history_high_water",
            "The most events the history ring has held.",
            labels=gr,
        )
        relists = sum(r.relists for r in self.proxy.reflectors)
        shard_names = [s.name for s in self.proxy.shards]
        for served in self.proxy.served.values():
            res = served.resource
            if res.virtual:
                continue
            stats = served.cache.statistics()
            kind = (res.group, res.version, res.kind)
            key = (res.group, res.plural)
            objects.add_metric((storage_resource(res),), stats.objects)
            watchers.add_metric(kind, stats.watchers)
            events_sent.add_metric(kind, stats.watch_events_sent)
            bytes_sent.add_metric(kind, stats.watch_bytes_sent)
            dispatched.add_metric(key, stats.events_dispatched)
            initializations.add_metric(key, relists)
            capacity.add_metric(key, stats.history_capacity)
            for name, revision in zip(shard_names, stats.revisions, strict=True):
                resource_version.add_metric((*key, name), revision)
            lagging.add_metric(key, stats.lagging_watchers)
            queue_hwm.add_metric(key, stats.watcher_queue_high_water)
            history.add_metric(key, stats.history)
            history_bytes.add_metric(key, stats.history_bytes)
            history_hwm.add_metric(key, stats.history_high_water)
        yield from (
            objects, watchers, events_sent, bytes_sent, dispatched, initializations, capacity,
            resource_version, lagging, queue_hwm, history, history_bytes, history_hwm,
        )  # fmt: skip

    def _etcd_requests(self) -> Iterator[Metric]:
        """kube's etcd_request_duration_seconds, per shard and etcd RPC. Labels differ from
        kube's (`operation`, `type` = the Go type stored): here `operation` is the etcd RPC
        (Range, Txn, Put, ...) and `shard` the etcd cluster, since one RPC may serve any type."""
        family = HistogramMetricFamily(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and shard.",
            labels=["operation", "shard"],
        )
        for shard in self.proxy.shards:
            timings = shard.client.timings
            for operation, counts in sorted(timings.buckets.items()):
                buckets = [(repr(float(b)), n) for b, n in zip(ETCD_BUCKETS, counts, strict=True)]
                buckets.append(("+Inf", timings.counts[operation]))
                family.add_metric([operation, shard.name], buckets, timings.sums[operation])
        yield family

    def _shards(self) -> Iterator[Metric]:
        shard = ("shard",)
        revision = GaugeMetricFamily(
            "watchproxy_shard_revision",
            "The newest etcd revision the shard's watch stream has proven delivered.",
            labels=shard,
        )
        etcd_revision = GaugeMetricFamily(
            "watchproxy_shard_etcd_revision",
            "etcd's current revision of the shard, read at scrape time.",
            labels=shard,
        )
        lag = GaugeMetricFamily(
            "watchproxy_shard_revision_lag",
            "etcd's current revision minus the revision the cache has proven (0 when caught up).",
            labels=shard,
        )
        idle = GaugeMetricFamily(
            "watchproxy_shard_stream_idle_seconds",
            "Seconds since the shard's etcd watch stream (or list) last answered.",
            labels=shard,
        )
        counters = {
            "relists": CounterMetricFamily(
                "watchproxy_shard_relists", "Lists of the whole shard.", labels=shard
            ),
            "watch_restarts": CounterMetricFamily(
                "watchproxy_etcd_watch_restarts",
                "Restarts of the shard's etcd watch (reconnects after errors, relists).",
                labels=shard,
            ),
            "events": CounterMetricFamily(
                "watchproxy_shard_events_applied", "etcd events applied to caches.", labels=shard
            ),
            "skipped_events": CounterMetricFamily(
                "watchproxy_shard_events_skipped",
                "etcd events of keys no served resource owns.",
                labels=shard,
            ),
            "progress_notifications": CounterMetricFamily(
                "watchproxy_shard_progress_notifications",
                "etcd progress notifications used to advance the caches.",
                labels=shard,
            ),
        }
        revision_reads = CounterMetricFamily(
            "watchproxy_shard_revision_reads",
            "Linearizable current-revision reads (shared by concurrent consistent reads).",
            labels=shard,
        )
        fallback_reads = CounterMetricFamily(
            "watchproxy_shard_fallback_reads",
            "LIST/GET answered from etcd because the cache could not prove freshness in time.",
            labels=shard,
        )
        now = time.monotonic()
        for backend, reflector in zip(self.proxy.shards, self.proxy.reflectors, strict=True):
            name = (backend.name,)
            revision.add_metric(name, reflector.revision)
            head = self.etcd_revisions.get(backend.name)
            if head is not None:
                etcd_revision.add_metric(name, head)
                lag.add_metric(name, max(0, head - reflector.revision))
            if reflector.last_heard:
                idle.add_metric(name, max(0.0, now - reflector.last_heard))
            stats = reflector.statistics()
            for key, family in counters.items():
                value = stats.get(key)
                if isinstance(value, int):
                    family.add_metric(name, value)
            revision_reads.add_metric(name, backend.revision_reads)
            fallback_reads.add_metric(name, backend.fallback_reads)
        bookmarks = CounterMetricFamily(
            "watchproxy_bookmarks_sent", "Bookmarks offered to caught-up watchers."
        )
        bookmarks.add_metric((), self.proxy.bookmarks.sent)
        yield from (revision, etcd_revision, lag, idle, *counters.values())
        yield from (revision_reads, fallback_reads, bookmarks)


@dataclass
class Metrics:
    """Everything /metrics serves, on one registry built per app."""

    registry: CollectorRegistry
    requests: RequestMetrics
    proxy: ProxyCollector


def build_registry(proxy: Proxy, flow: FlowController | None = None) -> Metrics:
    """A fresh registry with the request metrics, the proxy's scrape-time collector and, when
    flow control is on, its `apiserver_flowcontrol_*` collector."""
    registry = CollectorRegistry(auto_describe=False)
    served = [r for r in proxy.registry.resources if not r.virtual]
    requests = RequestMetrics(registry, served)
    collector = ProxyCollector(proxy)
    registry.register(collector)
    # process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, ... of this
    # process (read from /proc at scrape time), as every Prometheus client exports them.
    ProcessCollector(registry=registry)
    if flow is not None:
        registry.register(FlowControlCollector(flow))
    return Metrics(registry, requests, collector)


# A scrape waits this long at most for etcd's current revisions (the lag gauges); a shard that
# does not answer in time is left out of them, the rest of the scrape is unaffected.
ETCD_REVISION_TIMEOUT: Final = 1.0


async def serve_metrics(metrics: Metrics, method: str, send: Send) -> None:
    """GET /metrics: the text exposition of the app's registry. Authorization happened before
    (a non-resource URL; tenant identities are refused operator endpoints)."""
    if method != "GET":
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    proxy = metrics.proxy.proxy
    revisions: dict[str, int] = {}

    async def read(shard_name: str, read_revision: Callable[[], Awaitable[int]]) -> None:
        with contextlib.suppress(TimeoutError, EtcdError):
            async with asyncio.timeout(ETCD_REVISION_TIMEOUT):
                revisions[shard_name] = await read_revision()

    await asyncio.gather(*(read(s.name, s.current_revision) for s in proxy.shards))
    metrics.proxy.etcd_revisions = revisions
    body = generate_latest(metrics.registry)
    await respond(send, 200, body, content_type=CONTENT_TYPE_LATEST.encode())
