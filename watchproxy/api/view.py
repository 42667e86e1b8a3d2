"""Which shards a request reads, and how resourceVersions look to it.

A request that resolves to one shard (a namespace, a namespace object, a kubelet's
`spec.nodeName=N` whose node carries a tenant label, or a single-shard deployment) sees plain
etcd revisions. Anything else reads the merged view of all shards and sees composite tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchproxy.api.status import ApiError, bad_request
from watchproxy.core.rv import ForeignTokenError, ResourceVersionError, parse_plain
from watchproxy.proxy import Proxy
from watchproxy.resources import TENANT_LABEL, ResourceType

Vector = tuple[int, ...]


@dataclass(frozen=True)
class View:
    shards: frozenset[int]
    merged: bool

    def only(self) -> int:
        return next(iter(self.shards))


def resolve_view(
    proxy: Proxy, resource: ResourceType, namespace: str, name: str, node_name: str | None
) -> View:
    tenancy = proxy.tenancy
    if tenancy.shard_count == 1:
        return View(frozenset({0}), merged=False)
    if resource.namespaced and namespace:
        return View(frozenset({tenancy.shard_of_namespace(namespace)}), merged=False)
    if resource.plural == "namespaces" and not resource.group and name:
        return View(frozenset({tenancy.shard_of_namespace(name)}), merged=False)
    if node_name is not None:
        shard = node_shard(proxy, node_name)
        if shard is not None:
            return View(frozenset({shard}), merged=False)
    return View(proxy.all_shards, merged=True)


def node_shard(proxy: Proxy, node_name: str) -> int | None:
    """The tenant shard of a cached Node's `watchproxy.io/tenant` label, if any."""
    nodes = proxy.registry.lookup("", "v1", "nodes")
    if nodes is None:
        return None
    cache = proxy.cache_of(nodes)
    for state in cache.shards:
        node = state.objects.get(node_name)
        if node is not None:
            tenant = node.labels.get(TENANT_LABEL)
            return proxy.tenancy.shard_of_tenant(tenant) if tenant else None
    return None


def parse_rv(proxy: Proxy, view: View, text: str) -> Vector:
    """A non-empty resourceVersion as a vector over all shards (entries outside the view: 0)."""
    plain = parse_plain(text)
    zeros = [0] * proxy.tenancy.shard_count
    if plain is not None:
        if view.merged:
            raise ApiError(
                410,
                "Expired",
                f"resourceVersion {text} is a single-shard revision but this request spans "
                "several shards; relist to get a composite resourceVersion",
            )
        zeros[view.only()] = plain
        return tuple(zeros)
    try:
        vector = proxy.codec.decode(text)
    except ForeignTokenError as exc:
        raise ApiError(410, "Expired", str(exc)) from exc
    except ResourceVersionError as exc:
        raise bad_request(str(exc)) from exc
    if not view.merged:
        zeros[view.only()] = vector[view.only()]
        return tuple(zeros)
    return vector


def format_rv(proxy: Proxy, view: View, vector: Vector) -> str:
    if view.merged:
        return proxy.codec.encode(vector)
    return str(vector[view.only()])
