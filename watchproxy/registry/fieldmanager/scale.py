"""managedFields through the `scale` subresource (apimachinery pkg/util/managedfields/
scalehandler.go ScaleHandler, used by each ScaleREST's scaleUpdatedObjectInfo).

A Scale is applied as an object of its own (autoscaling/v1 Scale) whose managedFields are the
parent's managers of the replicas field, moved to the Scale's `spec.replicas`
(`to_subresource`); the Scale's managers afterwards go back to the parent (`to_parent`), where
the managers that lost the field in the Scale lose it in the parent too.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from watchproxy.api.status import invalid
from watchproxy.registry.fieldmanager import fieldpath as fp
from watchproxy.registry.fieldmanager import managed as mf
from watchproxy.registry.fieldmanager.apply import apply
from watchproxy.registry.fieldmanager.fieldpath import FieldSet
from watchproxy.registry.scale import ScalePaths, apply_scale, read_scale, scale_causes
from watchproxy.resources import ResourceType

# The Scale kind as a type the field manager can walk (never stored nor served as a resource).
SCALE = ResourceType(
    group="autoscaling",
    version="v1",
    kind="Scale",
    plural="scale",
    namespaced=True,
    storage_prefix="",
    definition="io.k8s.api.autoscaling.v1.Scale",
)
SCALE_REPLICAS = (fp.field_pe("spec"), fp.field_pe("replicas"))


def replicas_path(json_path: str) -> tuple[str, ...]:
    """`.spec.replicas` (a CRD's specReplicasPath too) as a field path."""
    return tuple(fp.field_pe(name) for name in json_path.split(".") if name)


def _only(path: tuple[str, ...]) -> FieldSet:
    fields: FieldSet = {}
    fp.insert(fields, path)
    return fields


def _key_at(key: str, api_version: str) -> str:
    """The identifier `key` would have at `api_version` (Update identifiers name theirs)."""
    entry = orjson.loads(key)
    return mf.identifier(
        entry.get("manager", ""),
        entry.get("operation", ""),
        api_version,
        entry.get("subresource", ""),
    )


def to_subresource(entries: Any, version: str, path: tuple[str, ...]) -> list[dict[str, Any]]:
    """ToSubresource: the parent's managers (at `version`) that own `path`, each owning the
    Scale's `spec.replicas` at autoscaling/v1. Raises mf.DecodeError."""
    parent = mf.decode(entries)
    out = mf.Managed()
    for key, vs in parent.sets.items():
        if vs.api_version == version and fp.has(vs.fields, path):
            out.sets[key] = mf.VersionedSet(_only(SCALE_REPLICAS), SCALE.api_version, vs.applied)
            out.times[key] = parent.times.get(key)
    return mf.encode(out)


def to_parent(
    entries: Any, scale_entries: Any, version: str, path: tuple[str, ...]
) -> list[dict[str, Any]]:
    """ToParent: the parent's entries, less `path` for the managers that no longer own the
    Scale's replicas, plus the Scale's new managers of the replicas (at `version`, with the
    parent's time for them: none for a new one, as kube). Raises mf.DecodeError.

    kube looks Scale managers up by their Scale identifier, which for Update managers names
    autoscaling/v1 and so never matches the parent's (the manager then gets a second entry);
    here they are matched at the parent's version, so a manager keeps one entry."""
    parent = mf.decode(entries)
    scale = {_key_at(k, version): vs for k, vs in mf.decode(scale_entries).sets.items()}
    out = mf.Managed()
    for key, vs in parent.sets.items():
        if vs.api_version != version or not fp.has(vs.fields, path) or key in scale:
            out.sets[key] = vs  # untouched by the Scale, or still owning its replicas
            out.times[key] = parent.times.get(key)
            scale.pop(key, None)
            continue
        rest = fp.difference(vs.fields, _only(path))  # the replicas were taken in the Scale
        if rest:
            out.sets[key] = mf.VersionedSet(rest, vs.api_version, vs.applied)
            out.times[key] = parent.times.get(key)
    for key, vs in scale.items():
        if fp.has(vs.fields, SCALE_REPLICAS):
            out.sets[key] = mf.VersionedSet(_only(path), version, vs.applied)
            out.times[key] = parent.times.get(key)
    return mf.encode(out)


def apply_to_scale(
    resource: ResourceType,
    parent: dict[str, Any],
    config: dict[str, Any],
    manager: str,
    *,
    force: bool,
    paths: ScalePaths,
) -> dict[str, Any]:
    """The parent (a copy) after applying the Scale `config` as `manager` to its Scale
    (scaleUpdatedObjectInfo.UpdatedObject of a ScaleREST). Raises 409 Conflict, 400 for a
    configuration that is not an autoscaling/v1 Scale, 422 for an invalid Scale."""
    parent = copy.deepcopy(parent)
    meta = parent.setdefault("metadata", {})
    path = replicas_path(paths.spec_replicas)
    entries = meta.get("managedFields")
    live = read_scale(parent, paths)
    live["metadata"].pop("resourceVersion", None)  # only the client's is a precondition
    try:
        live["metadata"]["managedFields"] = to_subresource(entries, resource.api_version, path)
    except mf.DecodeError:
        entries = None
    scale = apply(SCALE, live, config, manager, force=force, subresource="scale").obj
    causes = scale_causes(scale)
    if causes:
        raise invalid("Scale", str(meta.get("name", "")), causes, "autoscaling")
    apply_scale(parent, scale, paths)
    updated = to_parent(entries, scale["metadata"].get("managedFields"), resource.api_version, path)
    if updated:
        meta["managedFields"] = updated
    else:
        meta.pop("managedFields", None)
    return parent
