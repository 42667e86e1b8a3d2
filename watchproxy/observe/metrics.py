"""Prometheus metrics: kube-apiserver's names and labels where one exists, `watchproxy_*` for the
rest (docs/observability.md lists them).

Two kinds, so the watch fan-out gains nothing:
- Per request (`RequestMetrics`): `apiserver_request_total`, `apiserver_request_duration_seconds`
  and `apiserver_longrunning_requests`, recorded by the ASGI app once per request.
- Per scrape (`ProxyCollector`): everything about caches, watchers and shards, built from the
  snapshots the core already keeps (`ResourceCache.statistics()`, the reflectors' and shards'
  counters) when /metrics is read. No metric object is touched per event or per delivery.

The registry is built per app (`build_registry`) and injected; nothing registers at import time.

Parts: observe/request_metrics.py (per request), observe/proxy_metrics.py (per scrape),
observe/flowcontrol_metrics.py (API Priority and Fairness); this module builds the registry, and
api/metrics_endpoint.py serves it at /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    ProcessCollector,
)

from watchproxy.flowcontrol.controller import FlowController
from watchproxy.observe.flowcontrol_metrics import FlowControlCollector
from watchproxy.observe.proxy_metrics import ProxyCollector
from watchproxy.observe.request_metrics import (
    RequestMetrics,
)
from watchproxy.proxy import Proxy

__all__ = ["Metrics", "build_registry"]


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
