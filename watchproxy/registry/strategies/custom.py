"""The strategy of every custom resource (kube: apiextensions-apiserver
pkg/registry/customresource/strategy.go and status_strategy.go).

What the CRD says about the version of the request drives it (`ResourceType.custom`, built by
watchproxy/schema/crd.py for every served version; conversion `None`, so a write through any
version is checked against that version's schema and stored at the storage version by
`registry/objects.storage_value`):
- with the status subresource, create drops `status`, the main resource keeps the stored status
  and `/status` changes only status (the generic Strategy's split); without it, status is an
  ordinary field;
- `metadata.generation` grows on any change outside metadata (and outside status when the
  status subresource is on);
- defaulting, pruning of unknown fields and schema validation are the schema engine's
  (watchproxy/schema/structural.py, `CustomResourceSchema`), run on every create and update as
  kube runs them while decoding the body;
- with the scale subresource, the value at `specReplicasPath` must be a non-negative integer
  when present (kube's ValidateScaleSpec);
- no create while the CRD is Terminating (customresource_handler.go: 405 MethodNotAllowed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from watchproxy.api.status import ApiError
from watchproxy.core.validation import field_invalid
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategy import JsonObject, Strategy
from watchproxy.resources import CustomResourceInfo, ResourceType
from watchproxy.schema.crd import CRD_RESOURCE
from watchproxy.schema.structural import CustomResourceSchema

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

# openAPIV3Schema dict identity -> (that dict, its engine): built once per served version. The
# dict is kept so its id cannot be reused while the entry lives.
_SCHEMAS: dict[int, tuple[JsonObject, CustomResourceSchema]] = {}


def schema_engine(schema: JsonObject) -> CustomResourceSchema:
    """The schema engine of one openAPIV3Schema, built on first use."""
    cached = _SCHEMAS.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_SCHEMAS) > 1000:  # CRDs replaced many times: start over
            _SCHEMAS.clear()
        cached = _SCHEMAS[id(schema)] = (schema, CustomResourceSchema(schema))
    return cached[1]


def lookup(obj: JsonObject, json_path: str) -> tuple[bool, Any]:
    """(found, value) at a simple `.a.b.c` path."""
    cur: Any = obj
    for key in [k for k in json_path.split(".") if k]:
        if not isinstance(cur, dict) or key not in cur:
            return False, None
        cur = cur[key]
    return True, cur


class CustomResourceStrategy(Strategy):
    def __init__(self, resource: ResourceType) -> None:
        super().__init__(resource)
        assert resource.custom is not None, resource.key
        self.info: CustomResourceInfo = resource.custom
        schema = self.info.schema
        self.schema = schema_engine(schema) if schema else None

    def _decode(self, obj: JsonObject) -> None:
        """What kube does while decoding a custom resource: prune unknown fields, default."""
        if self.schema is not None:
            self.schema.prune(obj)
            self.schema.default(obj)

    def prepare_for_create(self, obj: JsonObject) -> None:
        if self.resource.status_subresource:
            obj.pop("status", None)
        self._decode(obj)

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """customresource statusStrategy GetResetFields: /status owns nothing of metadata."""
        if subresource == "status" and self.resource.status_subresource:
            return (("metadata",), ("spec",))
        return super().reset_fields(subresource)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        self._decode(new)
        super().prepare_for_update(new, old, subresource)

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        skip = ("metadata", "status") if self.resource.status_subresource else ("metadata",)
        return {k: v for k, v in new.items() if k not in skip} != {
            k: v for k, v in old.items() if k not in skip
        }

    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """No new instance of a CRD being deleted (its instances are being removed)."""
        if old is not None:
            return
        crds = store.proxy.registry.lookup(CRD_RESOURCE.group, "v1", CRD_RESOURCE.plural)
        cache = store.proxy.cache_of(crds or CRD_RESOURCE)
        for state in cache.shards:
            crd = state.objects.get(self.info.crd_name)
            meta = orjson.loads(crd.raw).get("metadata") or {} if crd is not None else {}
            if meta.get("deletionTimestamp"):
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "create not allowed while custom resource definition is terminating",
                    details={"group": self.resource.group, "kind": self.resource.plural},
                )

    async def verify_written(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        """After a create, read the CRD from etcd (linearizable): if it is gone or being
        deleted, undo (405). With the finalizer's order -- mark Terminating, then delete the
        instances and count none left -- one of a racing create and deletion sees the other,
        so no instance outlives its CRD (the cache-read `admit` alone leaves a window)."""
        if old is not None:
            return
        crds = store.proxy.registry.lookup(CRD_RESOURCE.group, "v1", CRD_RESOURCE.plural)
        found = await store.locate(crds or CRD_RESOURCE, "", self.info.crd_name)
        meta = (found.obj.get("metadata") or {}) if found is not None else {}
        if found is None or meta.get("deletionTimestamp"):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
                details={"group": self.resource.group, "kind": self.resource.plural},
            )

    def validate(self, obj: JsonObject) -> list[Cause]:
        return self._validate(obj, None)

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        return self._validate(new, old)

    def _validate(self, obj: JsonObject, old: JsonObject | None) -> list[Cause]:
        causes = [] if self.schema is None else list(self.schema.validate(obj, old))
        scale = self.info.scale or {}
        for key in ("specReplicasPath", "statusReplicasPath"):
            if scale.get(key):
                causes += _replicas_causes(obj, str(scale[key]))
        selector = scale.get("labelSelectorPath")
        if selector:
            found, value = lookup(obj, str(selector))
            if found and not isinstance(value, str):
                detail = _accessor_error(str(selector), value, "string")
                causes.append(field_invalid(str(selector), '""', detail))
        return causes


def _go_type(value: Any) -> str:
    """Go's %T of a decoded JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "map[string]interface {}" if isinstance(value, dict) else "[]interface {}"


def _accessor_error(path: str, value: Any, wanted: str) -> str:
    """unstructured.NestedInt64/NestedString's error (`%v accessor error: %v is of the type %T,
    expected int64`)."""
    shown = orjson.dumps(value).decode() if isinstance(value, (dict, list)) else value
    if isinstance(value, bool):
        shown = "true" if value else "false"
    return f"{path} accessor error: {shown} is of the type {_go_type(value)}, expected {wanted}"


def _replicas_causes(obj: JsonObject, path: str) -> list[Cause]:
    """customresource validator.go ValidateScaleSpec/ValidateScaleStatus: the replicas at a
    scale path, when present, are an int32 >= 0; the field is the path itself (`.spec.size`)."""
    found, value = lookup(obj, path)
    if not found or value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [field_invalid(path, "0", _accessor_error(path, value, "int64"))]
    if value < 0:
        return [field_invalid(path, str(value), "should be a non-negative integer")]
    if value > 2**31 - 1:
        return [field_invalid(path, str(value), "should be less than or equal to 2147483647")]
    return []
