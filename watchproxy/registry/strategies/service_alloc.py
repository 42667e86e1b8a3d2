"""A Service's ClusterIP and NodePorts: held before the Service is written, released after it
is deleted or stops needing them (kube: pkg/registry/core/service/storage/alloc.go).

Holding is one create-if-absent transaction per value on the default shard
(registry/ipallocator.py, registry/portallocator.py), so two Services -- through any replica, on
any shard -- never hold the same address or port. A dry run checks and picks without holding.
A value held by a create that then failed names a Service that does not hold it: it is taken
back when requested (after STALE_AFTER_SECONDS when its Service does not exist at all, which
is also what a create in flight looks like).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from watchproxy.api.status import ApiError, invalid
from watchproxy.core.validation import field_invalid, go_string_slice
from watchproxy.etcd.values import KeyValue
from watchproxy.registry.errors import Cause
from watchproxy.registry.ipallocator import IPAllocator, age_seconds, held_by, parent_of
from watchproxy.registry.portallocator import NodePortAllocator, record
from watchproxy.resources import ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

JsonObject = dict[str, Any]
RANDOM_ATTEMPTS = 8  # random picks lost to concurrent creates before "range is full"
STALE_AFTER_SECONDS = 30.0  # longer than any create's etcd round trips
_IPS: WeakKeyDictionary[Any, IPAllocator] = WeakKeyDictionary()
_PORTS: WeakKeyDictionary[Any, NodePortAllocator] = WeakKeyDictionary()


def ip_allocator(store: Store) -> IPAllocator:
    """The store's ClusterIP allocator over the default shard (built on first use)."""
    found = _IPS.get(store)
    if found is None:
        shard = store.proxy.shards[store.tenancy.default_shard]
        cidr = store.proxy.settings.service_cluster_ip_range
        found = _IPS[store] = IPAllocator(cidr, shard.client, shard.key_prefix)
    return found


def port_allocator(store: Store) -> NodePortAllocator:
    found = _PORTS.get(store)
    if found is None:
        shard = store.proxy.shards[store.tenancy.default_shard]
        found = _PORTS[store] = NodePortAllocator(shard.client, shard.key_prefix)
    return found


def spec_of(obj: JsonObject) -> JsonObject:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def cluster_ip(obj: JsonObject) -> str:
    """The Service's ClusterIP ("" when none, "None" when headless)."""
    spec = spec_of(obj)
    ip = spec.get("clusterIP")
    if not ip and isinstance(spec.get("clusterIPs"), list) and spec["clusterIPs"]:
        ip = spec["clusterIPs"][0]
    return ip if isinstance(ip, str) else ""


def allocated(ip: str) -> bool:
    return ip not in ("", "None")


def set_ip(obj: JsonObject, ip: str) -> None:
    spec = spec_of(obj)
    spec["clusterIP"] = ip
    spec["clusterIPs"] = [ip]


def _name(obj: JsonObject) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _uid(obj: JsonObject) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _ports(obj: JsonObject) -> list[JsonObject]:
    ports = spec_of(obj).get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def needs_node_ports(obj: JsonObject) -> bool:
    spec = spec_of(obj)
    kind = spec.get("type")
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False
    )


def node_ports(obj: JsonObject) -> set[int]:
    """The node ports the Service holds."""
    if not needs_node_ports(obj):
        return set()
    return {
        p["nodePort"]
        for p in _ports(obj)
        if isinstance(p.get("nodePort"), int) and p["nodePort"] > 0
    }


async def _parent(store: Store, services: ResourceType, namespace: str, name: str) -> Any:
    found = await store.locate(services, namespace, name)
    return found.obj if found is not None else None


# -- ClusterIP ---------------------------------------------------------------------------------


def family_causes(obj: JsonObject, configured: str) -> list[Cause]:
    """initIPFamilyFields' checks against the one family this cluster's Service range has
    (kube: pkg/registry/core/service/storage/alloc.go): no RequireDualStack, every requested
    family configured (shown with the Service's clusterIPs, as kube does)."""
    spec = spec_of(obj)
    causes: list[Cause] = []
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        causes.append(
            field_invalid(
                "spec.ipFamilyPolicy",
                "RequireDualStack",
                "Cluster is not configured for dual stack services",
            )
        )
    families = spec.get("ipFamilies")
    ips = spec.get("clusterIPs")
    shown = go_string_slice(ips) if isinstance(ips, list) and ips else "[]string(nil)"
    for i, family in enumerate(families if isinstance(families, list) else []):
        if family != configured:
            message = f"ipfamily {family} is not configured on cluster"
            causes.append(field_invalid(f"spec.ipFamilies[{i}]", shown, message))
    return causes


