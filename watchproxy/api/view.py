"""Which shards a request reads, and how resourceVersions look to it.

A request is a single-shard request whenever its path or its exact selectors pin one shard,
wherever the pin comes from:

- a namespace (path `/namespaces/NS/...` or `fieldSelector=metadata.namespace=NS`): NS's tenant;
- a Namespace by name (path `/namespaces/NS` or `fieldSelector=metadata.name=NS`): NS's tenant;
- another cluster-scoped object by name (path or `metadata.name=X`, as `kubectl get node X -w`
  watches after its GET): the shard whose cache holds X; unknown (or on several shards): merged;
- a kubelet's pods (`spec.nodeName=N`): the tenant label of the cached Node N, if any;
- a one-shard deployment.

A single-shard request sees plain etcd revisions of that shard, exactly as kube-apiserver; so the
resourceVersion of an object it read, or of its list, starts a watch of any request pinned to the
same shard. Anything else reads the merged view of all shards and sees composite tokens
(docs/resource-versions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from watchproxy.api.status import bad_request
from watchproxy.core.errors import ResourceExpired
from watchproxy.core.objects import CachedObject
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
    """The shards a request reads: `namespace` and `name` from its path or its exact
    `metadata.namespace=` / `metadata.name=` selectors, `node_name` from `spec.nodeName=`."""
    tenancy = proxy.tenancy
    if tenancy.shard_count == 1:
        return View(frozenset({0}), merged=False)
    if resource.namespaced:
        if namespace:
            return View(frozenset({tenancy.shard_of_namespace(namespace)}), merged=False)
    elif resource.plural == "namespaces" and not resource.group:
        if name:
            return View(frozenset({tenancy.shard_of_namespace(name)}), merged=False)
    elif name:
        shard = object_shard(proxy, resource, name)
        if shard is not None:
            return View(frozenset({shard}), merged=False)
    if node_name is not None:
        shard = node_shard(proxy, node_name)
        if shard is not None:
            return View(frozenset({shard}), merged=False)
    return View(proxy.all_shards, merged=True)


def object_shard(proxy: Proxy, resource: ResourceType, name: str) -> int | None:
    """The one shard whose cache holds the cluster-scoped object `name`; None if no shard or
    several do (then the request stays merged)."""
    found = None
    for shard, state in enumerate(proxy.cache_of(resource).shards):
        if name in state.objects:
            if found is not None:
                return None
            found = shard
    return found


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
    """A non-empty resourceVersion as a vector over all shards (entries outside the view: 0).

    A token given to a single-shard view is read at that shard's entry. Raises 400 BadRequest
    for text that is neither form, and ResourceExpired (410) for a position this view cannot
    read: a token of another shard layout, or a plain revision given to a merged view (it names
    no shard). LIST and WATCH word those 410s as kube does (see api/status.py).
    """
    plain = parse_plain(text)
    zeros = [0] * proxy.tenancy.shard_count
    if plain is not None:
        if view.merged:
            raise ResourceExpired(
                f"resourceVersion {text} is a single-shard revision but this request spans "
                "several shards; relist to get a composite resourceVersion"
            )
        zeros[view.only()] = plain
        return tuple(zeros)
    try:
        vector = proxy.codec.decode(text)
    except ForeignTokenError as exc:
        raise ResourceExpired(str(exc)) from exc
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


def tenant_view(proxy: Proxy, tenant: str) -> View:
    """A tenant-scoped identity reads its tenant's shard alone, with plain revisions."""
    return View(frozenset({proxy.tenancy.shard_of_tenant(tenant)}), merged=False)


def tenant_predicate(
    proxy: Proxy, resource: ResourceType, tenant: str, namespaces: frozenset[str] | None = None
) -> Callable[[CachedObject], bool]:
    """What a tenant-scoped identity may see of `resource`: objects in its namespaces; of the
    namespaces, its own; of other cluster-scoped types, those labelled with its tenant
    (auth/tenants.py). `namespaces` narrows a namespaced resource further (guard.py)."""
    tenant_of = proxy.tenancy.tenant_of_namespace
    if resource.namespaced and namespaces is not None:
        return lambda obj: obj.namespace in namespaces
    if resource.namespaced:
        return lambda obj: tenant_of(obj.namespace) == tenant
    if resource.plural == "namespaces" and not resource.group:
        return lambda obj: tenant_of(obj.name) == tenant
    return lambda obj: obj.labels.get(TENANT_LABEL) == tenant
