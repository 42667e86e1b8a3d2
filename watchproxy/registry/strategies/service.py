"""Services (kube: pkg/registry/core/service/storage): DELETE answers the deleted object."""

from __future__ import annotations

from watchproxy.registry.strategy import Strategy, register


@register("services")
class ServiceStrategy(Strategy):
    return_deleted_object = True
