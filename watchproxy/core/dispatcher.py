"""Dispatcher: finds the watchers an event concerns by index and offers it to them.

Watchers are registered in exactly one bucket, as kube-apiserver's cacher does: by the value of
the resource's trigger field when the watcher pins it (a kubelet's `spec.nodeName=N`), otherwise
by scope (namespace, name). An event is offered to the buckets of its own (namespace, name),
(namespace, ""), ("", name), ("", "") and to the trigger buckets of its new and previous value,
so its cost is proportional to the watchers it may concern, not to all watchers.
"""

from __future__ import annotations

from collections.abc import Iterator

from watchproxy.core.objects import CacheEvent
from watchproxy.core.watcher import CacheWatcher

Scope = tuple[str, str]


class Dispatcher:
    """Owner: the ResourceCache (register/dispatch) and watch handlers (unregister)."""

    def __init__(self) -> None:
        self._by_scope: dict[Scope, set[CacheWatcher]] = {}
        self._by_trigger: dict[str, set[CacheWatcher]] = {}
        self.count = 0

    def register(self, watcher: CacheWatcher) -> None:
        bucket = self._bucket(watcher, create=True)
        assert bucket is not None
        bucket.add(watcher)
        self.count += 1

    def unregister(self, watcher: CacheWatcher) -> None:
        bucket = self._bucket(watcher, create=False)
        if bucket is not None and watcher in bucket:
            bucket.discard(watcher)
            self.count -= 1
            if not bucket:
                self._drop_empty(watcher)

    def _bucket(self, watcher: CacheWatcher, *, create: bool) -> set[CacheWatcher] | None:
        f = watcher.filter
        if f.trigger is not None:
            if create:
                return self._by_trigger.setdefault(f.trigger, set())
            return self._by_trigger.get(f.trigger)
        scope = (f.namespace, f.name)
        if create:
            return self._by_scope.setdefault(scope, set())
        return self._by_scope.get(scope)

    def _drop_empty(self, watcher: CacheWatcher) -> None:
        f = watcher.filter
        if f.trigger is not None:
            self._by_trigger.pop(f.trigger, None)
        else:
            self._by_scope.pop((f.namespace, f.name), None)

    def candidates(self, event: CacheEvent) -> Iterator[CacheWatcher]:
        obj = event.obj if event.obj is not None else event.prev
        assert obj is not None
        ns, name = obj.namespace, obj.name
        by_scope = self._by_scope
        scopes = ((ns, name), (ns, ""), ("", name), ("", "")) if ns else (("", name), ("", ""))
        for scope in scopes:
            bucket = by_scope.get(scope)
            if bucket:
                yield from bucket
        if self._by_trigger:
            new_value = event.obj.trigger if event.obj is not None else None
            old_value = event.prev.trigger if event.prev is not None else None
            for value in (new_value, old_value if old_value != new_value else None):
                if value is not None:
                    bucket = self._by_trigger.get(value)
                    if bucket:
                        yield from bucket

    def dispatch(self, event: CacheEvent) -> None:
        """`offer` the event to every candidate, in `candidates` order (a loop, not the
        generator: no generator frame resumed per candidate, once per delivery)."""
        obj, prev = event.obj, event.prev
        scoped = obj if obj is not None else prev
        assert scoped is not None
        ns, name = scoped.namespace, scoped.name
        get = self._by_scope.get
        for bucket in (
            (get((ns, name)), get((ns, "")), get(("", name)), get(("", "")))
            if ns
            else (get(("", name)), get(("", "")))
        ):
            if bucket:
                for watcher in bucket:
                    watcher.offer(event)
        if self._by_trigger:
            new_value = obj.trigger if obj is not None else None
            old_value = prev.trigger if prev is not None else None
            for value in (new_value, old_value if old_value != new_value else None):
                if value is not None:
                    bucket = self._by_trigger.get(value)
                    if bucket:
                        for watcher in bucket:
                            watcher.offer(event)

    def all(self) -> Iterator[CacheWatcher]:
        for bucket in self._by_scope.values():
            yield from bucket
        for bucket in self._by_trigger.values():
            yield from bucket
