"""`apiserver_flowcontrol_*` metrics, read from the flow controller's counters at scrape time.

Names and labels are kube-apiserver's (staging/src/k8s.io/apiserver/pkg/util/flowcontrol/
metrics/metrics.go); nothing here is touched per request: the controller keeps plain integers
and this collector turns them into families when /metrics is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from watchproxy.flowcontrol.controller import WAIT_BUCKETS, FlowController

_PL_FS = ["priority_level", "flow_schema"]


class FlowControlCollector(Collector):
    """The gauges, counters and the wait histogram of API Priority and Fairness."""

    def __init__(self, controller: FlowController) -> None:
        self._controller = controller

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterator[Metric]:
        prefix = "apiserver_flowcontrol_"
        dispatched = CounterMetricFamily(
            prefix + "dispatched_requests",
            "Number of requests executed by API Priority and Fairness subsystem",
            labels=_PL_FS,
        )
        rejected = CounterMetricFamily(
            prefix + "rejected_requests",
            "Number of requests rejected by API Priority and Fairness subsystem",
            labels=[*_PL_FS, "reason"],
        )
        inqueue = GaugeMetricFamily(
            prefix + "current_inqueue_requests",
            "Number of requests currently pending in queues of the API Priority and Fairness"
            " subsystem",
            labels=_PL_FS,
        )
        executing = GaugeMetricFamily(
            prefix + "current_executing_requests",
            "Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage",
            labels=_PL_FS,
        )
        executing_seats = GaugeMetricFamily(
            prefix + "current_executing_seats",
            "Concurrency (number of seats) occupied by the currently executing requests",
            labels=_PL_FS,
        )
        wait = HistogramMetricFamily(
            prefix + "request_wait_duration_seconds",
            "Length of time a request spent waiting in its queue",
            labels=[*_PL_FS, "execute"],
        )
        for (level, schema), c in sorted(self._controller.counters().items()):
            labels = [level, schema]
            dispatched.add_metric(labels, c.dispatched)
            for reason, count in sorted(c.rejected.items()):
                rejected.add_metric([*labels, reason], count)
            inqueue.add_metric(labels, c.waiting)
            executing.add_metric(labels, c.executing)
            executing_seats.add_metric(labels, c.executing_seats)
            for execute, counts in c.waits.items():
                observed = c.wait_counts[execute]
                if not observed:
                    continue
                # The controller's buckets are cumulative already (each observation counts in
                # every bucket whose bound it is under).
                buckets = [(repr(b), n) for b, n in zip(WAIT_BUCKETS, counts, strict=True)]
                buckets.append(("+Inf", observed))
                wait.add_metric([*labels, execute], buckets, c.wait_sums[execute])
        nominal = GaugeMetricFamily(
            prefix + "nominal_limit_seats",
            "Nominal number of execution seats configured for each priority level",
            labels=["priority_level"],
        )
        limit = GaugeMetricFamily(
            prefix + "current_limit_seats",
            "current derived number of execution seats available to each priority level",
            labels=["priority_level"],
        )
        for name, queueset in sorted(self._controller.queuesets.items()):
            nominal.add_metric([name], queueset.concurrency_limit)
            limit.add_metric([name], queueset.concurrency_limit)
        yield from (dispatched, rejected, inqueue, executing, executing_seats, wait, nominal, limit)
