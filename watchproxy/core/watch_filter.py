"""The small types of a CacheWatcher (re-exported by core/watcher.py): WatchFilter, what one
watch selects (scope, trigger, selectors, a view's narrowing) with its predicate specialised for
the dispatcher's hot loop; WatcherState; TokenEncoder."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from watchproxy.core.objects import CachedObject
from watchproxy.core.selectors import FieldSelector, LabelSelector

Vector = tuple[int, ...]


class TokenEncoder(Protocol):
    """TokenCodec.encode: a vector's token; with an object revision, the token of one object."""

    def __call__(self, vector: Vector, object_revision: int | None = None) -> str: ...


class WatcherState(enum.Enum):
    ACTIVE = "active"
    LAGGING = "lagging"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """What a watcher selects: scope from the path or exact selectors, then the predicates."""

    namespace: str  # "" = all namespaces
    name: str  # "" = all names
    trigger: str | None  # exact value of the resource's trigger field, if the selector pins it
    labels: LabelSelector
    fields: FieldSelector
    # An extra predicate narrowing what the caller may see at all (a tenant-scoped identity's
    # view: api/view.py); None = no narrowing.
    scope: Callable[[CachedObject], bool] | None = None

    def matches(self, obj: CachedObject) -> bool:
        if self.namespace and obj.namespace != self.namespace:
            return False
        if self.name and obj.name != self.name:
            return False
        if self.scope is not None and not self.scope(obj):
            return False
        return self.labels.matches(obj.labels) and self.fields.matches(obj.fields)

    def compile(self) -> Callable[[CachedObject], bool] | None:
        """The predicate specialised to what is set; None when it selects everything.

        Dispatch calls it twice per event per candidate watcher, so the common shapes
        (no selector at all, one namespace, a kubelet's trigger-only selector) skip the rest.
        """
        if self.scope is not None and not (
            self.namespace or self.name or not self.labels.is_empty or not self.fields.is_empty
        ):
            return self.scope  # a tenant's cluster-wide watch: its scope is the only test
        if self.namespace or self.name or not self.labels.is_empty or self.scope is not None:
            return self.matches
        if self.fields.is_empty:
            return None
        fields = self.fields.matches
        return lambda obj: fields(obj.fields)

    def compile_live(self) -> Callable[[CachedObject], bool] | None:
        """The predicate for the events the Dispatcher offers; None when it selects them all.

        A watcher without a trigger sits in the dispatcher's (namespace, name) bucket and is
        only offered events of objects in that scope (an object's key fixes its namespace and
        name, so its previous state has the same ones): the scope test is already done, and a
        namespace-only watch -- every controller of the moderate scenario -- needs no test at
        all. Events read back from the history (catch-up) are not bucketed: they use `compile`.
        """
        if self.trigger is not None or not (self.namespace or self.name):
            return self.compile()
        return replace(self, namespace="", name="").compile()
