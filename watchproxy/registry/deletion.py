"""The pure rules of deletion: graceful periods, deletion finalizers, delete-during-update.

Sources (apiserver): registry/rest/delete.go `BeforeDelete`; registry/generic/registry/store.go
`deletionFinalizersForGarbageCollection`, `shouldOrphanDependents`, `shouldDeleteDependents`,
`markAsDeleting`, `ShouldDeleteDuringUpdate`. The store (store.py) does the I/O around them.
Every function mutates the object dict it is given and never awaits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from watchproxy.registry.options import BACKGROUND, FOREGROUND, ORPHAN, DeleteOptions
from watchproxy.registry.strategy import Strategy

JsonObject = dict[str, Any]
FINALIZER_ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents
FINALIZER_FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime (Lease renewTime...)


def timestamp(at: datetime) -> str:
    """metav1.Time as JSON (RFC 3339, second precision, UTC)."""
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_timestamp(text: object) -> datetime | None:
    """metav1.Time or metav1.MicroTime as JSON -> aware UTC datetime; None if not one."""
    if not isinstance(text, str):
        return None
    for layout in (_TIME_FORMAT, _MICRO_TIME_FORMAT):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def meta_of(obj: JsonObject) -> JsonObject:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def before_delete(
    strategy: Strategy, obj: JsonObject, options: DeleteOptions, now: datetime
) -> tuple[bool, bool, DeleteOptions]:
    """(graceful, graceful_pending, options with the grace period used) -- rest.BeforeDelete.

    graceful: the object gets (or shortens) a deletion grace period and must be updated, not
    deleted. graceful_pending: a graceful deletion is already under way; nothing to do.
    """
    meta = meta_of(obj)
    if options.grace_period_seconds is not None and options.grace_period_seconds < 0:
        options = options.with_grace(1)  # negative grace periods are treated as 1 s
    current = meta.get("deletionGracePeriodSeconds")
    if isinstance(current, int) and current < 0:
        meta["deletionGracePeriodSeconds"] = current = 1
    if type(strategy).check_graceful_delete is Strategy.check_graceful_delete:
        return False, False, options  # not a RESTGracefulDeleteStrategy
    if meta.get("deletionTimestamp"):
        # Already deleting: the grace period may only be shortened.
        if not isinstance(current, int) or current == 0:
            return False, False, options
        if options.grace_period_seconds is not None:
            shorter = options.grace_period_seconds
            if shorter >= current:
                return False, True, options
            started = parse_timestamp(str(meta["deletionTimestamp"]))
            if started is not None:
                moved = started - timedelta(seconds=current) + timedelta(seconds=shorter)
                meta["deletionTimestamp"] = timestamp(moved)
            meta["deletionGracePeriodSeconds"] = shorter
            return True, False, options
        return False, True, options.with_grace(current)
    period = strategy.check_graceful_delete(obj, options.grace_period_seconds)
    if period is None:
        return False, False, options
    meta["deletionTimestamp"] = timestamp(now + timedelta(seconds=period))
    meta["deletionGracePeriodSeconds"] = period
    if int(meta.get("generation") or 0) > 0:
        meta["generation"] = int(meta["generation"]) + 1
    return True, False, options.with_grace(period)


def _should_orphan(finalizers: list[str], options: DeleteOptions) -> bool:
    if options.orphan_dependents is not None:
        return options.orphan_dependents
    if options.propagation_policy is not None:
        return options.propagation_policy == ORPHAN
    for f in finalizers:
        if f == FINALIZER_ORPHAN:
            return True
        if f == FINALIZER_FOREGROUND:
            return False
    return False  # every served type defaults to Background (DeleteDependents)


def _should_delete_dependents(finalizers: list[str], options: DeleteOptions) -> bool:
    if options.orphan_dependents is not None:
        return False
    if options.propagation_policy is not None:
        return options.propagation_policy == FOREGROUND
    for f in finalizers:
        if f == FINALIZER_FOREGROUND:
            return True
        if f == FINALIZER_ORPHAN:
            return False
    return False


def gc_finalizers(obj: JsonObject, options: DeleteOptions) -> tuple[bool, list[str]]:
    """(changed, finalizers) after applying the propagation policy's finalizers
    (deletionFinalizersForGarbageCollection)."""
    current = [str(f) for f in meta_of(obj).get("finalizers") or []]
    new = [f for f in current if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
    if _should_orphan(current, options):
        new.append(FINALIZER_ORPHAN)
    if _should_delete_dependents(current, options):
        new.append(FINALIZER_FOREGROUND)
    if set(new) == set(current):
        return False, current
    return True, new


def mark_as_deleting(obj: JsonObject, now: datetime) -> None:
    """deletionTimestamp = now (unless already earlier), deletionGracePeriodSeconds = 0."""
    meta = meta_of(obj)
    existing = parse_timestamp(str(meta.get("deletionTimestamp") or ""))
    if existing is None and int(meta.get("generation") or 0) > 0:
        meta["generation"] = int(meta["generation"]) + 1
    if existing is None or existing > now:
        meta["deletionTimestamp"] = timestamp(now)
    meta["deletionGracePeriodSeconds"] = 0


def should_delete_during_update(strategy: Strategy, new: JsonObject, old: JsonObject) -> bool:
    """An update that leaves no finalizer on an object being deleted with no grace period left
    (deletionGracePeriodSeconds 0 or unset) deletes it instead (store.go ShouldDeleteDuringUpdate,
    plus the type's own condition: a namespace's /finalize that empties spec.finalizers)."""
    new_meta, old_meta = meta_of(new), meta_of(old)
    if new_meta.get("finalizers") or not old_meta.get("deletionTimestamp"):
        return False
    if old_meta.get("deletionGracePeriodSeconds") not in (None, 0):
        return False
    return not strategy.delete_blocked(new)


__all__ = [
    "BACKGROUND",
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "before_delete",
    "gc_finalizers",
    "mark_as_deleting",
    "should_delete_during_update",
    "timestamp",
]
