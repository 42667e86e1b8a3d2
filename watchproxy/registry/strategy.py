"""Strategy: the per-type hooks of the generic write path (kube's RESTCreateStrategy,
RESTUpdateStrategy, RESTDeleteStrategy, RESTGracefulDeleteStrategy and
GarbageCollectionDeleteStrategy, apiserver/pkg/registry/rest/*.go).

The generic store (`store.py`) calls these hooks in kube's order: PrepareForCreate /
PrepareForUpdate, then validation (ObjectMeta first, then the type's), then admission checks
(`admit`), then storage. A hook either mutates the object in place or raises an ApiError.
Strategies hold no state; one instance per resource type.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from watchproxy.api.status import ApiError
from watchproxy.registry.errors import Cause, precondition_conflict
from watchproxy.resources import ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.options import DeleteOptions
    from watchproxy.registry.store import Store

JsonObject = dict[str, Any]

# Types whose kube PrepareForCreate clears `status` and that need no strategy of their own
# here (the others set Strategy.clear_status_on_create).
STATUS_CLEARED_ON_CREATE = frozenset(
    {
        "horizontalpodautoscalers.autoscaling",
        "ingresses.networking.k8s.io",
        "persistentvolumes",
        "resourcequotas",
    }
)


# What an update through `/status` takes from the request (the rest is the stored object's).
_STATUS_WRITE_PARTS = ("apiVersion", "kind", "metadata", "status")


class Strategy:
    """Defaults shared by every type; subclasses override what their kind does differently."""

    # Whether DELETE answers the deleted object (kube: Store.ReturnDeletedObject, set for pods,
    # services...) rather than a Status with the object's name, kind and uid.
    return_deleted_object = False
    # Whether the type's strategy implements kube's type-specific validation (see
    # validation_level); else only the schema and ObjectMeta are checked.
    kube_validation = False

    def __init__(self, resource: ResourceType) -> None:
        self.resource = resource

    # -- create -------------------------------------------------------------------------------

    # Whether create clears the client's `status` (kube: the PrepareForCreate of every type
    # with a status subresource but a few, e.g. `deployment.Status = apps.DeploymentStatus{}`).
    clear_status_on_create = False

    def apply_defaults(self, obj: JsonObject) -> None:
        """kube's SetDefaults_* of the type (registry/defaults/), run on every create, update
        and patch result as kube runs them while decoding the body."""
        from watchproxy.registry.defaults import DEFAULTERS

        defaulter = DEFAULTERS.get(self.resource.key)
        if defaulter is not None and self.resource.custom is None:
            defaulter(obj)

    def prepare_for_create(self, obj: JsonObject) -> None:
        """Clear what a client may not set on create (kube: the status of pods) and apply
        defaults."""
        reset = self.resource.reset_status_on_create
        if reset is not None:
            obj["status"] = dict(reset)
        elif self.clear_status_on_create or self.resource.key in STATUS_CLEARED_ON_CREATE:
            obj.pop("status", None)
        self.apply_defaults(obj)

    def validate(self, obj: JsonObject) -> list[Cause]:
        """Type-specific validation of a new object; ObjectMeta is validated by the store."""
        return []

    # -- update -------------------------------------------------------------------------------

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        """Carry what this request may not change from `old` into `new`."""
        status_write = subresource == "status" and self.resource.status_subresource
        if not status_write:
            self.apply_defaults(new)
        if not self.resource.status_subresource:
            return
        if subresource == "status":
            # The status strategy: only status (and labels/annotations) come from the request.
            # kube defaults the whole decoded body, then keeps only these parts of it: so are
            # they defaulted alone, the spec the strategy drops is not (no defaulter derives a
            # status or metadata default from the spec; tests/unit/test_status_defaults.py).
            shell = {k: new[k] for k in _STATUS_WRITE_PARTS if k in new}
            self.apply_defaults(shell)
            for key in _STATUS_WRITE_PARTS:  # a defaulter may have created one
                if key in shell:
                    new[key] = shell[key]
            kept = {k: v for k, v in old.items() if k not in ("status", "metadata")}
            new_meta = new.get("metadata") or {}
            meta = dict(old.get("metadata") or {})
            for field in ("labels", "annotations", "resourceVersion"):
                if field in new_meta:
                    meta[field] = new_meta[field]
                else:
                    meta.pop(field, None)
            status = new.get("status")
            new.clear()
            new.update(kept)
            new["metadata"] = meta
            if status is not None:
                new["status"] = status
            return
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        return self.validate(new)

    def validate_status_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """The status strategy's ValidateUpdate (an update through `/status`). kube validates
        there only what a status write may change (e.g. pod/strategy.go podStatusStrategy:
        ValidatePodStatusUpdate); the store has checked ObjectMeta already. Types whose status
        rules are not ported keep the main resource's rules, which at worst re-check the
        stored spec (prepare_for_update carried it over unchanged)."""
        return self.validate_update(new, old)

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """GetResetFields of the strategy serving `subresource` ("": the main resource): paths
        of field names from the root that the strategy sets whatever the request sends, so no
        manager owns them (rest.ResetFieldsStrategy, used by fieldmanager/reset.py). The rule
        of kube's strategies: a type with a status subresource resets `status` on the main
        resource and `spec` through /status; types override what their strategy adds."""
        if not self.resource.status_subresource:
            return ()
        if subresource == "status":
            return (("spec",),)
        return (("status",),) if subresource == "" else ()

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        """Whether `metadata.generation` is bumped: a spec change (kube's strategies)."""
        return new.get("spec") != old.get("spec")

    # -- admission ----------------------------------------------------------------------------

    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """Checks that read other objects (admission plugins' place in kube). Raise to refuse."""

    async def reserve(
        self, store: Store, obj: JsonObject, old: JsonObject | None, *, dry_run: bool
    ) -> None:
        """Take, just before the write, what the object holds from a pool shared across shards
        and replicas (a Service's ClusterIP: kube's allocators in the service REST), setting it
        on `obj`; a dry run only checks. Raise to refuse. What a write that then fails leaves
        held must be recognisable as stale by the type (its owner does not hold it)."""

    async def unreserve(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """Give back what `reserve` took for `obj` when the write then failed (kube: the
        allocators' txn.Revert in pkg/registry/core/service/storage/alloc.go). Best effort."""

    @contextlib.asynccontextmanager
    async def reserved(
        self, store: Store, obj: JsonObject, old: JsonObject | None, *, dry_run: bool
    ) -> AsyncIterator[None]:
        """`reserve`, then the caller's write; if anything in between raises (a 409, a refused
        verification, etcd gone, a half-done reservation), `unreserve` before re-raising, so a
        failed create leaves no ClusterIP or NodePort held."""
        try:
            await self.reserve(store, obj, old, dry_run=dry_run)
            yield
        except BaseException:
            if not dry_run:
                with contextlib.suppress(Exception):
                    await self.unreserve(store, obj, old)
            raise

    async def verify_written(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """Re-check, after the write, an invariant that spans shards and so cannot be made
        atomic in one etcd transaction; raise to have the store undo the write. Each side of
        such an invariant writes first and verifies second, so of two racing writes at least
        one sees the other (both may be refused; the client retries)."""

    # -- delete -------------------------------------------------------------------------------

    def check_graceful_delete(self, obj: JsonObject, grace: int | None) -> int | None:
        """The grace period this deletion gets, or None when the type deletes at once
        (kube: RESTGracefulDeleteStrategy.CheckGracefulDelete; only pods have one)."""
        return None

    def begin_delete(
        self, obj: JsonObject, options: DeleteOptions, now: datetime
    ) -> JsonObject | None:
        """A type whose DELETE starts with its own update (namespaces: Terminating) returns
        the object to write and keep; None runs the generic deletion."""
        return None

    def precondition_failed(self, name: str, field: str, wanted: str, actual: str) -> ApiError:
        """The 409 of a DELETE whose `field` ("UID" or "ResourceVersion") precondition does not
        hold: rest.BeforeDelete's Conflict, which names the object's kind, not its resource."""
        hint = "deleted and then recreated" if field == "UID" else "modified"
        return precondition_conflict(
            self.resource.kind,
            self.resource.group,
            name,
            f"the {field} in the precondition ({wanted}) does not match the {field} in record "
            f"({actual}). The object might have been {hint}",
        )

    def delete_blocked(self, obj: JsonObject) -> bool:
        """Whether the object must stay after its metadata finalizers are gone (namespaces
        wait for `spec.finalizers` too)."""
        return False

    async def after_delete(self, store: Store, obj: JsonObject) -> None:
        """The object's key is gone: release what it held elsewhere (a Service's ClusterIP).
        Best effort: a failure here must not fail the deletion already done."""


_REGISTRY: dict[str, Callable[[ResourceType], Strategy]] = {}


def register(key: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: the strategy of the resource `plural.group` (core: `plural`)."""

    def add(cls: type[Strategy]) -> type[Strategy]:
        _REGISTRY[key] = cls
        return cls

    return add


def strategy_for(resource: ResourceType) -> Strategy:
    """The resource's strategy, or the generic default."""
    from watchproxy.registry import strategies  # noqa: F401  (registers the built-in ones)

    if resource.custom is not None:
        from watchproxy.registry.strategies.custom import CustomResourceStrategy

        return CustomResourceStrategy(resource)
    return _REGISTRY.get(resource.key, Strategy)(resource)


def validation_level(resource: ResourceType) -> Literal["kube", "schema"]:
    """`"kube"` when the resource's strategy carries kube's type-specific validation
    (pkg/apis/<group>/validation ported to registry/strategies/), "schema" when only the
    OpenAPI schema and ObjectMeta rules apply (custom resources, types not ported yet)."""
    from watchproxy.registry import strategies  # noqa: F401  (registers the built-in ones)

    cls = _REGISTRY.get(resource.key)
    kube = isinstance(cls, type) and issubclass(cls, Strategy) and cls.kube_validation
    return "kube" if kube and resource.custom is None else "schema"
