"""Per-type strategies; importing this package registers them (strategy.register)."""

from watchproxy.registry.strategies import namespace, node, pod, secret, service

__all__ = ["namespace", "node", "pod", "secret", "service"]
