"""Per-type strategies; importing this package registers them (strategy.register)."""

from watchproxy.registry.strategies import (
    configmap,
    namespace,
    node,
    pod,
    rbac,
    secret,
    service,
)

__all__ = ["configmap", "namespace", "node", "pod", "rbac", "secret", "service"]
