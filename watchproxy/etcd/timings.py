"""Durations of unary etcd requests per RPC (kube's etcd_request_duration_seconds), counted in
plain ints so the etcd client needs no metrics library; observe/proxy_metrics.py exports them.
"""

from __future__ import annotations

from typing import Final

# kube's etcd_request_duration_seconds buckets (storage/etcd3/metrics/metrics.go).
REQUEST_DURATION_BUCKETS: Final = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
    4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
)  # fmt: skip


class RequestTimings:
    """Durations of unary etcd requests per RPC, as cumulative bucket counts (plain ints, so the
    etcd client needs no metrics library; observe/metrics.py exports them at scrape time).

    Owner: the event loop (one `observe` per request, after the answer).
    """

    __slots__ = ("buckets", "counts", "sums")

    def __init__(self) -> None:
        self.buckets: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}
        self.sums: dict[str, float] = {}

    def observe(self, operation: str, seconds: float) -> None:
        buckets = self.buckets.get(operation)
        if buckets is None:
            buckets = self.buckets[operation] = [0] * len(REQUEST_DURATION_BUCKETS)
            self.counts[operation] = 0
            self.sums[operation] = 0.0
        for i, bound in enumerate(REQUEST_DURATION_BUCKETS):
            if seconds <= bound:
                buckets[i] += 1
        self.counts[operation] += 1
        self.sums[operation] += seconds
