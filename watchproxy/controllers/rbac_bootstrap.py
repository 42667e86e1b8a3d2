"""kube-apiserver's RBAC bootstrap: the default ClusterRoles and ClusterRoleBindings
(cluster-admin, admin/edit/view and their aggregate-to-* parts, system:basic-user,
system:discovery, system:public-info-viewer, ...) are created at start-up when missing, as the
`rbac/bootstrap-roles` post-start hook does (pkg/registry/rbac/rest/storage_rbac.go).

Every replica tries; a create that finds the object already there (another replica, or an
operator who changed it) leaves it alone. Unlike kube, missing permissions are not added back
into an existing default role (kube's reconciliation with `rbac.authorization.kubernetes.io/
autoupdate`): an operator's edit wins.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from watchproxy.auth.authz.bootstrap import bootstrap_objects
from watchproxy.core.errors import ProxyError
from watchproxy.proxy import Proxy
from watchproxy.registry.options import WriteOptions
from watchproxy.registry.store import Store

log = logging.getLogger("watchproxy.controllers.rbac_bootstrap")


async def ensure_bootstrap_policy(proxy: Proxy, store: Store) -> int:
    """Create each missing bootstrap object; returns how many were created. Errors other than
    AlreadyExists are logged (the proxy serves anyway; the next start tries again)."""
    created = 0
    for obj in bootstrap_objects():
        group, _, _ = obj["apiVersion"].partition("/")
        plural = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}[
            obj["kind"]
        ]
        resource = proxy.registry.lookup(group, "v1", plural)
        assert resource is not None
        cache = proxy.cache_of(resource)
        name = obj["metadata"]["name"]
        if any(name in state.objects for state in cache.shards):
            continue
        try:
            await store.create(resource, "", copy.deepcopy(obj), WriteOptions())
            created += 1
        except ProxyError as exc:
            if getattr(exc, "reason", "") != "AlreadyExists":
                log.warning("RBAC bootstrap: cannot create %s %s: %s", obj["kind"], name, exc)
        await asyncio.sleep(0)
    if created:
        log.info("RBAC bootstrap: created %d default roles and bindings", created)
    return created
