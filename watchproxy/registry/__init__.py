"""The generic write path and per-type strategies (kube's registry/generic/registry/store.go and
each type's strategy.go): dry-run, preconditions, finalizers, graceful deletion, deletecollection.

Imports point down: api -> registry -> (etcd client, tenancy, core). A type-specific rule lives in
its strategy under `strategies/`, never as an `if kind == ...` in `store.py`.
"""

__all__ = ["DeleteOptions", "Store", "Strategy", "WriteOptions", "strategy_for"]

from watchproxy.registry.options import DeleteOptions, WriteOptions
from watchproxy.registry.store import Store
from watchproxy.registry.strategy import Strategy, strategy_for
