"""Writes through a built-in type's non-storage version (autoscaling/v1 HPAs; decision 0018).

kube decodes a request at its version, converts it to the internal version, defaults and
validates there, and records managedFields at the request's version (its field manager converts
objects to the manager's version). Here the storage version plays the internal one: the store
converts the request's object with `ResourceType.stored_form` before the strategy sees it, and
these helpers run what must see the request's version. For every other type they are the plain
calls (`stored_form` is the identity).
"""

from __future__ import annotations

from watchproxy.registry import fieldmanager
from watchproxy.registry.objects import JsonObject
from watchproxy.registry.strategy import Strategy
from watchproxy.resources import ResourceType


def converts(resource: ResourceType) -> bool:
    """Whether `resource` is served at a version other than the one it is stored at."""
    return resource.converted


def defaulted(strategy: Strategy, resource: ResourceType, obj: JsonObject) -> JsonObject:
    """`obj` (at the request's version) with the type's defaults, which are written for the
    storage version: converted there, defaulted, and back."""
    if not converts(resource):
        strategy.apply_defaults(obj)
        return obj
    stored = resource.stored_form(obj)
    strategy.apply_defaults(stored)
    return resource.served_form(stored)


def track(
    resource: ResourceType,
    live: JsonObject | None,
    new: JsonObject,
    manager: str,
    subresource: str = "",
) -> None:
    """fieldmanager.track, with `live` and `new` at the storage version: the manager's entry
    is computed and recorded at `resource`'s version, and set on `new`."""
    if not converts(resource):
        fieldmanager.track(resource, live, new, manager, subresource)
        return
    served_live = None if live is None else resource.served_form(live)
    served_new = resource.served_form(new)
    fieldmanager.track(resource, served_live, served_new, manager, subresource)
    entries = served_new["metadata"].get("managedFields")
    if entries:
        new["metadata"]["managedFields"] = entries
    else:
        new["metadata"].pop("managedFields", None)
