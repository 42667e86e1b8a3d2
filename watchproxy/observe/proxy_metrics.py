"""Scrape-time metrics of the proxy (`ProxyCollector`): caches, watchers, shards, reflectors and
bookmarks, built from the snapshots the core already keeps (`ResourceCache.statistics()`, the
reflectors' and shards' counters) when /metrics is read, so no metric object is touched per event
or per delivery. kube-apiserver's names where one exists (apiserver_storage_objects,
apiserver_watch_events_total...), `watchproxy_*` for the rest (docs/observability.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from watchproxy.etcd.client import REQUEST_DURATION_BUCKETS as ETCD_BUCKETS
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType


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
        seen: set[tuple[str, str]] = set()
        for served in self.proxy.served.values():
            res = served.resource
            if res.virtual:
                continue
            stats = served.cache.statistics()
            kind = (res.group, res.version, res.kind)
            key = (res.group, res.plural)
            if key in seen:  # another served version of a CRD: one series per resource
                watchers.add_metric(kind, stats.watchers)
                events_sent.add_metric(kind, stats.watch_events_sent)
                bytes_sent.add_metric(kind, stats.watch_bytes_sent)
                continue
            seen.add(key)
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
