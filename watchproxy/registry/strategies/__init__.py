"""Per-type strategies; importing this package registers them (strategy.register)."""

from watchproxy.registry.strategies import namespace, node, pod, service

__all__ = ["namespace", "node", "pod", "service"]
