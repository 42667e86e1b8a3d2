"""Built-in controllers: namespace lifecycle and garbage collection, as kube-controller-manager
runs them, each elected with a `coordination.k8s.io/v1` Lease so one replica works at a time
(docs/decisions/0008-built-in-controllers.md).

Imports point down: controllers -> registry (writes) and the watch cache (reads); nothing below
imports this package except api/app.py's lifespan.
"""

__all__ = ["running_controllers", "running_crd_controller"]

from watchproxy.controllers.runner import running_controllers, running_crd_controller