async def reserve_cluster_ip(
    store: Store, services: ResourceType, obj: JsonObject, old: JsonObject | None, dry_run: bool
) -> None:
    """Hold the requested ClusterIP (422 when out of range or held) or a random free one (500
    when the range is full), unless the Service is ExternalName, headless, or has one."""
    if spec_of(obj).get("type") == "ExternalName":
        return
    alloc = ip_allocator(store)
    refusals = family_causes(obj, alloc.family)
    if refusals:
        raise invalid("Service", _name(obj), refusals)
    ip = cluster_ip(obj)
    if ip == "None" or (old is not None and allocated(cluster_ip(old))):
        return
    if not ip:
        for _ in range(RANDOM_ATTEMPTS):
            chosen = await alloc.pick()
            if chosen is None:
                break
            if dry_run or await alloc.allocate(chosen, obj):
                set_ip(obj, chosen)
                return
        raise ApiError(
            500,
            "InternalError",
            "Internal error occurred: failed to allocate a serviceIP: range is full",
        )
    shown = go_string_slice([ip])
    if not alloc.contains(ip):
        refusal = field_invalid("spec.clusterIPs", shown, alloc.not_in_range(ip))
        raise invalid("Service", _name(obj), [refusal])
    for _ in range(2):
        if not dry_run and await alloc.allocate(ip, obj):
            return
        kv = await alloc.holder(ip)
        if kv is None or held_by(kv) == _uid(obj):
            return  # released meanwhile (dry run), or ours from a retried write
        if not await _ip_stale(store, services, kv, ip):
            break
        if dry_run:
            return
        await alloc.take_back(kv)
    message = f"failed to allocate IP {ip}: provided IP is already allocated"
    raise invalid("Service", _name(obj), [field_invalid("spec.clusterIPs", shown, message)])


async def _ip_stale(store: Store, services: ResourceType, kv: KeyValue, ip: str) -> bool:
    parent = await _parent(store, services, *parent_of(kv))
    if parent is None:
        return age_seconds(kv) > STALE_AFTER_SECONDS
    return cluster_ip(parent) != ip or _uid(parent) != held_by(kv)


# -- NodePorts ---------------------------------------------------------------------------------


async def reserve_node_ports(
    store: Store, services: ResourceType, obj: JsonObject, old: JsonObject | None, dry_run: bool
) -> None:
    """Hold every requested nodePort (422 when out of range or held by another Service) and a
    free one for each port without."""
    if not needs_node_ports(obj):
        return
    alloc = port_allocator(store)
    mine = node_ports(old) if old is not None else set()
    for i, port in enumerate(_ports(obj)):
        wanted = port.get("nodePort")
        if isinstance(wanted, int) and wanted > 0:
            if wanted not in mine:
                await _hold_port(store, services, alloc, obj, i, wanted, dry_run)
                mine.add(wanted)
            continue
        chosen = None
        while chosen is None:
            chosen = await alloc.pick(mine)
            if chosen is None:
                raise ApiError(
                    500,
                    "InternalError",
                    "Internal error occurred: failed to allocate a nodePort: range is full",
                )
            if not dry_run and not await alloc.allocate(chosen, obj):
                mine.add(chosen)  # lost it to another create: try another
                chosen = None
        port["nodePort"] = chosen
        mine.add(chosen)


async def _hold_port(
    store: Store,
    services: ResourceType,
    alloc: NodePortAllocator,
    obj: JsonObject,
    index: int,
    port: int,
    dry_run: bool,
) -> None:
    path = f"spec.ports[{index}].nodePort"
    if not alloc.contains(port):
        raise invalid("Service", _name(obj), [field_invalid(path, str(port), alloc.not_in_range())])
    for _ in range(2):
        if not dry_run and await alloc.allocate(port, obj):
            return
        kv = await alloc.holder(port)
        held = record(kv) if kv is not None else {}
        if kv is None or held.get("uid") == _uid(obj):
            return
        parent = await _parent(store, services, str(held.get("namespace")), str(held.get("name")))
        if parent is None:
            stale = time.time() - float(held.get("since") or 0) > STALE_AFTER_SECONDS
        else:
            stale = port not in node_ports(parent) or _uid(parent) != held.get("uid")
        if not stale:
            break
        if dry_run:
            return
        await alloc.take_back(kv)
    message = "provided port is already allocated"
    raise invalid("Service", _name(obj), [field_invalid(path, str(port), message)])


# -- release -------------------------------------------------------------------------------------


async def release_unused(store: Store, obj: JsonObject | None, old: JsonObject) -> None:
    """Give back what `old` held and `obj` (None: deleted) no longer holds."""
    uid = _uid(old)
    keep_ip = (
        cluster_ip(obj) if obj is not None and spec_of(obj).get("type") != "ExternalName" else ""
    )
    old_ip = cluster_ip(old)
    if allocated(old_ip) and old_ip != keep_ip:
        await ip_allocator(store).release(old_ip, uid)
    keep_ports = node_ports(obj) if obj is not None else set()
    for port in node_ports(old) - keep_ports:
        await port_allocator(store).release(port, uid)
