"""Per-type strategies; importing this package registers them (strategy.register)."""

from watchproxy.registry.strategies import (
    apps,
    batch,
    certificates,
    configmap,
    crd,
    namespace,
    node,
    pod,
    policy,
    pvc,
    rbac,
    secret,
    service,
)

__all__ = [
    "apps",
    "batch",
    "certificates",
    "configmap",
    "crd",
    "namespace",
    "node",
    "pod",
    "policy",
    "pvc",
    "rbac",
    "secret",
    "service",
]
