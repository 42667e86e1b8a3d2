"""Whether a terminating pod has a kubelet that will finish it (PodGC's and the node lifecycle
controller's territory in kube; the namespace controller asks, see namespace.py).

A node has a live kubelet when the Node exists and its `kube-node-lease` Lease `renewTime` or its
Ready condition's `lastHeartbeatTime` is within NODE_MONITOR_GRACE (kube-controller-manager's
`--node-monitor-grace-period`). A pod whose grace period is over and whose node has none is
force-deleted: nobody else ever will.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from watchproxy.controllers.cached import cached, decode
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import meta_of, parse_timestamp
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]
NODE_MONITOR_GRACE = timedelta(seconds=40)  # --node-monitor-grace-period
NODE_LEASE_NAMESPACE = "kube-node-lease"


def kubelet_alive(node: JsonObject | None, node_lease: JsonObject | None, now: datetime) -> bool:
    """The node has a kubelet that reported within NODE_MONITOR_GRACE: its kube-node-lease
    Lease renewTime or its Ready condition's lastHeartbeatTime (node lifecycle controller)."""
    if node is None:
        return False
    beats = []
    if node_lease is not None:
        beats.append(parse_timestamp((node_lease.get("spec") or {}).get("renewTime")))
    for condition in (node.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            beats.append(parse_timestamp(condition.get("lastHeartbeatTime")))
    return any(beat is not None and now - beat < NODE_MONITOR_GRACE for beat in beats)


def should_force_delete(pod: JsonObject, *, now: datetime, kubelet_is_alive: bool) -> bool:
    """A terminating pod whose grace period is over and that no live kubelet will finish
    (see the module docstring). Already force-deleted pods (grace 0) wait for finalizers."""
    meta = meta_of(pod)
    ends = parse_timestamp(meta.get("deletionTimestamp"))
    if ends is None or ends > now or not meta.get("deletionGracePeriodSeconds"):
        return False
    return not kubelet_is_alive


class KubeletLiveness:
    """`kubelet_alive` for pods' nodes as the watch cache shows them at `now`, each node's Node
    and Lease decoded once (one instance per namespace pass: heartbeats age between passes)."""

    def __init__(
        self, proxy: Proxy, *, nodes: ResourceType, leases: ResourceType, now: datetime
    ) -> None:
        self.proxy = proxy
        self.nodes = nodes
        self.leases = leases
        self.now = now
        self._by_node: dict[str, bool] = {}

    def of_pod(self, pod: JsonObject) -> bool:
        """Whether the node the pod is bound to has a live kubelet (unbound: no)."""
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if not node_name:
            return False
        alive = self._by_node.get(node_name)
        if alive is None:
            node = cached(self.proxy, self.nodes, "", node_name)
            lease = cached(self.proxy, self.leases, NODE_LEASE_NAMESPACE, node_name)
            alive = kubelet_alive(
                decode(node) if node is not None else None,
                decode(lease) if lease is not None else None,
                self.now,
            )
            self._by_node[node_name] = alive
        return alive
