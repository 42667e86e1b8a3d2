"""What a namespace controller pass left in a Terminating namespace, and the five `Namespace*`
status conditions that say so, worded as kube's deletion/status_condition_utils.go words them
(`ProcessContentTotals`, `makeDeleteContentCondition`, `updateConditions`).

Pure: nothing here reads the cache or writes; namespace.py does both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchproxy.registry.deletion import meta_of, parse_timestamp, timestamp
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]
# Next look at a namespace whose etcd still has keys the cache has not shown yet, or whose last
# pass failed (kube re-queues with rate-limited backoff; the cache's change wakes us sooner).
RETRY_SECONDS = 1.0

CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
_OK: dict[str, tuple[str, str]] = {  # type -> (reason, message) when nothing is wrong
    "NamespaceDeletionDiscoveryFailure": (
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    "NamespaceDeletionGroupVersionParsingFailure": (
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    "NamespaceDeletionContentFailure": (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentRemoved", "All content successfully removed"),
}


@dataclass
class Remaining:
    """What one pass left in a namespace: counts per `resource.group` and per finalizer, the
    delete errors per resource, and when the remaining pods' grace periods end."""

    by_resource: Counter[str] = field(default_factory=Counter)
    by_finalizer: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    grace_ends: list[datetime] = field(default_factory=list)

    def add(self, resource: ResourceType, obj: JsonObject) -> None:
        meta = meta_of(obj)
        # kube's fmt "%s.%s" of resource and group: a core resource keeps the trailing dot, so
        # "pods. has 1 resource instances" is kube's wording, not a typo.
        self.by_resource[f"{resource.plural}.{resource.group}"] += 1
        for finalizer in meta.get("finalizers") or []:
            self.by_finalizer[str(finalizer)] += 1
        ends = parse_timestamp(meta.get("deletionTimestamp"))
        if resource.key == "pods" and ends is not None and meta.get("deletionGracePeriodSeconds"):
            self.grace_ends.append(ends)

    @property
    def empty(self) -> bool:
        return not self.by_resource and not self.errors

    def wait_seconds(self, now: datetime) -> float | None:
        """When to look again without a cache change: just after the earliest grace period
        ends (kube: estimateGracefulTermination), or soon after an error."""
        if self.errors:
            return RETRY_SECONDS
        ahead = [ends for ends in self.grace_ends if ends > now]
        if not ahead:
            return None
        # deletionTimestamp has second precision: look a moment after it.
        return (min(ahead) - now).total_seconds() + 0.5


def failure_conditions(remaining: Remaining) -> dict[str, tuple[str, str]]:
    """The conditions that are True, type -> (reason, message), as status_condition_utils.go
    words them (ProcessContentTotals, makeDeleteContentCondition)."""
    out: dict[str, tuple[str, str]] = {}
    if remaining.errors:
        errors = sorted(remaining.errors)
        out["NamespaceDeletionContentFailure"] = (
            "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(errors)} remaining: {', '.join(errors)}",
        )
    if remaining.by_resource:
        parts = sorted(f"{r} has {n} resource instances" for r, n in remaining.by_resource.items())
        out["NamespaceContentRemaining"] = (
            "SomeResourcesRemain",
            f"Some resources are remaining: {', '.join(parts)}",
        )
    if remaining.by_finalizer:
        parts = sorted(f"{f} in {n} resource instances" for f, n in remaining.by_finalizer.items())
        out["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {', '.join(parts)}",
        )
    return out


def merge_conditions(
    old: Any, failures: dict[str, tuple[str, str]], now: datetime
) -> list[JsonObject] | None:
    """kube's updateConditions: each of the five types set True with the failure or False with
    the ok reason; lastTransitionTime moves only when the status flips. None: nothing changed."""
    conditions = [dict(c) for c in old if isinstance(c, dict)] if isinstance(old, list) else []
    changed = False
    for kind in CONDITION_TYPES:
        status = "True" if kind in failures else "False"
        reason, message = failures.get(kind, _OK[kind])
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            conditions.append(
                {
                    "type": kind,
                    "status": status,
                    "lastTransitionTime": timestamp(now),
                    "reason": reason,
                    "message": message,
                }
            )
            changed = True
        elif (current.get("status"), current.get("reason"), current.get("message")) != (
            status,
            reason,
            message,
        ):
            if current.get("status") != status:
                current["lastTransitionTime"] = timestamp(now)
            current.update(status=status, reason=reason, message=message)
            changed = True
    return conditions if changed else None
